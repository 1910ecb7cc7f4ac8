// End-to-end tests of DNS names (issue 21, "Names"): a loopback DNS server
// (a few lines of Python on 127.0.5.3:53, UDP and TCP), real resolvers and
// hand-built queries under a real `lineage record`, the dns rows read with
// SQLite directly, and the tree `lineage reconstruct` draws from them.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "helpers.h"

namespace test_dns_e2e {

using namespace e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* const kPython = "/usr/bin/python3";
// An address of lo that nothing else on a node uses (systemd-resolved's is
// 127.0.0.53), so the test's server never meets the node's.
const char* const kServer = "127.0.5.3";
// What the server answers for every A question: an address of lo, where
// the test listens, so that a connect to it never leaves the machine.
const char* const kAnswer = "127.0.7.7";

// The server: A questions get kAnswer, names starting with "nx" NXDOMAIN,
// other types an empty answer; over UDP, a name starting with "slow" is
// answered after 300 ms (its asker can be gone by then). It writes "ready" to argv[1] once bound.
const char* const kServerProgram = R"PY(
import socket, struct, sys, threading
def answer(q):
    qid, flags, qd = struct.unpack('>HHH', q[:6])
    i = 12
    labels = []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]]); i += 1 + q[i]
    qtype = struct.unpack('>H', q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    nx = labels and labels[0].startswith(b'nx')
    ans = b''
    if qtype == 1 and not nx:
        ans = b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 300, 4) + socket.inet_aton(sys.argv[3])
    return struct.pack('>HHHHHH', qid, 0x8183 if nx else 0x8180, 1, 1 if ans else 0, 0, 0) + question + ans
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], 53))
    ready.release()
    while True:
        q, peer = s.recvfrom(4096)
        if b'\x04slow' in q:
            threading.Timer(0.3, s.sendto, (answer(q), peer)).start()
        else:
            s.sendto(answer(q), peer)
def tcp_client(c):
    with c:
        buf = b''
        while True:
            data = c.recv(4096)
            if not data: return
            buf += data
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('>H', buf[:2])[0]:
                n = struct.unpack('>H', buf[:2])[0]
                r = answer(buf[2:2 + n]); buf = buf[2 + n:]
                c.sendall(struct.pack('>H', len(r)) + r)
def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], 53)); s.listen()
    ready.release()
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()
ready = threading.Semaphore(0)
for f in (udp, tcp): threading.Thread(target=f, daemon=True).start()
ready.acquire(); ready.acquire()
open(sys.argv[1], 'w').write('ready')
threading.Event().wait()
)PY";

// The server as a child process, killed with its process group at the end.
class DnsServer {
public:
    explicit DnsServer(const TempDir& dir) : ready_(dir / "dns-ready") {
        pid_ = spawn(kPython, {kPython, "-c", kServerProgram, ready_, kServer, kAnswer}, {}, -1, -1, -1);
        for (int i = 0; i < 200 && !fs::exists(ready_); ++i) std::this_thread::sleep_for(25ms);
        REQUIRE(fs::exists(ready_));
    }
    ~DnsServer() {
        kill(-pid_, SIGKILL);
        wait_for(pid_, 5s);
    }
    pid_t pid() const { return pid_; }

private:
    std::string ready_;
    pid_t pid_ = -1;
};

RunResult run_python(const std::string& program, const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv{kPython, "-c", program};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_argv(argv, {}, 20s);
}

// A hand-built query of `name` A with DNS id `id`, as Python bytes.
std::string py_query() {
    return "import os, socket, struct, sys, time\n"
           "def query(name, qid):\n"
           "    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)\n"
           "    for label in name.split('.'): q += bytes([len(label)]) + label.encode()\n"
           "    return q + b'\\0' + struct.pack('>HH', 1, 1)\n"
           "print(f'pid={os.getpid()}', flush=True)\n";
}

struct DnsRow {
    int64_t start_ns;
    std::string direction, transport;
    int64_t sport, dport, length;
    std::string message;
};

std::vector<DnsRow> dns_rows(Journal& j, int64_t tgid) {
    std::vector<DnsRow> rows;
    j.each(
        "SELECT start_ns, direction, transport, sport, dport, length, message FROM dns WHERE tgid = ? "
        "ORDER BY rowid",
        {tgid}, [&](lineage::Stmt& s) {
            rows.push_back({s.int64(0), s.text(1), s.text(2), s.int64(3), s.int64(4), s.int64(5), s.blob(6)});
        });
    return rows;
}

bool has(const std::string& out, const std::string& what) {
    return out.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("record keeps the DNS messages of a resolver, a hand-built query and DNS over TCP, with their process",
          "[record][dns]") {
    TempDir dir;
    DnsServer server(dir);
    Listener web(kAnswer);
    // The client's own /etc/resolv.conf, in a mount namespace of its own (as
    // a pod has it): glibc's resolver asks the test's server.
    const std::string resolv = dir / "resolv.conf";
    std::ofstream(resolv) << "nameserver " << kServer << "\noptions timeout:2 attempts:1\n";
    const std::string journal = dir / "j.db";
    auto rec = start_record(journal);

    // glibc's getaddrinfo, then a connect to the address it gave.
    auto glibc = run_argv(
        {"/usr/bin/unshare", "-m", "/bin/sh", "-c",
         "mount --bind \"$0\" /etc/resolv.conf && exec \"$1\" -c \"$2\" \"$3\"", resolv, kPython,
         "import os, socket, sys\n"
         "print(f'pid={os.getpid()}', flush=True)\n"
         "addr = socket.getaddrinfo('attacker.com', int(sys.argv[1]), socket.AF_INET, socket.SOCK_STREAM)[0][4]\n"
         "print(f'addr={addr[0]}', flush=True)\n"
         "socket.create_connection(addr, timeout=5).close()\n",
         std::to_string(web.port())},
        {}, 20s);
    // A query that its sender does not wait for: it exits as soon as it is sent.
    auto gone = run_python(py_query() +
                               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                               "s.sendto(query('slow.attacker.com', 0x1111), (sys.argv[1], 53))\n",
                           {kServer});
    // DNS over TCP, the query split over two segments, and an NXDOMAIN.
    auto tcp = run_python(py_query() +
                              "s = socket.create_connection((sys.argv[1], 53), timeout=5)\n"
                              "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
                              "q = query('tcp.attacker.com', 0x2222)\n"
                              "m = struct.pack('>H', len(q)) + q\n"
                              "s.sendall(m[:7]); time.sleep(0.2); s.sendall(m[7:])\n"
                              "n = struct.unpack('>H', s.recv(2))[0]\n"
                              "print(f'answer={len(s.recv(n))}', flush=True)\n"
                              "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)\n"
                              "u.sendto(query('nx.attacker.com', 0x3333), (sys.argv[1], 53)); u.recv(512)\n",
                          {kServer});
    rec->stop();
    for (const RunResult* r : {&glibc, &gone, &tcp}) {
        INFO("stdout:\n" << r->out << "stderr:\n" << r->err);
        REQUIRE(r->exit_code == 0);
    }
    const int64_t glibc_pid = fact_int(parse_facts(glibc.out), "pid");
    CHECK(parse_facts(glibc.out).at("addr") == kAnswer);
    const int64_t gone_pid = fact_int(parse_facts(gone.out), "pid");
    const int64_t tcp_pid = fact_int(parse_facts(tcp.out), "pid");

    Journal j(copy_journal(journal, dir, "copy.db"));
    // Each message is its sender's: the process that exec'd python (the
    // exec row's identity), the answer too, though it came in a softirq.
    for (int64_t pid : {glibc_pid, gone_pid, tcp_pid}) {
        INFO("pid " << pid << "\n" << j.describe(pid));
        auto execs = j.execs_of(pid);
        REQUIRE(!execs.empty());
        for (const DnsRow& r : dns_rows(j, pid)) CHECK(r.start_ns == execs.back().proc.start_ns);
    }
    auto glibc_rows = dns_rows(j, glibc_pid);
    REQUIRE(glibc_rows.size() >= 2);
    CHECK(glibc_rows[0].direction == "sent");
    CHECK(glibc_rows[0].dport == 53);
    CHECK(glibc_rows[0].transport == "udp");
    CHECK(glibc_rows.back().direction == "received");
    CHECK(glibc_rows.back().sport == 53);
    // The sender that left at once: its query, and no one to deliver the
    // answer to.
    auto gone_rows = dns_rows(j, gone_pid);
    REQUIRE(gone_rows.size() == 1);
    CHECK(gone_rows[0].direction == "sent");
    CHECK(gone_rows[0].length == static_cast<int64_t>(gone_rows[0].message.size()));
    // The server's side is its own: none of its rows names a client.
    CHECK(j.scalar("SELECT count(*) FROM dns WHERE tgid = ? AND direction = 'sent' AND dport = 53",
                   {static_cast<int64_t>(server.pid())}) == 0);
    // Every TCP segment with bytes: the two halves of the query, the answer.
    auto tcp_rows = dns_rows(j, tcp_pid);
    CHECK(std::count_if(tcp_rows.begin(), tcp_rows.end(),
                        [](const DnsRow& r) { return r.transport == "tcp" && r.direction == "sent"; }) == 2);

    // The tree: each lookup under its process, the connect named by it.
    auto tree = run_argv(
        {lineage_bin(), "reconstruct", "--journal", journal, "--color", "never", "--pid", std::to_string(glibc_pid)});
    INFO(tree.out << tree.err);
    REQUIRE(tree.exit_code == 0);
    CHECK(has(tree.out, std::string("→ dns attacker.com A ") + kAnswer + "  "));
    CHECK(has(tree.out, std::string("→ connect ") + kAnswer + ":" + std::to_string(web.port()) + " (attacker.com)"));
    auto gone_tree = run_argv(
        {lineage_bin(), "reconstruct", "--journal", journal, "--color", "never", "--pid", std::to_string(gone_pid)});
    CHECK(has(gone_tree.out, "→ dns slow.attacker.com A (no answer)  "));
    auto tcp_tree = run_argv(
        {lineage_bin(), "reconstruct", "--journal", journal, "--color", "never", "--pid", std::to_string(tcp_pid)});
    INFO(tcp_tree.out);
    CHECK(has(tcp_tree.out, std::string("→ dns tcp.attacker.com A ") + kAnswer + " (tcp)  "));
    CHECK(has(tcp_tree.out, "→ dns nx.attacker.com A NXDOMAIN  "));
    CHECK_FALSE(has(tcp_tree.out, "unparsed"));
    // The recorder's index of names looked up (schema version 11): the
    // clients' names, "" for the query split mid-question; none of the
    // server's.
    CHECK(j.scalar("SELECT count(*) FROM dns_names WHERE tgid = ? AND name_key = 'moc.rekcatta'", {glibc_pid}) >= 1);
    CHECK(j.scalar("SELECT count(*) FROM dns_names WHERE tgid = ? AND name_key = 'moc.rekcatta.wols'", {gone_pid}) ==
          1);
    CHECK(j.scalar("SELECT count(*) FROM dns_names WHERE tgid = ? AND name_key = ''", {tcp_pid}) >= 1);
    CHECK(j.scalar("SELECT count(*) FROM dns_names WHERE tgid = ?", {static_cast<int64_t>(server.pid())}) == 0);
    // --dns finds each client through it, and not the server.
    auto by_name =
        run_argv({lineage_bin(), "reconstruct", "--journal", journal, "--color", "never", "--dns", "*.attacker.com"});
    INFO(by_name.out << by_name.err);
    REQUIRE(by_name.exit_code == 0);
    auto shown = [](const std::string& out, int64_t pid) {
        const std::string at = "(PID " + std::to_string(pid);
        return has(out, at + ")") || has(out, at + ",");
    };
    for (int64_t pid : {gone_pid, tcp_pid}) CHECK(shown(by_name.out, pid));
    CHECK_FALSE(shown(by_name.out, glibc_pid));  // attacker.com itself
    CHECK_FALSE(shown(by_name.out, server.pid()));
    auto exact = run_argv({lineage_bin(), "reconstruct", "--journal", journal, "--dns", "ATTACKER.COM"});
    CHECK(shown(exact.out, glibc_pid));
    CHECK_FALSE(shown(exact.out, gone_pid));
    // The journal stays whole with its dns rows.
    auto verify = run_argv({lineage_bin(), "verify", "--journal", journal});
    CHECK(verify.exit_code == 0);
}

TEST_CASE("record --dns off attaches no packet hook and writes no dns row", "[record][dns]") {
    TempDir dir;
    DnsServer server(dir);
    const std::string journal = dir / "j.db";
    auto rec = start_record(journal, {"--dns", "off"});
    auto q = run_python(py_query() +
                            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)\n"
                            "u.sendto(query('off.attacker.com', 0x4444), (sys.argv[1], 53)); u.recv(512)\n",
                        {kServer});
    rec->stop();
    REQUIRE(q.exit_code == 0);
    Journal j(copy_journal(journal, dir, "copy.db"));
    CHECK(j.scalar("SELECT count(*) FROM dns") == 0);
    CHECK(j.texts("SELECT hooks FROM runs").at(0).find("cgroup_skb") == std::string::npos);
}

}  // namespace test_dns_e2e
