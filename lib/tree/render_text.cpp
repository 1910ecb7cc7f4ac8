// The text tree a responder reads, and the warnings for stderr. Every byte
// that came from a journal is escaped here, once.
#include "render.h"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "dns.h"
#include "escape.h"
#include "fold.h"
#include "render_common.h"
#include "saturate.h"
#include "timeexpr.h"

namespace lineage {

namespace {

std::string basename_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// A path without "." components, repeated slashes, and ".." where the
// component before it can be dropped: what the kernel's walk would give for
// it when no symbolic link is on the way.
std::string lexically_normal(const std::string& path) {
    std::vector<std::string> parts;
    const bool absolute = !path.empty() && path[0] == '/';
    for (size_t pos = 0; pos <= path.size();) {
        size_t end = path.find('/', pos);
        if (end == std::string::npos) end = path.size();
        std::string part = path.substr(pos, end - pos);
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..") {
                parts.pop_back();
            } else if (!absolute) {
                parts.push_back(part);
            }
        } else if (!part.empty() && part != ".") {
            parts.push_back(std::move(part));
        }
        pos = end + 1;
    }
    std::string out = absolute ? "/" : "";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
    return out;
}

// On a merged-/usr system (Debian 12), /bin, /sbin and /lib* are links into
// /usr: /bin/ls runs /usr/bin/ls, which is no news to a responder.
std::string without_usr_merge(const std::string& path) {
    for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/libx32/"}) {
        if (path.rfind(dir, 0) == 0) return path.substr(4);
    }
    return path;
}

// The directories a distribution's own binaries and their links live in
// (after without_usr_merge): a link from one to another (/bin/sh to dash,
// python3 to python3.11, an applet to /bin/busybox, /etc/alternatives) is
// the image's own plumbing, not news at 3 a.m.
bool in_system_dirs(const std::string& path) {
    for (const char* dir : {"/bin/", "/sbin/", "/lib/", "/lib64/", "/usr/local/bin/", "/usr/local/sbin/",
                            "/usr/libexec/", "/etc/alternatives/"}) {
        if (path.rfind(dir, 0) == 0) return true;
    }
    return false;
}

// Whether the file an exec ran is not the one its path names: a path
// through /proc/self/exe or /dev/fd, a symbolic link, a relative path that
// is not the executed file's tail. The given path is compared as the kernel
// would resolve it without links (lexically), and a merged /usr is no
// difference, nor a link between two system binary directories; a relative
// path matches an executed path that ends with it (the exec's working
// directory is not recorded).
bool runs_elsewhere(const std::string& given, const ExecFile& file) {
    if (file.path.empty()) return false;
    const std::string ran = without_usr_merge(file.path);
    std::string norm = lexically_normal(given);
    if (norm.empty()) return true;
    if (norm[0] == '/') {
        const std::string named = without_usr_merge(norm);
        if (named == ran) return false;
        return !(in_system_dirs(named) && in_system_dirs(ran));
    }
    if (norm.rfind("..", 0) == 0) return true;
    norm = "/" + norm;
    return ran.size() < norm.size() || ran.compare(ran.size() - norm.size(), norm.size(), norm) != 0;
}

// A memfd's name from its path ("memfd:NAME (deleted)").
std::string memfd_name(const std::string& path) {
    std::string name = path;
    if (name.rfind("/memfd:", 0) == 0) name.erase(0, 1);
    if (name.rfind("memfd:", 0) == 0) name.erase(0, 6);
    const std::string deleted = " (deleted)";
    if (name.size() >= deleted.size() && name.compare(name.size() - deleted.size(), deleted.size(), deleted) == 0)
        name.erase(name.size() - deleted.size());
    return name;
}

struct Glyphs {
    const char* tee;
    const char* last;
    const char* pipe;
    const char* space;
    const char* arrow;
    const char* fold;     // a run of generations drawn as one line
    const char* restart;  // the indentation starts again from the left
    const char* ellipsis;
    const char* range;
    const char* times;  // how many siblings a fold line counts
};
constexpr Glyphs kUnicode{"├── ", "└── ", "│     ", "      ", "→", "⋮", "↳", "…", "–", "×"};
constexpr Glyphs kAscii{"|-- ", "`-- ", "|     ", "      ", "->", ":", ">>", "...", "-", "x"};

// How many different images a fold line names before it only counts them.
constexpr size_t kFoldImagesNamed = 3;
// Bytes of one image chain in a fold line: several of them share the line.
constexpr size_t kFoldImageBytes = 256;

class TextWriter {
public:
    TextWriter(const Model& model, const Report& report, const TextOptions& options, const OutputSink& sink)
        : model_(model), report_(report), opt_(options), g_(options.ascii ? kAscii : kUnicode), sink_(sink) {
        if (report.since_wall_ns) {
            base_ns_ = *report.since_wall_ns;
        } else {
            base_ns_ = INT64_MAX;
            for (const auto& t : report.trees) {
                base_ns_ = std::min(base_ns_, process_start_wall(model, *t.root().process));
            }
            if (base_ns_ == INT64_MAX) base_ns_ = 0;
        }
    }

    bool run() {
        for (const auto& w : report_.warnings) {
            out_ += paint("33", "warning: " + escape_for_terminal(w.message)) + "\n";
        }
        if (report_.new_since) new_since_line(*report_.new_since);
        if ((!report_.warnings.empty() || report_.new_since) && !report_.trees.empty()) out_ += "\n";
        bool first = true;
        for (const auto& group : pod_groups()) {
            if (!first) out_ += "\n";
            first = false;
            group_header(group);
            for (size_t t : group) {
                if (report_.trees[t].outside_parent) outside_parent_line(*report_.trees[t].outside_parent);
                if (!draw(report_.trees[t])) return false;
            }
        }
        return flush();
    }

private:
    // Hands what is written so far to the sink.
    bool flush() {
        if (out_.empty()) return true;
        bool ok = sink_(out_);
        out_.clear();
        return ok;
    }

    std::string paint(const char* code, const std::string& text) const {
        if (!opt_.color) return text;
        return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
    }

    std::string when(int64_t wall_ns) const {
        if (opt_.absolute_times) return format_wall_short(wall_ns);
        return format_duration_short(sat_sub(wall_ns, base_ns_));
    }

    // The boot a tree comes from, when several are read: its header says so.
    const std::string& boot_of(const Tree& tree) const {
        static const std::string none;
        return report_.journal.boot_ids.size() > 1 ? tree.root().process->key.boot_id.str() : none;
    }

    // The trees under one header, as indexes into report_.trees: all the
    // roots of one pod (each `kubectl exec` session is one) in time order,
    // at the place of the pod's oldest; a tree outside pods alone.
    std::vector<std::vector<size_t>> pod_groups() const {
        std::vector<std::vector<size_t>> groups;
        std::map<std::pair<std::string, std::string>, size_t> of_pod;  // (boot, pod uid) -> group
        for (size_t t = 0; t < report_.trees.size(); ++t) {
            const Tree& tree = report_.trees[t];
            if (!tree.root().pod) {
                groups.push_back({t});
                continue;
            }
            auto [it, added] = of_pod.try_emplace({boot_of(tree), tree.root().pod->uid}, groups.size());
            if (added) groups.emplace_back();
            groups[it->second].push_back(t);
        }
        return groups;
    }

    void group_header(const std::vector<size_t>& group) {
        const Tree& tree = report_.trees[group.front()];
        const TreeNode& root = tree.root();
        // Several boots or nodes: say which one each tree comes from.
        if (report_.journal.boot_ids.size() > 1) {
            const Process& p = *root.process;
            std::string node;
            for (const auto& r : model_.runs()) {
                if (r.boot_id == p.key.boot_id) node = r.node;
            }
            out_ += paint("2", escape_for_terminal(fmt::format("node {}, boot {}", node, p.key.boot_id))) + "\n";
        }
        if (root.pod) {
            const auto& pod = *root.pod;
            const std::string name = pod_display_name(pod.name, pod.namespace_);
            // Every container of the pod's roots, in order of appearance.
            std::vector<const PodAttribution*> containers;
            bool named = false;
            for (size_t t : group) {
                const PodAttribution* c = report_.trees[t].root().pod.get();
                if (c->container_id.empty()) continue;
                auto same = [&](const PodAttribution* o) { return o->container_id == c->container_id; };
                if (std::find_if(containers.begin(), containers.end(), same) != containers.end()) continue;
                containers.push_back(c);
                named = named || !c->container_name.empty() || !c->image.empty() || !c->container_type.empty();
            }
            std::string roots = group.size() > 1 ? fmt::format(", {} trees", group_thousands(group.size())) : "";
            if (named) {
                // What the responder knows the workload by: "container api
                // image registry/x:1.4 (d78c990c760b)", for each container.
                std::string text;
                for (const PodAttribution* c : containers) {
                    // A pod's pause container has no name of its own.
                    if (!c->container_name.empty()) {
                        text += "  container " + c->container_name;
                    } else {
                        text += c->container_type == "sandbox" ? "  sandbox" : "  container ?";
                    }
                    if (!c->image.empty()) text += "  image " + c->image;
                    text += "  (" + c->container_id.substr(0, 12) + ")";
                }
                out_ += paint("1", "pod " + escape_for_terminal(name)) + escape_for_terminal(text) +
                        escape_for_terminal(fmt::format("  (uid {}{})", pod.uid, roots)) + "\n";
            } else {
                std::string container;
                for (size_t k = 0; k < containers.size(); ++k) {
                    container += (k                        ? ", "
                                  : containers.size() == 1 ? ", container "
                                                           : ", containers ") +
                                 containers[k]->container_id.substr(0, 12);
                }
                out_ += paint("1", "pod " + escape_for_terminal(name)) +
                        escape_for_terminal(fmt::format(" (uid {}{}{})", pod.uid, container, roots)) + "\n";
            }
        }
    }

    // --new: what NEW is measured against.
    void new_since_line(const NewSince& since) {
        std::string why = since.pruned ? "retention pruned what came before" : "the journals' oldest run";
        if (since.imported) why += "; imported runs hold only what their source recorded";
        out_ += paint("2",
                      fmt::format("new: first in its pod since {} ({})", format_rfc3339_ns(since.since_wall_ns), why)) +
                "\n";
    }

    // Inside a command, which is bold: bold again after the mark.
    std::string new_mark() const { return opt_.color ? "\x1b[1;35mNEW\x1b[0;1m " : "NEW "; }

    void outside_parent_line(const OutsideParent& op) {
        out_ += paint("2", fmt::format("parent {}: {} (PID {})", outside_reason_name(op.why),
                                       escape_for_terminal(op.comm.empty() ? "?" : op.comm), op.pid)) +
                "\n";
    }

    // One image, cut to `budget` bytes; the cap marker goes after the cut so
    // that a long argv never hides that it was truncated.
    std::string image_text(const ExecImage& img, size_t budget) const {
        std::string text;
        if (img.args.empty()) {
            text = escape_for_terminal(img.binary);
        } else {
            // argv[0] is the caller's choice: when it does not name the
            // binary, show the binary too, so "[kworker]" cannot hide curl.
            if (!img.binary.empty() && basename_of(img.args.front()) != basename_of(img.binary)) {
                text = "[" + escape_for_terminal(img.binary) + "] ";
            }
            text += format_argv(img.args);
        }
        text = truncate_for_display(text, budget);
        if (img.args_truncated) text += " [argv cut at cap]";
        return text + file_flags(img);
    }

    // What the executed file says that the path does not (schema version
    // 8), briefly, after the command; nothing for an exec without its file.
    // After the cut, so that a long argv never hides them.
    std::string file_flags(const ExecImage& img) const {
        if (!img.file) return "";
        const ExecFile& f = *img.file;
        std::vector<std::string> flags;
        const std::string cut = (f.flags & kFilePathTruncated) ? g_.ellipsis : "";
        if (f.flags & kFileMemfd) {
            flags.push_back("[memfd: " + escape_for_terminal(memfd_name(f.path)) + "]");
        } else if (f.flags & kFileScript) {
            const std::string interp = f.interpreter.empty() ? cut + f.path : f.interpreter;
            flags.push_back("[script, interpreter " + escape_for_terminal(interp) +
                            ((f.flags & kFileInterpreterTruncated) ? g_.ellipsis : "") + "]");
        } else if (runs_elsewhere(img.binary, f)) {
            flags.push_back("[runs " + cut + escape_for_terminal(f.path) + "]");
        }
        if ((f.flags & kFileUpperKnown) && (f.flags & kFileUpper)) flags.push_back("[written after container start]");
        if ((f.flags & kFileDeleted) && !(f.flags & kFileMemfd)) flags.push_back("[deleted]");
        if (privileges_changed(f)) {
            const Credentials& a = f.before;
            const Credentials& b = f.after;
            if (a.euid != b.euid) flags.push_back(fmt::format("[setuid: euid {} {} {}]", a.euid, g_.arrow, b.euid));
            if (a.egid != b.egid) flags.push_back(fmt::format("[setgid: egid {} {} {}]", a.egid, g_.arrow, b.egid));
            // A change of euid says it all (setuid root brings every
            // capability); without one, file capabilities are the news.
            const bool caps = a.euid == b.euid;
            if (caps && a.cap_effective != b.cap_effective) {
                flags.push_back(fmt::format("[capabilities: effective {:#x} {} {:#x}]", a.cap_effective, g_.arrow,
                                            b.cap_effective));
            } else if (caps && a.cap_permitted != b.cap_permitted) {
                flags.push_back(fmt::format("[capabilities: permitted {:#x} {} {:#x}]", a.cap_permitted, g_.arrow,
                                            b.cap_permitted));
            }
        }
        std::string text;
        for (size_t i = 0; i < flags.size(); ++i) text += (i ? " " : "  ") + flags[i];
        // The hash goes with a flagged exec only, the one a responder checks
        // against threat intelligence; every exec's is in the JSON and
        // --sha256 finds them all.
        if (flags.empty()) return text;
        if (img.hash && img.hash->sha256.size() == 64) {
            const std::string& h = img.hash->sha256;
            text += "  sha256 " + escape_for_terminal(h.substr(0, 4)) + g_.ellipsis + escape_for_terminal(h.substr(62));
        } else if (img.hash && !img.hash->problem.empty()) {
            text += "  sha256 unavailable (" + escape_for_terminal(img.hash->problem) + ")";
        }
        return text;
    }

    // Every image of a process, each cut to its share of `budget` bytes.
    std::string image_chain(const TreeNode& node, size_t budget) const {
        const Process& p = *node.process;
        if (!node.fork_of.empty()) {
            // It never exec'd: it runs its forker's image, under a name of
            // its own when it took one.
            std::string chain = "[fork of " + escape_for_terminal(node.fork_of);
            if (!p.comm.empty() && p.comm != node.fork_of) chain += ", comm " + escape_for_terminal(p.comm);
            return chain + "]";
        }
        if (p.execs.empty()) return "[" + escape_for_terminal(p.comm.empty() ? "?" : p.comm) + "]";
        std::string chain;
        size_t each = std::max<size_t>(budget / p.execs.size(), 64);
        for (size_t i = 0; i < p.execs.size(); ++i) {
            if (i) chain += fmt::format(" {} ", g_.arrow);
            if (i < node.new_images.size() && node.new_images[i] == Newness::first) chain += new_mark();
            chain += image_text(p.execs[i], each);
        }
        return chain;
    }

    std::string exit_text(const Process& p) const {
        if (!p.exit) return "running at journal end";
        if (p.exit->signal) {
            return paint("31",
                         "killed by " + signal_name(p.exit->signal) + (p.exit->core_dumped ? " (core dumped)" : ""));
        }
        return p.exit->code ? paint("31", fmt::format("exit {}", p.exit->code)) : "exit 0";
    }

    // parent is null for a root; a node entering a pod its parent is not in
    // says so, since the tree header names only the root's pod.
    std::string label(const TreeNode& node, const TreeNode* parent) const {
        const Process& p = *node.process;
        std::string chain = image_chain(node, opt_.max_line_bytes);
        if (opt_.color) {
            // Bold for the command: the eye finds it first.
            chain = paint("1", chain);
        }
        std::string pid = p.nspid && p.nspid != p.tgid ? fmt::format("PID {}, {} in its namespace", p.tgid, p.nspid)
                                                       : fmt::format("PID {}", p.tgid);
        std::string line =
            fmt::format("{}  ({})  {}  {}", chain, pid, when(process_start_wall(model_, p)), exit_text(p));
        if (!node.in_window) line += paint("2", "  [outside window]");
        if (node.container_init) line += paint("1", "  [container init]");
        if (p.carried_forward) line += paint("2", "  [carried forward from before a prune]");
        if (node.pod && node.entered == PodEntryKind::move) {
            line += paint("33", "  [moved into the pod " + when(model_.to_wall(p.key.boot_id, node.entered_ns)) + "]");
        }
        if (parent && node.pod && (!parent->pod || parent->pod->uid != node.pod->uid)) {
            const auto& pod = *node.pod;
            const std::string name = pod_display_name(pod.name, pod.namespace_);
            line += paint("1", "  [pod " + escape_for_terminal(name) + "]");
        }
        return line;
    }

    // "[depth 4,200]" on a line that is not indented to its depth: below a
    // fold line, or past the indentation's limit.
    std::string depth_mark(const TreeNode& node, uint32_t level) const {
        if (node.depth == level) return "";
        return paint("2", fmt::format("  [depth {}]", group_thousands(node.depth)));
    }

    // One line for a run of generations: how many, of what, which PIDs, when
    // they started and how they ended. Every process of the run is counted
    // here; none is worth a line of its own (fold.h).
    std::string fold_text(const Tree& tree, const ChainFold& run) const {
        std::vector<std::string> images;  // the first few, in order
        std::unordered_set<std::string> seen;
        size_t exited = 0, running = 0;
        for (uint32_t i = run.first;; i = tree.nodes[i].children[0]) {
            const Process& p = *tree.nodes[i].process;
            std::string chain = image_chain(tree.nodes[i], kFoldImageBytes);
            if (seen.insert(chain).second && images.size() < kFoldImagesNamed) images.push_back(std::move(chain));
            (p.exit ? exited : running) += 1;
            if (i == run.last) break;
        }
        std::string names = images[0];
        if (seen.size() > images.size()) {
            for (size_t k = 1; k < images.size(); ++k) names += ", " + images[k];
            const size_t others = seen.size() - images.size();
            names += fmt::format(" and {} other image{}", group_thousands(others), others == 1 ? "" : "s");
        } else {
            for (size_t k = 1; k < images.size(); ++k) names += (k + 1 == images.size() ? " and " : ", ") + images[k];
        }
        const std::string ends = ends_text(exited, running);
        const Process& first = *tree.nodes[run.first].process;
        const Process& last = *tree.nodes[run.last].process;
        std::string text = paint("2", fmt::format("{} {} generations of {} (PIDs {}{}{}, {} {} {}, {})", g_.fold,
                                                  group_thousands(run.generations), names, first.tgid, g_.range,
                                                  last.tgid, when(process_start_wall(model_, first)), g_.ellipsis,
                                                  when(process_start_wall(model_, last)), ends));
        if (!tree.nodes[run.first].in_window) text += paint("2", "  [outside window]");
        return text;
    }

    // One line for siblings of one shape (fold.h, RepeatFold): what they
    // ran, how many, over what span, how often and how they ended, e.g.
    //   sh -c "test -f /tmp/healthy"  ×360  (+0.020s … +59m50s, every 10.000s, all exit 0)  [PIDs 18300 … 21890]
    // None of them is worth a line of its own.
    std::string repeat_text(const Tree& tree, const RepeatFold& run) const {
        const TreeNode& first_node = tree.nodes[run.members.front()];
        const Process& first = *first_node.process;
        const Process& last = *tree.nodes[run.members.back()].process;
        size_t exited = 0, running = 0;
        for (uint32_t m : run.members) (tree.nodes[m].process->exit ? exited : running) += 1;
        const int64_t t0 = process_start_wall(model_, first);
        const int64_t t1 = process_start_wall(model_, last);
        const uint64_t gaps = run.members.size() - 1;
        const int64_t mean = sat_sub(t1, t0) / static_cast<int64_t>(gaps);
        // "every 10.000s" when every gap is within a tenth of the mean;
        // else the mean, said to be one.
        bool regular = true;
        int64_t prev = t0;
        for (size_t k = 1; k < run.members.size(); ++k) {
            const int64_t t = process_start_wall(model_, *tree.nodes[run.members[k]].process);
            const int64_t gap = sat_sub(t, prev);
            if (gap < mean - mean / 10 || gap > mean + mean / 10) regular = false;
            prev = t;
        }
        std::string every = format_duration_short(mean);
        if (!every.empty() && every[0] == '+') every.erase(0, 1);
        every = regular ? "every " + every : "every " + every + " on average";
        std::string chain = image_chain(first_node, opt_.max_line_bytes);
        if (opt_.color) chain = paint("1", chain);
        std::string line =
            fmt::format("{}  {}  ({} {} {}, {}, {})", chain, paint("1", g_.times + group_thousands(run.members.size())),
                        when(t0), g_.ellipsis, when(t1), every, ends_text(exited, running));
        line += paint("2", fmt::format("  [PIDs {} {} {}]", first.tgid, g_.ellipsis, last.tgid));
        if (!first_node.in_window) line += paint("2", "  [outside window]");
        return line;
    }

    // How the processes of a fold line ended: none of them failed.
    static std::string ends_text(size_t exited, size_t running) {
        if (running == 0) return "all exit 0";
        if (exited == 0) return "all running at journal end";
        return fmt::format("{} exit 0, {} running at journal end", group_thousands(exited), group_thousands(running));
    }

    void details(const TreeNode& node, const std::string& prefix) {
        const Process& p = *node.process;
        bool more = !node.children.empty();
        for (const DnsLookup& l : p.dns) {
            out_ += prefix + (more ? (opt_.ascii ? "| " : "│ ") : "") + paint("36", dns_text(p, l)) + "\n";
        }
        for (size_t k = 0; k < p.connects.size(); ++k) {
            const ConnectInfo& c = p.connects[k];
            const bool fresh = k < node.new_connects.size() && node.new_connects[k] == Newness::first;
            // The address is text from the journal: escape it like argv.
            std::string text = fmt::format("{} {}connect {}", g_.arrow, fresh ? "NEW " : "",
                                           escape_for_terminal(address_with_port(c.daddr, c.dport, c.family)));
            // The name the process itself resolved to that address.
            if (!c.name.empty()) text += " (" + dns_shown(c.name) + ")";
            if (!c.outcome_known) {
                text += " (outcome not recorded)";
            } else if (!c.established) {
                text += " (failed)";
            }
            text += "  " + when(model_.to_wall(p.key.boot_id, c.time_ns));
            out_ += prefix + (more ? (opt_.ascii ? "| " : "│ ") : "") + paint(fresh ? "1;35" : "36", text) + "\n";
        }
        for (const ListenInfo& l : p.listens) {
            std::string text =
                fmt::format("{} listen {}", g_.arrow, escape_for_terminal(address_with_port(l.addr, l.port, l.family)));
            text += "  " + when(model_.to_wall(p.key.boot_id, l.time_ns));
            out_ += prefix + (more ? (opt_.ascii ? "| " : "│ ") : "") + paint("36", text) + "\n";
        }
    }

    // A name or address of a lookup as the parser wrote it: printable ASCII
    // already, its other bytes as \DDD (lib/names/dns.h), so shown as it is
    // (escape_for_terminal would double each backslash); anything else, which
    // only a changed model could hold, escaped.
    static std::string dns_shown(const std::string& s) {
        const bool printable = std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
        return printable ? s : escape_for_terminal(s);
    }

    // "→ dns attacker.com A 93.184.216.34  +0.002s": a lookup the process
    // made (or, served, answered), and what came back.
    std::string dns_text(const Process& p, const DnsLookup& l) const {
        std::string text =
            fmt::format("{} {}dns {}", g_.arrow, l.served ? "served " : "", l.name.empty() ? "?" : dns_shown(l.name));
        if (l.has_query || !l.name.empty()) text += " " + dns_type_name(l.type);
        if (!l.answered) {
            text += " (no answer)";
        } else if (l.rcode != 0) {
            text += " " + dns_rcode_name(l.rcode);
        } else if (l.no_records) {
            // NOERROR with an empty answer section: the name has no record
            // of the type (an IPv4-only name asked for AAAA).
            text += " (no records)";
        }
        for (size_t i = 0; i < l.answers.size(); ++i) text += (i ? ", " : " ") + dns_shown(l.answers[i]);
        if (l.served) {
            text += " to " + escape_for_terminal(address_with_port(l.client, l.client_port,
                                                                   l.client.find(':') != std::string::npos ? 6 : 4));
        }
        if (l.tcp) text += " (tcp)";
        if (!l.unparsed.empty()) text += "  [unparsed: " + escape_for_terminal(l.unparsed) + "]";
        text += "  " + when(model_.to_wall(p.key.boot_id, l.time_ns));
        return text;
    }

    // The tree, depth first, with a stack of its own: a tree can be as deep
    // as an attacker likes. Lines never grow with the depth: past
    // kTextIndentLevels levels a marker line says so and the indentation
    // starts again from the left.
    bool draw(const Tree& tree) {
        const FoldPlan folds = plan_folds(tree, opt_.fold);
        struct Frame {
            uint32_t node;
            uint32_t parent;
            std::string prefix;  // before the branch glyph
            bool last;
            uint32_t level;  // how far the line is indented: 1 for the root's children
        };
        std::vector<Frame> todo;
        // The children of node `i`, drawn one level below `level`; those
        // counted in an older sibling's fold line are not drawn.
        std::vector<uint32_t> shown;
        auto push_children = [&](uint32_t i, const std::string& prefix, uint32_t level) {
            shown.clear();
            for (uint32_t c : tree.nodes[i].children) {
                if (!folds.hidden[c]) shown.push_back(c);
            }
            std::string next = prefix;
            if (level >= kTextIndentLevels && !shown.empty()) {
                restart_line(tree.nodes[i]);
                next = "  ";
                level = 0;
            }
            for (size_t k = shown.size(); k-- > 0;) {
                todo.push_back(Frame{shown[k], i, next, k + 1 == shown.size(), level + 1});
            }
        };

        const TreeNode& root = tree.root();
        out_ += label(root, nullptr) + "\n";
        details(root, "  ");
        push_children(0, "  ", 0);
        while (!todo.empty()) {
            if (out_.size() >= kRenderChunkBytes && !flush()) return false;
            Frame f = std::move(todo.back());
            todo.pop_back();
            const std::string glyph = f.last ? g_.last : g_.tee;
            const std::string below = f.prefix + (f.last ? g_.space : g_.pipe);
            if (uint32_t c = folds.chain_at[f.node]; c != kNoFold) {
                const ChainFold& run = folds.chains[c];
                out_ += f.prefix + glyph + fold_text(tree, run) + "\n";
                // What comes after the run hangs below the fold line.
                if (f.level >= kTextIndentLevels) {
                    restart_line(tree.nodes[run.last]);
                    todo.push_back(Frame{tree.nodes[run.last].children[0], run.last, "  ", true, 1});
                } else {
                    todo.push_back(Frame{tree.nodes[run.last].children[0], run.last, below, true, f.level + 1});
                }
                continue;
            }
            const TreeNode& node = tree.nodes[f.node];
            if (uint32_t r = folds.repeat_at[f.node]; r != kNoFold) {
                // The run's shape below it: the oldest member's subtree.
                out_ += f.prefix + glyph + repeat_text(tree, folds.repeats[r]) + depth_mark(node, f.level) + "\n";
                push_children(f.node, below, f.level);
                continue;
            }
            out_ += f.prefix + glyph + label(node, &tree.nodes[f.parent]) + depth_mark(node, f.level) + "\n";
            details(node, below);
            push_children(f.node, below, f.level);
        }
        return true;
    }

    // The line before children drawn from the left again: whose they are.
    void restart_line(const TreeNode& above) {
        out_ += paint("2", fmt::format("{} depth {} onwards, below PID {}:", g_.restart,
                                       group_thousands(above.depth + 1), above.process->tgid)) +
                "\n";
    }

    const Model& model_;
    const Report& report_;
    const TextOptions& opt_;
    Glyphs g_;
    const OutputSink& sink_;
    int64_t base_ns_ = 0;
    std::string out_;
};

}  // namespace

bool TextRenderer::render_to(const Model& model, const Report& report, const OutputSink& sink) const {
    return TextWriter(model, report, options_, sink).run();
}

std::string address_with_port(const std::string& addr, uint16_t port, int family) {
    return family == 6 ? fmt::format("[{}]:{}", addr, port) : fmt::format("{}:{}", addr, port);
}

std::string render_warnings_for_stderr(const Report& report) {
    std::string out;
    for (const auto& w : report.warnings) out += "lineage: warning: " + escape_for_terminal(w.message) + "\n";
    return out;
}

}  // namespace lineage
