// The text tree a responder reads, and the warnings for stderr. Every byte
// that came from a journal is escaped here, once.
#include "render.h"

#include <algorithm>

#include <fmt/format.h>

#include "escape.h"
#include "render_common.h"
#include "saturate.h"
#include "timeexpr.h"

namespace lineage {

namespace {

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string address_with_port(const std::string& addr, uint16_t port, int family) {
    return family == 6 ? fmt::format("[{}]:{}", addr, port) : fmt::format("{}:{}", addr, port);
}

struct Glyphs {
    const char* tee;
    const char* last;
    const char* pipe;
    const char* space;
    const char* arrow;
};
constexpr Glyphs kUnicode{"├── ", "└── ", "│     ", "      ", "→"};
constexpr Glyphs kAscii{"|-- ", "`-- ", "|     ", "      ", "->"};

class TextWriter {
public:
    TextWriter(const Model& model, const Report& report, const TextOptions& options)
        : model_(model), report_(report), opt_(options), g_(options.ascii ? kAscii : kUnicode) {
        if (report.since_wall_ns) {
            base_ns_ = *report.since_wall_ns;
        } else {
            base_ns_ = INT64_MAX;
            for (const auto& t : report.trees)
                base_ns_ = std::min(base_ns_, process_start_wall(model, *t.root.process));
            if (base_ns_ == INT64_MAX) base_ns_ = 0;
        }
    }

    std::string run() {
        for (const auto& w : report_.warnings) {
            out_ += paint("33", "warning: " + escape_for_terminal(w.message)) + "\n";
        }
        if (!report_.warnings.empty() && !report_.trees.empty()) out_ += "\n";
        bool first = true;
        for (const auto& tree : report_.trees) {
            if (!first) out_ += "\n";
            first = false;
            tree_header(tree);
            out_ += label(tree.root, nullptr) + "\n";
            details(tree.root, "  ");
            children(tree.root, "  ");
        }
        return out_;
    }

private:
    std::string paint(const char* code, const std::string& text) const {
        if (!opt_.color) return text;
        return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
    }

    std::string when(int64_t wall_ns) const {
        if (opt_.absolute_times) return format_wall_short(wall_ns);
        return format_duration_short(sat_sub(wall_ns, base_ns_));
    }

    void tree_header(const Tree& tree) {
        const TreeNode& root = tree.root;
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
            std::string container =
                pod.container_id.empty() ? std::string() : ", container " + pod.container_id.substr(0, 12);
            out_ += paint("1", "pod " + escape_for_terminal(name)) +
                    escape_for_terminal(fmt::format(" (uid {}{})", pod.uid, container)) + "\n";
        }
        if (tree.outside_parent) {
            const auto& op = *tree.outside_parent;
            out_ += paint("2", fmt::format("parent {}: {} (PID {})", outside_reason_name(op.why),
                                           escape_for_terminal(op.comm.empty() ? "?" : op.comm), op.pid)) +
                    "\n";
        }
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
            if (!img.binary.empty() && basename_of(img.args[0]) != basename_of(img.binary)) {
                text = "[" + escape_for_terminal(img.binary) + "] ";
            }
            text += format_argv(img.args);
        }
        text = truncate_for_display(text, budget);
        if (img.args_truncated) text += " [argv cut at cap]";
        return text;
    }

    // parent is null for a root; a node entering a pod its parent is not in
    // says so, since the tree header names only the root's pod.
    std::string label(const TreeNode& node, const TreeNode* parent) const {
        const Process& p = *node.process;
        std::string chain;
        if (!node.fork_of.empty()) {
            // It never exec'd: it runs its forker's image, under a name of
            // its own when it took one.
            chain = "[fork of " + escape_for_terminal(node.fork_of);
            if (!p.comm.empty() && p.comm != node.fork_of) chain += ", comm " + escape_for_terminal(p.comm);
            chain += "]";
        } else if (p.execs.empty()) {
            chain = "[" + escape_for_terminal(p.comm.empty() ? "?" : p.comm) + "]";
        } else {
            size_t budget = std::max<size_t>(opt_.max_line_bytes / p.execs.size(), 64);
            for (size_t i = 0; i < p.execs.size(); ++i) {
                if (i) chain += fmt::format(" {} ", g_.arrow);
                chain += image_text(p.execs[i], budget);
            }
        }
        if (opt_.color) {
            // Bold for the command: the eye finds it first.
            chain = paint("1", chain);
        }
        std::string pid = p.nspid && p.nspid != p.tgid ? fmt::format("PID {}, {} in its namespace", p.tgid, p.nspid)
                                                       : fmt::format("PID {}", p.tgid);
        std::string status;
        if (p.exit) {
            if (p.exit->signal) {
                status = paint(
                    "31", "killed by " + signal_name(p.exit->signal) + (p.exit->core_dumped ? " (core dumped)" : ""));
            } else {
                status = p.exit->code ? paint("31", fmt::format("exit {}", p.exit->code)) : "exit 0";
            }
        } else {
            status = "running at journal end";
        }
        std::string line = fmt::format("{}  ({})  {}  {}", chain, pid, when(process_start_wall(model_, p)), status);
        if (!node.in_window) line += paint("2", "  [outside window]");
        if (node.container_init) line += paint("1", "  [container init]");
        if (node.pod && node.pod->entered == PodEntryKind::move) {
            line +=
                paint("33", "  [moved into the pod " + when(model_.to_wall(p.key.boot_id, node.pod->entered_ns)) + "]");
        }
        if (parent && node.pod && (!parent->pod || parent->pod->uid != node.pod->uid)) {
            const auto& pod = *node.pod;
            const std::string name = pod_display_name(pod.name, pod.namespace_);
            line += paint("1", "  [pod " + escape_for_terminal(name) + "]");
        }
        return line;
    }

    void details(const TreeNode& node, const std::string& prefix) {
        const Process& p = *node.process;
        bool more = !node.children.empty();
        for (const auto& c : p.connects) {
            // The address is text from the journal: escape it like argv.
            std::string text = fmt::format("{} connect {}", g_.arrow,
                                           escape_for_terminal(address_with_port(c.daddr, c.dport, c.family)));
            if (!c.established) text += " (failed)";
            text += "  " + when(model_.to_wall(p.key.boot_id, c.time_ns));
            out_ += prefix + (more ? (opt_.ascii ? "| " : "│ ") : "") + paint("36", text) + "\n";
        }
    }

    void children(const TreeNode& node, const std::string& prefix) {
        for (size_t i = 0; i < node.children.size(); ++i) {
            bool last = i + 1 == node.children.size();
            const TreeNode& child = node.children[i];
            out_ += prefix + (last ? g_.last : g_.tee) + label(child, &node) + "\n";
            std::string next = prefix + (last ? g_.space : g_.pipe);
            details(child, next);
            children(child, next);
        }
    }

    const Model& model_;
    const Report& report_;
    const TextOptions& opt_;
    Glyphs g_;
    int64_t base_ns_ = 0;
    std::string out_;
};

}  // namespace

std::string TextRenderer::render(const Model& model, const Report& report) const {
    return TextWriter(model, report, options_).run();
}

std::string render_warnings_for_stderr(const Report& report) {
    std::string out;
    for (const auto& w : report.warnings) out += "lineage: warning: " + escape_for_terminal(w.message) + "\n";
    return out;
}

}  // namespace lineage
