#pragma once
// Rows of schema version 8's tables (exec_files, file_hashes, listens), and
// of version 10's (dns), for the export and import tests: a second run appended to a fixture journal,
// written through JournalWriter as the recorder writes them. Kept here, not
// in FixtureJournal, so that the scenario API stays as it is.
#include <stdexcept>
#include <string>

#include "event.h"
#include "fixture_journal.h"
#include "journal_writer.h"

namespace fixture {

// The processes and values the run below writes, for the tests' checks.
inline constexpr uint32_t kV8Script = 21001;  // a script run by dash, then re-exec'd as setuid from a memfd
inline constexpr uint64_t kV8ScriptStart = at(1300, 100'000'123);
inline constexpr uint32_t kV8Server = 21002;  // listens on 4444, IPv4 and IPv6
inline constexpr uint64_t kV8ServerStart = at(1300, 200'000'456);
inline const std::string kV8Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
// A memfd's path with bytes that are not UTF-8 (the name is the caller's).
// The server's lookup of attacker.com (id 0x1a2b, A 93.184.216.34), as the
// bytes on the wire; and a message the probe could not tell the process of.
inline const std::string kV10Query = std::string(
    "\x1a\x2b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x08"
    "attacker\x03"
    "com\x00\x00\x01\x00\x01",
    30);
inline const std::string kV10Answer =
    kV10Query.substr(0, 2) + std::string("\x81\x80\x00\x01\x00\x01", 6) + kV10Query.substr(8) +
    std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x5d\xb8\xd8\x22", 16);
inline const std::string kV8MemfdPath = std::string("/memfd:x\xff\x1b[2J (deleted)");

inline lineage::ExecEvent v8_exec(Proc p, uint64_t t, const std::string& binary, const std::string& argv) {
    lineage::ExecEvent e;
    e.time_ns = t;
    e.proc = p;
    e.parent = {1, 500'000'000};
    e.nspid = p.tgid;
    e.old_tid = p.tgid;
    e.comm = binary.substr(binary.rfind('/') + 1).substr(0, 15);
    e.parent_comm = "systemd";
    e.nodename = "node-1";
    e.cgroup_path = "/system.slice";
    e.binary = binary;
    e.argv = argv;
    return e;
}

// Appends a run (boot 1300 s to 1310 s of the fixture's boot) with every
// kind of version 8 row to the journal at `path`; throws on an error.
inline void append_v8_run(const std::string& path) {
    using namespace lineage;
    auto check = [](const Status& st) {
        if (!st) throw std::runtime_error(st.error().message);
    };
    auto w = JournalWriter::open(path);
    if (!w) throw std::runtime_error(w.error().message);
    const RunOptions o;
    RunInfo info;
    info.boot_id = o.boot_id;
    info.node = o.node;
    info.started_ns = static_cast<int64_t>(at(1300));
    info.started_wall_ns = kWall0 + 300'000'000'000;
    info.version = "test";
    info.kernel = "6.1.0";
    info.hooks = "sched_process_exec";
    info.argv_cap = 131072;
    info.clk_tck = 100;
    info.recorder_pid = 900;
    if (auto r = w->begin_run(info); !r) throw std::runtime_error(r.error().message);

    const Proc script{kV8Script, kV8ScriptStart}, server{kV8Server, kV8ServerStart};
    auto forked = [&](Proc child) {
        ForkEvent f;
        f.time_ns = child.start_ns;
        f.parent = {1, 500'000'000};
        f.child = child;
        f.parent_comm = "systemd";
        check(w->add(Event{f}, ""));
    };
    forked(script);
    // A script: the given path is the script, the file run its interpreter.
    ExecEvent e1 = v8_exec(script, at(1301), "/tmp/run.sh", std::string("/bin/sh\0/tmp/run.sh\0", 20));
    ExecFile file1;
    file1.path = "/usr/bin/dash";
    file1.dev = 0x801;
    file1.ino = 1234567;
    file1.nlink = 1;
    file1.size = 125560;
    file1.mode = 0100755;
    file1.mtime_ns = kWall0 - 86'400'000'000'000 + 17;
    file1.flags = kFileScript | kFileUpperKnown;
    file1.interpreter = "/bin/sh";
    file1.before = {1000, 1000, 1000, 1000, 0, 0};
    file1.after = {1000, 1000, 1000, 1000, 0, 0};
    e1.file = file1;
    check(w->add(Event{e1}, ""));
    // Fileless and privileged: a deleted memfd, setuid root, on overlayfs's
    // upper layer, the kernel's AT_SECURE, capabilities past 2^32.
    ExecEvent e2 = v8_exec(script, at(1302), "/proc/self/fd/3", std::string("x\0-p\0", 5));
    ExecFile file2;
    file2.path = kV8MemfdPath;
    file2.dev = 0x1;
    file2.ino = 4242;
    file2.nlink = 0;
    file2.size = 9000;
    file2.mode = 0104755;
    file2.mtime_ns = kWall0 + 301'000'000'000;
    file2.flags = kFileMemfd | kFileDeleted | kFileUpper | kFileUpperKnown | kFileOverlay | kFileSecureExec |
                  kFilePathTruncated | kFileInterpreterTruncated;
    file2.before = {1000, 1000, 1000, 1000, 0, 0};
    file2.after = {1000, 1000, 0, 0, 0x1ffffffffffULL, 0x1ffffffffffULL};
    e2.file = file2;
    check(w->add(Event{e2}, ""));
    // An exec the probe sent no file for (an older kernel's): no exec_files row.
    using namespace std::string_literals;
    ExecEvent e3 = v8_exec(server, at(1303), "/usr/bin/nc",
                           "nc\0-l\0-p\0"
                           "4444\0"s);
    forked(server);
    check(w->add(Event{e3}, ""));
    check(w->add(Event{ListenEvent{at(1304), server, 4, "0.0.0.0", 4444}}, ""));
    check(w->add(Event{ListenEvent{at(1304, 5), server, 6, "::", 4444}}, ""));
    auto dns = [](uint64_t t, Proc p, bool sent, bool tcp, int family, const std::string& saddr, uint16_t sport,
                  const std::string& daddr, uint16_t dport, uint32_t length, const std::string& message) {
        DnsEvent e;
        e.time_ns = t;
        e.proc = p;
        e.sent = sent;
        e.tcp = tcp;
        e.family = family;
        e.saddr = saddr;
        e.sport = sport;
        e.daddr = daddr;
        e.dport = dport;
        e.length = length;
        e.message = message;
        return e;
    };
    check(w->add(Event{dns(at(1304, 10), server, true, false, 4, "10.0.0.5", 40001, "10.96.0.10", 53,
                           static_cast<uint32_t>(kV10Query.size()), kV10Query)},
                 ""));
    check(w->add(Event{dns(at(1304, 20), server, false, false, 4, "10.96.0.10", 53, "10.0.0.5", 40001,
                           static_cast<uint32_t>(kV10Answer.size()), kV10Answer)},
                 ""));
    // Cut by the probe's cap, and of no process it could tell.
    const DnsEvent unknown =
        dns(at(1304, 30), {}, false, true, 6, "fd00::53", 53, "fd00::5", 40002, 900, std::string("\xff\0garbage", 9));
    check(w->add(Event{unknown}, ""));
    check(w->commit(static_cast<int64_t>(at(1304, 100'000'000))));
    // The hashes come later, in a batch of their own, as the recorder's do.
    check(w->add_file_hash(FileHashRow{static_cast<int64_t>(at(1305)),
                                       {file1.dev, file1.ino, file1.size, file1.mtime_ns},
                                       file1.path,
                                       kV8Sha256,
                                       ""}));
    check(w->add_file_hash(FileHashRow{static_cast<int64_t>(at(1305, 1)),
                                       {file2.dev, file2.ino, file2.size, file2.mtime_ns},
                                       file2.path,
                                       "",
                                       "gone"}));
    check(w->add(Event{ExitEvent{at(1306), script, 0, 9, false, "x"}}, ""));
    check(w->commit(static_cast<int64_t>(at(1306, 100'000'000))));
    check(w->end_run(static_cast<int64_t>(at(1310)), kWall0 + 310'000'000'000, "signal", 9, 0));
}

}  // namespace fixture
