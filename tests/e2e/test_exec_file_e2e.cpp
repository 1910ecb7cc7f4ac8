// End-to-end tests of what really ran (issue 14): the executed file the
// probe resolves from bprm->file (fileless, deleted, overlayfs, scripts,
// busybox's /proc/self/exe, a setuid exec) and the listening sockets, each
// workload run under a real `lineage record`, and the journal's exec_files
// and listens rows read with SQLite directly (not through the reader).
#include <catch2/catch.hpp>

#include <bpf/btf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "event.h"
#include "helpers.h"

namespace test_exec_file_e2e {

using namespace e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Debian's python3, not whatever a PATH shim would pick.
const char* const kPython = "/usr/bin/python3";

// An exec row with its exec_files row (same tgid, start_ns and time_ns).
struct FileRow {
    std::string binary;  // exec.binary: the path given to execve
    std::string path, interpreter;
    int64_t dev = 0, ino = 0, nlink = 0, size = 0, mode = 0, mtime_ns = 0, flags = 0;
    int64_t before_uid = 0, before_euid = 0, before_cap_eff = 0;
    int64_t uid = 0, euid = 0, cap_eff = 0;
};

std::vector<FileRow> file_rows(Journal& j, int64_t tgid) {
    std::vector<FileRow> out;
    j.each(
        "SELECT e.binary, f.path, f.interpreter, f.dev, f.ino, f.nlink, f.size, f.mode, f.mtime_ns, f.flags,"
        " f.before_uid, f.before_euid, f.before_cap_eff, f.uid, f.euid, f.cap_eff"
        " FROM exec e JOIN exec_files f ON f.tgid = e.tgid AND f.start_ns = e.start_ns AND f.time_ns = e.time_ns"
        " WHERE e.tgid = ? ORDER BY e.time_ns",
        {tgid}, [&](lineage::Stmt& s) {
            FileRow r;
            r.binary = s.blob(0);
            r.path = s.blob(1);
            r.interpreter = s.blob(2);
            r.dev = s.int64(3);
            r.ino = s.int64(4);
            r.nlink = s.int64(5);
            r.size = s.int64(6);
            r.mode = s.int64(7);
            r.mtime_ns = s.int64(8);
            r.flags = s.int64(9);
            r.before_uid = s.int64(10);
            r.before_euid = s.int64(11);
            r.before_cap_eff = s.int64(12);
            r.uid = s.int64(13);
            r.euid = s.int64(14);
            r.cap_eff = s.int64(15);
            out.push_back(std::move(r));
        });
    return out;
}

// The one exec of `tgid` whose given path is `binary`.
FileRow exec_of(Journal& j, int64_t tgid, const std::string& binary) {
    auto rows = file_rows(j, tgid);
    std::vector<FileRow> hits;
    for (const auto& r : rows) {
        if (r.binary == binary) hits.push_back(r);
    }
    INFO("tgid " << tgid << ", binary " << binary << ", " << rows.size() << " exec_files rows\n" << j.describe(tgid));
    REQUIRE(hits.size() == 1);
    return hits[0];
}

bool has(int64_t flags, uint32_t bit) {
    return (static_cast<uint64_t>(flags) & bit) != 0;
}

// Every exec row has its exec_files row: the probe sends a file block with
// every exec.
void require_every_exec_has_its_file(Journal& j) {
    int64_t execs = j.scalar("SELECT count(*) FROM exec");
    int64_t files = j.scalar("SELECT count(*) FROM exec_files");
    int64_t joined = j.scalar(
        "SELECT count(*) FROM exec e JOIN exec_files f ON f.tgid = e.tgid AND f.start_ns = e.start_ns"
        " AND f.time_ns = e.time_ns AND f.batch = e.batch");
    CHECK(execs > 0);
    CHECK(files == execs);
    CHECK(joined == execs);
}

RunResult run_python(const std::string& program, const Env& env = {}) {
    return run_argv({kPython, "-c", program}, env, 20s);
}

// Whether overlayfs's struct ovl_inode is in this kernel's BTF (vmlinux,
// or the overlay module's): what UPPER_KNOWN depends on.
bool kernel_btf_has_ovl_inode() {
    struct btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return false;
    bool found = btf__find_by_name_kind(vmlinux, "ovl_inode", BTF_KIND_STRUCT) > 0;
    if (!found && fs::exists("/sys/kernel/btf/overlay")) {
        if (struct btf* mod = btf__load_module_btf("overlay", vmlinux)) {
            found = btf__find_by_name_kind(mod, "ovl_inode", BTF_KIND_STRUCT) > 0;
            btf__free(mod);
        }
    }
    btf__free(vmlinux);
    return found;
}

// An overlayfs mount made by the test, unmounted in every path.
struct OverlayMount {
    std::string merged;
    bool mounted = false;
    OverlayMount(const std::string& lower, const std::string& upper, const std::string& work, std::string at)
        : merged(std::move(at)) {
        std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
        if (mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) {
            FAIL("mount -t overlay on " << merged << ": " << std::strerror(errno));
        }
        mounted = true;
    }
    ~OverlayMount() {
        if (mounted) umount2(merged.c_str(), MNT_DETACH);
    }
};

void copy_executable(const std::string& from, const std::string& to, fs::perms perms) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, perms);
}

}  // namespace

TEST_CASE("record resolves the file really executed: memfd, deleted, script, busybox, setuid", "[record][exec_file]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    // nobody must reach the setuid binary.
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    const std::string script = dir / "script.sh";
    write_file(script, "#!/bin/sh\necho pid=$$\n");
    fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    const std::string suid_id = dir / "id-suid";
    fs::copy_file("/usr/bin/id", suid_id);
    REQUIRE(chown(suid_id.c_str(), 0, 0) == 0);
    REQUIRE(chmod(suid_id.c_str(), 04755) == 0);
    const std::string dropped = dir / "dropped";

    auto rec = start_record(journal);
    // Fileless: a copy of sleep in a memfd, exec'd through /proc/self/fd.
    auto memfd = run_python(
        "import os\n"
        "fd = os.memfd_create('payload', 0)\n"
        "os.write(fd, open('/bin/sleep', 'rb').read())\n"
        "st = os.fstat(fd)\n"
        "print(f'pid={os.getpid()}\\nfd={fd}\\ndev={st.st_dev}\\nino={st.st_ino}\\nsize={st.st_size}', flush=True)\n"
        "os.execv(f'/proc/self/fd/{fd}', ['payload', '0.1'])\n");
    // Deleted: a copy of true, opened, unlinked, then exec'd through its fd.
    auto deleted = run_python(
        "import os, shutil\n"
        "p = os.environ['DROPPED']\n"
        "shutil.copy('/bin/true', p)\n"
        "os.chmod(p, 0o755)\n"
        "fd = os.open(p, os.O_RDONLY)\n"
        "st = os.fstat(fd)\n"
        "os.unlink(p)\n"
        "print(f'pid={os.getpid()}\\nfd={fd}\\nino={st.st_ino}', flush=True)\n"
        "os.execv(f'/proc/self/fd/{fd}', ['dropped'])\n",
        {{"DROPPED", dropped}});
    auto script_run = run_argv({script}, {}, 20s);
    // busybox-static runs an applet by exec'ing /proc/self/exe with the
    // applet's name as argv[0] (FEATURE_SH_STANDALONE).
    auto busybox = run_argv({"/bin/busybox", "sh", "-c", "echo pid=$$; exec cat /dev/null"}, {}, 20s);
    auto setuid = run_argv({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
                            "echo pid=$$; exec " + suid_id + " -u"},
                           {}, 20s);
    rec->stop();

    for (const auto* r : {&memfd, &deleted, &script_run, &busybox, &setuid}) {
        INFO("stdout:\n" << r->out << "stderr:\n" << r->err);
        REQUIRE(!r->timed_out);
        REQUIRE(r->exit_code == 0);
    }
    Journal j(journal);
    require_every_exec_has_its_file(j);

    {
        INFO("fileless: a memfd");
        auto facts = parse_facts(memfd.out);
        const std::string given = "/proc/self/fd/" + facts.at("fd");
        FileRow r = exec_of(j, fact_int(facts, "pid"), given);
        CHECK(has(r.flags, lineage::kFileMemfd));
        CHECK(r.path.find("memfd:payload") != std::string::npos);
        CHECK(r.dev == fact_int(facts, "dev"));
        CHECK(r.ino == fact_int(facts, "ino"));
        CHECK(r.size == fact_int(facts, "size"));
        CHECK(r.size == static_cast<int64_t>(fs::file_size("/bin/sleep")));
        CHECK_FALSE(has(r.flags, lineage::kFileScript));
        CHECK_FALSE(has(r.flags, lineage::kFilePathTruncated));
    }
    {
        INFO("deleted: unlinked before its exec");
        auto facts = parse_facts(deleted.out);
        FileRow r = exec_of(j, fact_int(facts, "pid"), "/proc/self/fd/" + facts.at("fd"));
        CHECK(has(r.flags, lineage::kFileDeleted));
        CHECK(r.nlink == 0);
        CHECK(r.ino == fact_int(facts, "ino"));
        CHECK_FALSE(has(r.flags, lineage::kFileMemfd));
        // Its path as it was before the unlink.
        CHECK(r.path == fs::weakly_canonical(dropped).string());
    }
    {
        INFO("a #! script: the interpreter's file, and the interpreter as named");
        auto facts = parse_facts(script_run.out);
        FileRow r = exec_of(j, fact_int(facts, "pid"), script);
        CHECK(has(r.flags, lineage::kFileScript));
        CHECK(r.interpreter == "/bin/sh");
        CHECK(r.path == fs::canonical("/bin/sh").string());
        struct stat st {};
        REQUIRE(stat("/bin/sh", &st) == 0);
        CHECK(r.ino == static_cast<int64_t>(st.st_ino));
        CHECK(r.dev == static_cast<int64_t>(st.st_dev));
        CHECK(r.size == st.st_size);
        CHECK(r.mode == st.st_mode);
        CHECK(r.mtime_ns == static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
        CHECK(r.nlink == static_cast<int64_t>(st.st_nlink));
        CHECK_FALSE(has(r.flags, lineage::kFileDeleted));
        CHECK(has(r.flags, lineage::kFileUpperKnown));
        CHECK_FALSE(has(r.flags, lineage::kFileUpper));
    }
    {
        INFO("busybox: an applet through /proc/self/exe");
        auto facts = parse_facts(busybox.out);
        FileRow r = exec_of(j, fact_int(facts, "pid"), "/proc/self/exe");
        CHECK(r.path == fs::canonical("/bin/busybox").string());
        CHECK_FALSE(has(r.flags, lineage::kFileScript));
        CHECK(r.interpreter.empty());
        struct stat st {};
        REQUIRE(stat("/bin/busybox", &st) == 0);
        CHECK(r.ino == static_cast<int64_t>(st.st_ino));
    }
    {
        INFO("privilege change: a setuid-root id run as nobody");
        auto facts = parse_facts(setuid.out);
        CHECK(setuid.out.find("\n0\n") != std::string::npos);
        FileRow r = exec_of(j, fact_int(facts, "pid"), suid_id);
        CHECK(r.before_uid == 65534);
        CHECK(r.before_euid == 65534);
        CHECK(r.uid == 65534);
        CHECK(r.euid == 0);
        CHECK((r.mode & 04000) != 0);
        CHECK(has(r.flags, lineage::kFileSecureExec));
        CHECK(r.path == fs::canonical(suid_id).string());
        // The sh before it: no change, no AT_SECURE.
        FileRow sh = exec_of(j, fact_int(facts, "pid"), "/bin/sh");
        CHECK(sh.before_euid == sh.euid);
        CHECK_FALSE(has(sh.flags, lineage::kFileSecureExec));
    }
}

TEST_CASE("record tells an overlayfs upper-layer file from a lower-layer one", "[record][exec_file]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    for (const char* d : {"lower", "upper", "work", "merged"}) fs::create_directory(dir / d);
    const auto exec_perms = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec;
    copy_executable("/bin/true", dir / "lower/lowerbin", exec_perms);
    const bool btf_knows = kernel_btf_has_ovl_inode();
    if (!btf_knows) WARN("this kernel's BTF has no struct ovl_inode: UPPER_KNOWN must be unset");

    std::string lowerbin, upperbin;
    struct stat lower_st {
    }, upper_st{};
    RunResult run;
    {
        OverlayMount ovl(dir / "lower", dir / "upper", dir / "work", dir / "merged");
        // Written through the merged directory after the mount: the upper layer.
        copy_executable("/bin/true", dir / "merged/upperbin", exec_perms);
        lowerbin = dir / "merged/lowerbin";
        upperbin = dir / "merged/upperbin";
        REQUIRE(stat(lowerbin.c_str(), &lower_st) == 0);
        REQUIRE(stat(upperbin.c_str(), &upper_st) == 0);
        auto rec = start_record(journal);
        run = run_argv({"/bin/sh", "-c", "echo pid=$$; " + lowerbin + " && exec " + upperbin}, {}, 20s);
        rec->stop();
    }
    INFO("stdout:\n" << run.out << "stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);

    Journal j(journal);
    require_every_exec_has_its_file(j);
    auto facts = parse_facts(run.out);
    FileRow upper = exec_of(j, fact_int(facts, "pid"), upperbin);
    // lowerbin ran in a child of the shell: find it by its given path.
    auto lower_tgids = j.texts("SELECT DISTINCT tgid FROM exec WHERE CAST(binary AS TEXT) = ?", {lowerbin});
    REQUIRE(lower_tgids.size() == 1);
    FileRow lower = exec_of(j, std::stoll(lower_tgids[0]), lowerbin);

    CHECK(has(lower.flags, lineage::kFileOverlay));
    CHECK(has(upper.flags, lineage::kFileOverlay));
    CHECK(lower.path == lowerbin);
    CHECK(upper.path == upperbin);
    // The identity stat(2) gives through the merged directory.
    CHECK(lower.dev == static_cast<int64_t>(lower_st.st_dev));
    CHECK(lower.ino == static_cast<int64_t>(lower_st.st_ino));
    CHECK(upper.dev == static_cast<int64_t>(upper_st.st_dev));
    CHECK(upper.ino == static_cast<int64_t>(upper_st.st_ino));
    if (btf_knows) {
        CHECK(has(lower.flags, lineage::kFileUpperKnown));
        CHECK(has(upper.flags, lineage::kFileUpperKnown));
        CHECK_FALSE(has(lower.flags, lineage::kFileUpper));
        CHECK(has(upper.flags, lineage::kFileUpper));
    } else {
        CHECK_FALSE(has(lower.flags, lineage::kFileUpperKnown));
        CHECK_FALSE(has(upper.flags, lineage::kFileUpperKnown));
        CHECK_FALSE(has(lower.flags, lineage::kFileUpper));
        CHECK_FALSE(has(upper.flags, lineage::kFileUpper));
    }
}

TEST_CASE("record writes a listens row for TCP listeners on 127.0.0.1 and ::1", "[record][listen]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    auto rec = start_record(journal);
    auto run = run_python(
        "import os, socket\n"
        "s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "s4.bind(('127.0.0.1', 0))\n"
        "s4.listen()\n"
        "s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
        "s6.bind(('::1', 0))\n"
        "s6.listen()\n"
        "s6.listen(5)\n"  // a second listen(2) changes no state: no second row
        "print(f'pid={os.getpid()}\\nport4={s4.getsockname()[1]}\\nport6={s6.getsockname()[1]}', flush=True)\n");
    rec->stop();
    INFO("stdout:\n" << run.out << "stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    auto facts = parse_facts(run.out);
    const int64_t pid = fact_int(facts, "pid");

    Journal j(journal);
    struct ListenRow {
        int64_t start_ns, family, port;
        std::string addr;
    };
    std::vector<ListenRow> rows;
    j.each("SELECT start_ns, family, addr, port FROM listens WHERE tgid = ? ORDER BY time_ns", {pid},
           [&](lineage::Stmt& s) {
               rows.push_back({s.int64(0), s.int64(1), s.int64(3), s.text(2)});
           });
    INFO(j.describe(pid));
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].family == 4);
    CHECK(rows[0].addr == "127.0.0.1");
    CHECK(rows[0].port == fact_int(facts, "port4"));
    CHECK(rows[1].family == 6);
    CHECK(rows[1].addr == "::1");
    CHECK(rows[1].port == fact_int(facts, "port6"));
    // The listening process is the python that exec'd: the same identity.
    auto execs = j.execs_of(pid);
    REQUIRE(!execs.empty());
    CHECK(rows[0].start_ns == execs.back().proc.start_ns);
    CHECK(rows[1].start_ns == execs.back().proc.start_ns);
}

}  // namespace test_exec_file_e2e
