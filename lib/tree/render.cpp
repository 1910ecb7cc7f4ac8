#include "render.h"

#include <string.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "saturate.h"
#include "timeexpr.h"

namespace lineage {

std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev) return std::string("SIG") + abbrev;
    return fmt::format("signal {}", sig);
}

namespace {

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string address_with_port(const std::string& addr, uint16_t port, int family) {
    return family == 6 ? fmt::format("[{}]:{}", addr, port) : fmt::format("{}:{}", addr, port);
}

// ---------------------------------------------------------------- text

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
            for (const auto& t : report.trees) base_ns_ = std::min(base_ns_, process_start_wall(model, *t.root.process));
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
            std::string container = pod.container_id.empty() ? std::string() : ", container " + pod.container_id.substr(0, 12);
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
        if (p.execs.empty()) {
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
                status = paint("31", "killed by " + signal_name(p.exit->signal) +
                                         (p.exit->core_dumped ? " (core dumped)" : ""));
            } else {
                status = p.exit->code ? paint("31", fmt::format("exit {}", p.exit->code)) : "exit 0";
            }
        } else {
            status = "running at journal end";
        }
        std::string line = fmt::format("{}  ({})  {}  {}", chain, pid, when(process_start_wall(model_, p)), status);
        if (!node.in_window) line += paint("2", "  [outside window]");
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

// ---------------------------------------------------------------- JSON

using nlohmann::json;

// A JSON string from attacker bytes: always valid UTF-8 (invalid bytes
// become U+FFFD; the exec's raw bytes are kept in base64 alongside).
json str(const std::string& bytes, bool* lossy = nullptr) {
    bool replaced = false;
    std::string clean = utf8_sanitize(bytes, &replaced);
    if (lossy && replaced) *lossy = true;
    return clean;
}

json time_json(const Model& model, const std::string& boot, int64_t ns) {
    return format_rfc3339_ns(model.to_wall(boot, ns));
}

json exec_json(const Model& model, const Process& p, const ExecImage& img) {
    bool lossy = false;
    json args = json::array();
    for (const auto& a : img.args) args.push_back(str(a, &lossy));
    json e = {
        {"time", img.from_snapshot ? json(nullptr) : time_json(model, p.key.boot_id, img.time_ns)},
        {"from_snapshot", img.from_snapshot},
        {"binary", str(img.binary, &lossy)},
        {"args", args},
        {"uid", img.uid},
        {"gid", img.gid},
        {"euid", img.euid},
        {"args_truncated", img.args_truncated},
        {"binary_truncated", img.binary_truncated},
    };
    if (lossy) {
        json raw_args = json::array();
        for (const auto& a : img.args) raw_args.push_back(base64_encode(a));
        e["raw_b64"] = {{"binary", base64_encode(img.binary)}, {"args", raw_args}};
    }
    return e;
}

json node_json(const Model& model, const TreeNode& node) {
    const Process& p = *node.process;
    json execs = json::array();
    for (const auto& img : p.execs) execs.push_back(exec_json(model, p, img));
    json connects = json::array();
    for (const auto& c : p.connects) {
        connects.push_back({
            {"time", time_json(model, p.key.boot_id, c.time_ns)},
            {"protocol", "tcp"},
            {"family", c.family == 6 ? "ipv6" : "ipv4"},
            {"saddr", c.saddr},
            {"sport", c.sport},
            {"daddr", c.daddr},
            {"dport", c.dport},
            {"result", c.established ? "established" : "failed"},
        });
    }
    json exit = nullptr;
    if (p.exit) {
        exit = {{"time", time_json(model, p.key.boot_id, p.exit->time_ns)},
                {"code", p.exit->code},
                {"signal", p.exit->signal},
                {"signal_name", p.exit->signal ? json(signal_name(p.exit->signal)) : json(nullptr)},
                {"core_dumped", p.exit->core_dumped}};
    }
    json pod = nullptr;
    if (node.pod) {
        pod = {{"name", str(node.pod->name)},
               {"namespace", str(node.pod->namespace_)},
               {"uid", node.pod->uid},
               {"container_id", node.pod->container_id}};
    }
    json children = json::array();
    for (const auto& c : node.children) children.push_back(node_json(model, c));
    const ExecImage* last = p.execs.empty() ? nullptr : &p.execs.back();
    json last_args = json::array();
    if (last)
        for (const auto& a : last->args) last_args.push_back(str(a));
    return {
        {"key", p.key.str()},
        {"pid", p.tgid},
        {"nspid", p.nspid},
        {"ppid", p.ppid},
        {"parent_key", p.parent ? json(p.parent->str()) : json(nullptr)},
        {"parent_source", parent_source_name(p.parent_source)},
        {"start_time", format_rfc3339_ns(process_start_wall(model, p))},
        {"start_precise", p.start_precise},
        {"comm", str(p.comm)},
        {"binary", last ? str(last->binary) : json(nullptr)},
        {"args", last ? last_args : json(nullptr)},
        {"execs", execs},
        {"exit", exit},
        {"connects", connects},
        {"pod", pod},
        {"in_window", node.in_window},
        {"matched", node.matched},
        {"children", children},
    };
}

}  // namespace

std::string TextRenderer::render(const Model& model, const Report& report) const {
    return TextWriter(model, report, options_).run();
}

std::string JsonRenderer::render(const Model& model, const Report& report) const {
    json trees = json::array();
    for (const auto& t : report.trees) {
        json root = node_json(model, t.root);
        if (t.outside_parent) {
            root["outside_parent"] = {{"pid", t.outside_parent->pid},
                                      {"comm", str(t.outside_parent->comm)},
                                      {"key", t.outside_parent->key ? json(t.outside_parent->key->str()) : json(nullptr)},
                                      {"why", outside_reason_name(t.outside_parent->why)}};
        } else {
            root["outside_parent"] = nullptr;
        }
        trees.push_back(std::move(root));
    }
    json warnings = json::array();
    for (const auto& w : report.warnings) {
        warnings.push_back({{"kind", warning_kind_name(w.kind)},
                            {"message", str(w.message)},
                            {"from", w.from_wall_ns ? json(format_rfc3339_ns(*w.from_wall_ns)) : json(nullptr)},
                            {"to", w.to_wall_ns ? json(format_rfc3339_ns(*w.to_wall_ns)) : json(nullptr)}});
    }
    json nodes = json::array(), paths = json::array();
    for (const auto& n : report.journal.nodes) nodes.push_back(str(n));
    for (const auto& p : report.journal.paths) paths.push_back(str(p));
    json doc = {
        {"format_version", kJsonFormatVersion},
        {"journal", {{"paths", paths}, {"nodes", nodes}, {"boot_ids", report.journal.boot_ids}}},
        {"window",
         {{"since", report.since_wall_ns ? json(format_rfc3339_ns(*report.since_wall_ns)) : json(nullptr)},
          {"until", report.until_wall_ns ? json(format_rfc3339_ns(*report.until_wall_ns)) : json(nullptr)}}},
        {"matched", report.matched},
        {"warnings", warnings},
        {"trees", trees},
    };
    // Every string was sanitized above; replace is a last line of defence.
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_warnings_for_stderr(const Report& report) {
    std::string out;
    for (const auto& w : report.warnings) out += "lineage: warning: " + escape_for_terminal(w.message) + "\n";
    return out;
}

}  // namespace lineage
