#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "argv.h"
#include "procfs.h"

namespace test_procfs {

using namespace std::string_literals;
using lineage::ProcCgroup;

namespace {

namespace fs = std::filesystem;

// Copied from this machine's /proc/self/stat (cat) and /proc/2/stat.
const std::string real_stat_line =
    "3304 (cat) R 3301 3301 2379 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 19415 3133440 389 "
    "18446744073709551615 94725299113984 94725299133865 140728587861280 0 0 0 0 0 0 0 0 0 17 0 0 0 0 "
    "0 0 94725299149872 94725299151488 94726233616384 140728587868802 140728587868822 "
    "140728587868822 140728587870187 0\n";
const std::string kthreadd_stat_line =
    "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 "
    "0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

// A stat line shaped like the kernel's, with the fields we parse filled in.
std::string make_stat(int pid, const std::string& comm, char state, int ppid, uint32_t flags, uint64_t starttime) {
    return fmt::format(
        "{} ({}) {} {} {} {} 0 -1 {} 0 0 0 0 0 0 0 0 20 0 1 0 {} 1000 10 18446744073709551615 0 0 0 0 0 "
        "0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        pid, comm, state, ppid, pid, pid, flags, starttime);
}

std::string make_status(const std::string& name, int tgid, int ppid, const std::string& uid, const std::string& gid,
                        const std::string& nspid_line) {
    return fmt::format(
        "Name:\t{}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n"
        "TracerPid:\t0\nUid:\t{}\nGid:\t{}\nFDSize:\t64\nGroups:\t \n{}Threads:\t1\n",
        name, tgid, tgid, ppid, uid, gid, nspid_line);
}

class TempDir {
public:
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "lineage-test-procfs-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
    REQUIRE(out.good());
}

uint64_t inode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

std::string own_nodename() {
    struct utsname u {};
    REQUIRE(::uname(&u) == 0);
    return u.nodename;
}

const lineage::SnapshotProcess* find_tgid(const std::vector<lineage::SnapshotProcess>& processes, int32_t tgid) {
    for (const auto& p : processes) {
        if (p.tgid == tgid) {
            return &p;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("parse_proc_stat reads lines from a real kernel", "[procfs]") {
    SECTION("user process") {
        auto stat = lineage::parse_proc_stat(real_stat_line);
        REQUIRE(stat.ok());
        CHECK(stat->pid == 3304);
        CHECK(stat->comm == "cat");
        CHECK(stat->state == 'R');
        CHECK(stat->ppid == 3301);
        CHECK(stat->flags == 4194304u);
        CHECK(stat->start_ticks == 19415u);
        CHECK((stat->flags & lineage::pf_kthread) == 0);
    }
    SECTION("kernel thread") {
        auto stat = lineage::parse_proc_stat(kthreadd_stat_line);
        REQUIRE(stat.ok());
        CHECK(stat->pid == 2);
        CHECK(stat->comm == "kthreadd");
        CHECK(stat->ppid == 0);
        CHECK(stat->start_ticks == 24u);
        CHECK((stat->flags & lineage::pf_kthread) != 0);
    }
    SECTION("without trailing newline") {
        std::string line = real_stat_line;
        line.pop_back();
        auto stat = lineage::parse_proc_stat(line);
        REQUIRE(stat.ok());
        CHECK(stat->start_ticks == 19415u);
    }
}

TEST_CASE("parse_proc_stat takes comm up to the last ')'", "[procfs]") {
    // Each comm is something a process can set with prctl(PR_SET_NAME) or by
    // naming its executable.
    const std::vector<std::string> comms = {
        "a) b) (c", "Web Content", ")", "(", "()", "", ") S 1 2 3", "x\ny", "\xff\xfe", "((((",
    };
    for (const auto& comm : comms) {
        INFO("comm: " << comm);
        auto stat = lineage::parse_proc_stat(make_stat(123, comm, 'S', 1, 0, 777));
        REQUIRE(stat.ok());
        CHECK(stat->pid == 123);
        CHECK(stat->comm == comm);
        CHECK(stat->state == 'S');
        CHECK(stat->ppid == 1);
        CHECK(stat->start_ticks == 777u);
    }

    // The example from the design notes, written out by hand.
    auto stat = lineage::parse_proc_stat("123 (a) b) (c) S 1 123 123 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5555 0 0");
    REQUIRE(stat.ok());
    CHECK(stat->comm == "a) b) (c");
    CHECK(stat->ppid == 1);
    CHECK(stat->flags == 4194560u);
    CHECK(stat->start_ticks == 5555u);
}

TEST_CASE("parse_proc_stat rejects truncated lines", "[procfs]") {
    // Cut just before starttime is complete: must be an error, never a
    // silently wrong start time.
    const size_t starttime_pos = real_stat_line.find(" 19415 ");
    REQUIRE(starttime_pos != std::string::npos);
    CHECK_FALSE(lineage::parse_proc_stat(real_stat_line.substr(0, starttime_pos)).ok());
    CHECK_FALSE(lineage::parse_proc_stat(real_stat_line.substr(0, starttime_pos + 1)).ok());
    CHECK_FALSE(lineage::parse_proc_stat("3304 (cat) R 3301 3301").ok());
    CHECK_FALSE(lineage::parse_proc_stat("3304 (cat").ok());

    // Every prefix either parses or fails; none may crash or read past the end.
    for (size_t n = 0; n <= real_stat_line.size(); ++n) {
        auto stat = lineage::parse_proc_stat(std::string_view(real_stat_line).substr(0, n));
        if (stat.ok()) {
            CHECK(stat->ppid == 3301);
        }
    }
}

TEST_CASE("parse_proc_stat rejects garbage", "[procfs]") {
    const std::vector<std::string> garbage = {
        "",
        "hello world",
        ")(",
        "(cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "abc (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "-5 (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "0 (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "1 2 (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "5 (cat) RR 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "5 (cat) R x 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "5 (cat) R 99999999999 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "5 (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0 0",
        "5 (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0 0",
        "5 (cat) R 1 1 1 0 -1 nope 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        "\0\0\0\0"s,
    };
    for (const auto& text : garbage) {
        INFO("input: " << text);
        auto stat = lineage::parse_proc_stat(text);
        CHECK_FALSE(stat.ok());
        if (!stat.ok()) {
            CHECK_FALSE(stat.error().message.empty());
        }
    }

    // Random bytes, some with the characters the parser looks for: the only
    // requirement is no crash and no sanitizer report.
    std::mt19937 rng(12345);
    const std::string alphabet = "0123456789 ()\n\tSR-x\0"s;
    for (int i = 0; i < 5000; ++i) {
        std::string text(rng() % 200, ' ');
        for (char& c : text) {
            c = (i % 2) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng());
        }
        (void)lineage::parse_proc_stat(text);
        (void)lineage::parse_proc_status(text);
        (void)lineage::parse_proc_cgroup(text);
        (void)lineage::split_argv(text);
    }

    // Huge input.
    const std::string huge = "1 (" + std::string(4 << 20, ')') + " S";
    CHECK_FALSE(lineage::parse_proc_stat(huge).ok());
}

TEST_CASE("parse_proc_status", "[procfs]") {
    SECTION("real file with NSpid") {
        // Trimmed copy of this machine's /proc/self/status.
        const std::string text =
            "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t3694\nNgid:\t0\nPid:\t3694\n"
            "PPid:\t3687\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\n"
            "FDSize:\t256\nGroups:\t \nNStgid:\t3694\nNSpid:\t3694\nNSpgid:\t3687\nNSsid:\t2379\n"
            "Kthread:\t0\nVmPeak:\t    3060 kB\nThreads:\t1\n";
        auto status = lineage::parse_proc_status(text);
        REQUIRE(status.ok());
        CHECK(status->uid == 1000u);
        CHECK(status->euid == 1001u);
        CHECK(status->gid == 100u);
        CHECK(status->egid == 101u);
        CHECK(status->tgid == 3694);
        CHECK(status->ppid == 3687);
        CHECK(status->nspid == std::vector<int32_t>{3694});
    }
    SECTION("old kernel without NSpid") {
        auto status = lineage::parse_proc_status(make_status("old", 812, 1, "0\t0\t0\t0", "5\t5\t5\t5", ""));
        REQUIRE(status.ok());
        CHECK(status->tgid == 812);
        CHECK(status->nspid == std::vector<int32_t>{812});
        CHECK(status->gid == 5u);
    }
    SECTION("nested pid namespaces") {
        auto status = lineage::parse_proc_status(
            make_status("nested", 4242, 4000, "0\t0\t0\t0", "0\t0\t0\t0", "NSpid:\t4242\t7\t1\n"));
        REQUIRE(status.ok());
        CHECK(status->nspid == std::vector<int32_t>{4242, 7, 1});
        CHECK(status->nspid.back() == 1);
    }
    SECTION("uid 65534 and large ids") {
        auto status = lineage::parse_proc_status(
            make_status("x", 9, 1, "65534\t4294967294\t0\t0", "100000\t100000\t0\t0", "NSpid:\t9\n"));
        REQUIRE(status.ok());
        CHECK(status->uid == 65534u);
        CHECK(status->euid == 4294967294u);
        CHECK(status->gid == 100000u);
    }
    SECTION("a comm that looks like status lines stays inside Name") {
        // The kernel prints a newline in Name as the two characters "\\n",
        // so a hostile comm stays on the Name line.
        auto status = lineage::parse_proc_status(
            make_status("x\\nUid:\t0\t0\t0\t0", 50, 1, "1000\t1000\t1000\t1000", "1\t1\t1\t1", "NSpid:\t50\n"));
        REQUIRE(status.ok());
        CHECK(status->uid == 1000u);
    }
    SECTION("errors") {
        CHECK_FALSE(lineage::parse_proc_status("").ok());
        CHECK_FALSE(lineage::parse_proc_status("garbage\n\n\0\xff"s).ok());
        // Missing Uid.
        CHECK_FALSE(lineage::parse_proc_status("Tgid:\t1\nPPid:\t0\nGid:\t0\t0\t0\t0\n").ok());
        // Truncated in the middle of the Uid line.
        CHECK_FALSE(lineage::parse_proc_status("Tgid:\t1\nPPid:\t0\nUid:\t1000\t1000").ok());
        // Bad numbers.
        CHECK_FALSE(lineage::parse_proc_status(make_status("x", 1, 0, "a\tb\tc\td", "0\t0\t0\t0", "")).ok());
        CHECK_FALSE(
            lineage::parse_proc_status(make_status("x", 1, 0, "0\t0\t0\t0", "0\t0\t0\t0", "NSpid:\t1\tx\n")).ok());
        CHECK_FALSE(lineage::parse_proc_status(make_status("x", 1, 0, "0\t0\t0\t0", "0\t0\t0\t0", "NSpid:\t\n")).ok());
        CHECK_FALSE(
            lineage::parse_proc_status("Tgid:\t99999999999\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n").ok());
    }
}

TEST_CASE("split_argv splits /proc/PID/cmdline", "[procfs]") {
    using V = std::vector<std::string>;
    CHECK(lineage::split_argv("").empty());
    CHECK(lineage::split_argv("ls\0"s) == V{"ls"});
    CHECK(lineage::split_argv("ls\0-l\0/tmp\0"s) == V{"ls", "-l", "/tmp"});
    CHECK(lineage::split_argv("a\0\0b\0"s) == V{"a", "", "b"});
    CHECK(lineage::split_argv("a\0\0"s) == V{"a", ""});
    CHECK(lineage::split_argv("\0"s) == V{""});
    CHECK(lineage::split_argv("\0\0"s) == V{"", ""});
    // No trailing NUL: a process rewrote its argv (setproctitle) or we cut it.
    CHECK(lineage::split_argv("nginx: worker process") == V{"nginx: worker process"});
    CHECK(lineage::split_argv("a\0b"s) == V{"a", "b"});
    // Invalid UTF-8 comes back byte for byte.
    CHECK(lineage::split_argv("\xff\xfe\0\xc3\x28\0\xed\xa0\x80\0"s) == V{"\xff\xfe", "\xc3\x28", "\xed\xa0\x80"});

    const std::string big(size_t{1} << 20, 'x');
    const auto args = lineage::split_argv("sh\0"s + big + "\0"s);
    REQUIRE(args.size() == 2);
    CHECK(args[0] == "sh");
    CHECK(args[1] == big);
}

TEST_CASE("parse_proc_cgroup", "[procfs]") {
    SECTION("cgroup v2 only") {
        const ProcCgroup cg = lineage::parse_proc_cgroup(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abc.scope\n");
        CHECK(cg.unified ==
              "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abc.scope");
        CHECK(cg.v1.empty());
        CHECK(lineage::best_cgroup_path(cg) == cg.unified);
    }
    SECTION("cgroup v1") {
        const ProcCgroup cg = lineage::parse_proc_cgroup(
            "12:pids:/kubepods/burstable/pod5f1e/abc\n"
            "11:cpu,cpuacct:/kubepods/burstable/pod5f1e/abc\n"
            "4:memory:/kubepods/burstable/pod5f1e/abc\n"
            "1:name=systemd:/kubepods/burstable/pod5f1e/abc\n");
        CHECK(cg.unified.empty());
        REQUIRE(cg.v1.size() == 4);
        CHECK(cg.v1[1] == std::pair<std::string, std::string>{"cpu,cpuacct", "/kubepods/burstable/pod5f1e/abc"});
        CHECK(cg.v1[3].first == "name=systemd");
        CHECK(lineage::best_cgroup_path(cg) == "/kubepods/burstable/pod5f1e/abc");
    }
    SECTION("hybrid: unified at / falls back to v1") {
        const ProcCgroup cg =
            lineage::parse_proc_cgroup("0::/\n4:memory:/kubepods/burstable/pod7a7a/abc\n1:name=systemd:/\n");
        CHECK(cg.unified == "/");
        REQUIRE(cg.v1.size() == 2);
        CHECK(lineage::best_cgroup_path(cg) == "/kubepods/burstable/pod7a7a/abc");
    }
    SECTION("this machine's file: memory wins over name=systemd at /") {
        const ProcCgroup cg = lineage::parse_proc_cgroup(
            "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
            "4:memory:/process_api/3906206aba6f9fe50dcd37b8845a0970\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n");
        CHECK(cg.v1.size() == 9);
        CHECK(lineage::best_cgroup_path(cg) == "/process_api/3906206aba6f9fe50dcd37b8845a0970");
    }
    SECTION("kubepods in any controller beats memory") {
        const ProcCgroup cg =
            lineage::parse_proc_cgroup("5:memory:/docker/abc\n3:pids:/kubepods/besteffort/podx/c\n0::/\n");
        CHECK(lineage::best_cgroup_path(cg) == "/kubepods/besteffort/podx/c");
    }
    SECTION("memory in a combined controller list") {
        const ProcCgroup cg = lineage::parse_proc_cgroup("2:cpu,memory:/docker/abc\n1:name=systemd:/user.slice\n");
        CHECK(lineage::best_cgroup_path(cg) == "/docker/abc");
    }
    SECTION("name=systemd when memory is at /") {
        const ProcCgroup cg =
            lineage::parse_proc_cgroup("4:memory:/\n1:name=systemd:/system.slice/sshd.service\n0::/\n");
        CHECK(lineage::best_cgroup_path(cg) == "/system.slice/sshd.service");
    }
    SECTION("a non-root unified path wins even over kubepods in v1") {
        const ProcCgroup cg =
            lineage::parse_proc_cgroup("4:memory:/kubepods/pod1/c\n0::/system.slice/containerd.service\n");
        CHECK(lineage::best_cgroup_path(cg) == "/system.slice/containerd.service");
    }
    SECTION("everything at / gives /") {
        const ProcCgroup cg = lineage::parse_proc_cgroup("4:memory:/\n1:name=systemd:/\n0::/\n");
        CHECK(lineage::best_cgroup_path(cg) == "/");
    }
    SECTION("paths containing ':' are split on the first two colons only") {
        const ProcCgroup cg = lineage::parse_proc_cgroup("0::/a:b::c\n3:memory:/x:y\n");
        CHECK(cg.unified == "/a:b::c");
        REQUIRE(cg.v1.size() == 1);
        CHECK(cg.v1[0].second == "/x:y");
    }
    SECTION("garbage and empty") {
        CHECK(lineage::best_cgroup_path(lineage::parse_proc_cgroup("")).empty());
        const ProcCgroup cg = lineage::parse_proc_cgroup("nonsense\n::\nx:memory:/evil\n1:\n\xff:\xff:\xff\n");
        CHECK(cg.unified.empty());
        CHECK(cg.v1.empty());
        CHECK(lineage::best_cgroup_path(cg).empty());
    }
}

TEST_CASE("read_boot_id and clock_ticks_per_second", "[procfs]") {
    TempDir root;
    CHECK(lineage::read_boot_id(root.path().string()).empty());
    write_file(root.path() / "sys/kernel/random/boot_id", "9a15fcfe-9f5e-4f4f-b769-9112a7b8a668\n");
    CHECK(lineage::read_boot_id(root.path().string()) == "9a15fcfe-9f5e-4f4f-b769-9112a7b8a668");

    const std::string real = lineage::read_boot_id();
    CHECK(real.size() == 36);
    CHECK(real.find('\n') == std::string::npos);

    CHECK(lineage::clock_ticks_per_second() > 0);
}

TEST_CASE("scan_proc reads a fake /proc tree field by field", "[procfs]") {
    TempDir root;
    const fs::path proc = root.path();

    // pid 1: every file present and readable.
    write_file(proc / "1/stat", make_stat(1, "systemd", 'S', 0, 0x400100, 24));
    write_file(proc / "1/status", make_status("systemd", 1, 0, "0\t0\t0\t0", "0\t0\t0\t0", "NSpid:\t1\n"));
    write_file(proc / "1/cmdline", "/sbin/init\0splash\0"s);
    write_file(proc / "1/cgroup", "0::/init.scope\n");
    fs::create_symlink("/usr/lib/systemd/systemd", proc / "1/exe");
    write_file(proc / "1/ns/uts", "");
    const uint64_t uts_inode_1 = inode_of(proc / "1/ns/uts");

    // pid 2: kernel thread, no exe, empty cmdline.
    write_file(proc / "2/stat", kthreadd_stat_line);
    write_file(proc / "2/status", make_status("kthreadd", 2, 0, "0\t0\t0\t0", "0\t0\t0\t0", "NSpid:\t2\n"));
    write_file(proc / "2/cmdline", "");
    write_file(proc / "2/cgroup", "0::/\n");

    // pid 4242: inside a container, hostile comm, cmdline unreadable (a
    // directory, so open succeeds and read fails), no exe.
    write_file(proc / "4242/stat", make_stat(4242, "evil) S 1 (x", 'R', 1, 0x400000, 99999));
    write_file(proc / "4242/status",
               make_status("evil", 4242, 1, "1000\t1001\t1000\t1000", "100\t100\t100\t100", "NSpid:\t4242\t7\t1\n"));
    fs::create_directories(proc / "4242/cmdline");
    write_file(proc / "4242/cgroup", "0::/\n4:memory:/kubepods/burstable/pod42/abc\n");

    // To be ignored: non-numeric directories, a vanished process (directory
    // without stat), garbage stat, a stray numeric file.
    write_file(proc / "self/stat", make_stat(9, "self", 'S', 1, 0, 1));
    write_file(proc / "12abc/stat", make_stat(12, "x", 'S', 1, 0, 1));
    write_file(proc / "sys/kernel/random/boot_id", "x\n");
    fs::create_directories(proc / "555");
    write_file(proc / "777/stat", "this is not a stat line");
    write_file(proc / "888", "a file, not a directory");

    const auto processes = lineage::scan_proc(proc.string());
    REQUIRE(processes.size() == 3);
    CHECK(processes[0].tgid == 1);
    CHECK(processes[1].tgid == 2);
    CHECK(processes[2].tgid == 4242);

    const auto& init = processes[0];
    CHECK(init.ppid == 0);
    CHECK(init.nspid == 1);
    CHECK(init.start_ticks == 24u);
    CHECK(init.comm == "systemd");
    CHECK(init.exe == "/usr/lib/systemd/systemd");
    CHECK(init.argv == std::vector<std::string>{"/sbin/init", "splash"});
    CHECK(init.uid == 0u);
    CHECK(init.gid == 0u);
    CHECK(init.euid == 0u);
    CHECK(init.cgroup_path == "/init.scope");
    CHECK(init.uts_ns_inode == uts_inode_1);
    CHECK(init.uts_ns_inode != 0u);
    CHECK(init.nodename.empty());
    CHECK_FALSE(init.kernel_thread);

    const auto& kthreadd = processes[1];
    CHECK(kthreadd.ppid == 0);
    CHECK(kthreadd.nspid == 2);
    CHECK(kthreadd.start_ticks == 24u);
    CHECK(kthreadd.comm == "kthreadd");
    CHECK(kthreadd.exe.empty());
    CHECK(kthreadd.argv.empty());
    CHECK(kthreadd.cgroup_path == "/");
    CHECK(kthreadd.uts_ns_inode == 0u);
    CHECK(kthreadd.kernel_thread);

    const auto& evil = processes[2];
    CHECK(evil.ppid == 1);
    CHECK(evil.nspid == 1);
    CHECK(evil.start_ticks == 99999u);
    CHECK(evil.comm == "evil) S 1 (x");
    CHECK(evil.exe.empty());
    CHECK(evil.argv.empty());
    CHECK(evil.uid == 1000u);
    CHECK(evil.euid == 1001u);
    CHECK(evil.gid == 100u);
    CHECK(evil.cgroup_path == "/kubepods/burstable/pod42/abc");
    CHECK(evil.uts_ns_inode == 0u);
    CHECK_FALSE(evil.kernel_thread);
}

TEST_CASE("scan_proc keeps a process whose status is missing, with unknown ids", "[procfs]") {
    TempDir root;
    write_file(root.path() / "10/stat", make_stat(10, "nostatus", 'S', 1, 0, 50));
    write_file(root.path() / "10/cmdline", "x\0"s);

    const auto processes = lineage::scan_proc(root.path().string());
    REQUIRE(processes.size() == 1);
    CHECK(processes[0].tgid == 10);
    CHECK(processes[0].ppid == 1);
    CHECK(processes[0].uid == lineage::unknown_id);
    CHECK(processes[0].euid == lineage::unknown_id);
    CHECK(processes[0].gid == lineage::unknown_id);
    CHECK(processes[0].nspid == 0);
    CHECK(processes[0].argv == std::vector<std::string>{"x"});
    CHECK(processes[0].cgroup_path.empty());
}

TEST_CASE("scan_proc of a missing root is empty", "[procfs]") {
    CHECK(lineage::scan_proc("/nonexistent/lineage-test-proc").empty());
}

TEST_CASE("scan_proc finds this test process in the real /proc", "[procfs]") {
    const auto count_fds = [] {
        return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
    };
    const auto fds_before = count_fds();
    const auto processes = lineage::scan_proc();
    CHECK(count_fds() == fds_before);
    REQUIRE_FALSE(processes.empty());
    CHECK(std::is_sorted(processes.begin(), processes.end(),
                         [](const auto& a, const auto& b) { return a.tgid < b.tgid; }));

    const auto* self = find_tgid(processes, ::getpid());
    REQUIRE(self != nullptr);
    CHECK(self->ppid == ::getppid());
    CHECK(self->start_ticks != 0u);
    CHECK_FALSE(self->kernel_thread);
    CHECK_FALSE(self->exe.empty());
    CHECK_FALSE(self->argv.empty());
    CHECK_FALSE(self->comm.empty());
    CHECK(self->uid == static_cast<uint32_t>(::getuid()));
    CHECK(self->euid == static_cast<uint32_t>(::geteuid()));
    CHECK(self->gid == static_cast<uint32_t>(::getgid()));
    CHECK(self->uts_ns_inode == inode_of("/proc/self/ns/uts"));

    std::ifstream in("/proc/self/stat");
    std::string own_stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto stat = lineage::parse_proc_stat(own_stat);
    REQUIRE(stat.ok());
    CHECK(stat->start_ticks == self->start_ticks);
}

TEST_CASE("NodenameResolver", "[procfs]") {
    lineage::NodenameResolver resolver;
    const uint64_t own_inode = inode_of("/proc/self/ns/uts");
    CHECK(resolver.nodename_for(::getpid(), own_inode) == own_nodename());
    CHECK(resolver.nodename_for(::getpid(), 0).empty());
    // The inode does not match what pid's namespace really is: must not
    // guess, and must not cache a wrong name under that inode.
    CHECK(resolver.nodename_for(::getpid(), own_inode + 1).empty());
    CHECK(lineage::uts_nodename_of(999999999).empty());
}

TEST_CASE("uts_nodename_of enters other UTS namespaces", "[procfs][root]") {
    if (::geteuid() != 0) {
        WARN("not root: skipped uts_nodename_of tests (setns needs CAP_SYS_ADMIN)");
        return;
    }
    const std::string host = own_nodename();
    CHECK(lineage::uts_nodename_of(::getpid()) == host);

    // A thread of ours in its own UTS namespace with another hostname; the
    // kernel exposes it as /proc/TID even though readdir does not list it.
    std::promise<pid_t> ready;
    std::promise<void> done;
    std::shared_future<void> done_future = done.get_future().share();
    std::thread other([&ready, done_future] {
        const std::string name = "lineage-test-uts";
        if (::unshare(CLONE_NEWUTS) != 0 || ::sethostname(name.data(), name.size()) != 0) {
            ready.set_value(-1);
            return;
        }
        ready.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
        done_future.wait();
    });
    const pid_t tid = ready.get_future().get();
    if (tid > 0) {
        CHECK(lineage::uts_nodename_of(tid) == "lineage-test-uts");
        // The main thread never moved.
        CHECK(own_nodename() == host);

        lineage::NodenameResolver resolver;
        const uint64_t inode = inode_of(fmt::format("/proc/{}/ns/uts", tid));
        CHECK(inode != inode_of("/proc/self/ns/uts"));
        CHECK(resolver.nodename_for(tid, inode) == "lineage-test-uts");
        done.set_value();
        other.join();
        // Cached by inode: answered although the thread (and its namespace)
        // is gone now.
        CHECK(resolver.nodename_for(tid, inode) == "lineage-test-uts");
    } else {
        done.set_value();
        other.join();
        WARN("could not unshare a UTS namespace: skipped the cross-namespace part");
    }
    CHECK(own_nodename() == host);
}

TEST_CASE("process_started_at: a process with that start tick, not a reused PID, not a gone one", "[procfs][bounds]") {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto self = lineage::parse_proc_stat(text);
    REQUIRE(self.ok());
    const auto pid = static_cast<uint32_t>(getpid());
    CHECK(lineage::process_started_at("/proc", pid, self->start_ticks));
    CHECK_FALSE(lineage::process_started_at("/proc", pid, self->start_ticks + 1));
    // A PID above pid_max is never a process.
    CHECK_FALSE(lineage::process_started_at("/proc", 4'194'305, self->start_ticks));
}

}  // namespace test_procfs
