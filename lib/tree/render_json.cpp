// The JSON document a runbook script parses (schema/reconstruct.schema.json).
// Every string is valid UTF-8: bytes that are not become U+FFFD, and an
// exec's raw bytes are kept in base64 beside it.
#include "render.h"

#include <nlohmann/json.hpp>

#include "escape.h"
#include "fold.h"
#include "render_common.h"
#include "timeexpr.h"

namespace lineage {

using nlohmann::json;

namespace {

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

// --new: true, false, or null when the journals cannot tell.
json newness_json(Newness n) {
    if (n == Newness::not_compared) return nullptr;
    return n == Newness::first;
}

json credentials_json(const Credentials& c) {
    return {{"uid", c.uid},
            {"gid", c.gid},
            {"euid", c.euid},
            {"egid", c.egid},
            {"cap_permitted", c.cap_permitted},
            {"cap_effective", c.cap_effective}};
}

// The executed file (schema version 8): its path, identity, flags and hash.
json file_json(const ExecImage& img, bool* lossy) {
    const ExecFile& f = *img.file;
    json upper = nullptr;
    if (f.flags & kFileUpperKnown) upper = (f.flags & kFileUpper) != 0;
    const bool hashed = img.hash && !img.hash->sha256.empty();
    return {
        {"path", str(f.path, lossy)},
        {"path_truncated", (f.flags & kFilePathTruncated) != 0},
        {"dev", f.dev},
        {"inode", f.ino},
        {"links", f.nlink},
        {"size", f.size},
        {"mode", f.mode},
        {"mtime", format_rfc3339_ns(f.mtime_ns)},
        {"memfd", (f.flags & kFileMemfd) != 0},
        {"deleted", (f.flags & kFileDeleted) != 0},
        {"upper_layer", std::move(upper)},
        {"overlay", (f.flags & kFileOverlay) != 0},
        {"setuid", (f.mode & 04000) != 0},
        {"setgid", (f.mode & 02000) != 0},
        {"secure_exec", (f.flags & kFileSecureExec) != 0},
        {"sha256", hashed ? json(str(img.hash->sha256)) : json(nullptr)},
        {"sha256_problem", img.hash && !hashed ? str(img.hash->problem) : json(nullptr)},
    };
}

json exec_json(const Model& model, const Process& p, const ExecImage& img) {
    bool lossy = false;
    json args = json::array();
    for (const auto& a : img.args) args.push_back(str(a, &lossy));
    json e = {
        {"time", img.from_snapshot ? json(nullptr) : time_json(model, p.key.boot_id, img.time_ns)},
        {"from_snapshot", img.from_snapshot},
        {"binary", str(img.binary, &lossy)},
        {"args", std::move(args)},
        {"uid", img.uid},
        {"gid", img.gid},
        {"euid", img.euid},
        {"args_truncated", img.args_truncated},
        {"binary_truncated", img.binary_truncated},
    };
    // Only for an exec whose file the journal has (schema version 8), so
    // that an older journal's document reads as before.
    bool file_lossy = false;
    if (img.file) {
        const ExecFile& f = *img.file;
        e["file"] = file_json(img, &file_lossy);
        const bool script = (f.flags & kFileScript) != 0;
        e["script"] = script;
        e["interpreter"] = script ? str(f.interpreter, &file_lossy) : json(nullptr);
        if (privileges_changed(f))
            e["privileges"] = {{"before", credentials_json(f.before)}, {"after", credentials_json(f.after)}};
    }
    if (lossy || file_lossy) {
        json raw_args = json::array();
        for (const auto& a : img.args) raw_args.push_back(base64_encode(a));
        e["raw_b64"] = {{"binary", base64_encode(img.binary)}, {"args", std::move(raw_args)}};
        if (file_lossy) {
            e["raw_b64"]["file_path"] = base64_encode(img.file->path);
            e["raw_b64"]["interpreter"] = base64_encode(img.file->interpreter);
        }
    }
    return e;
}

// One node's fields, with "children" empty: the writer below puts the
// children in, one at a time.
json node_json(const Model& model, const TreeNode& node, bool with_new) {
    const Process& p = *node.process;
    json execs = json::array();
    for (size_t i = 0; i < p.execs.size(); ++i) {
        execs.push_back(exec_json(model, p, p.execs[i]));
        if (i < node.new_images.size()) execs.back()["new"] = newness_json(node.new_images[i]);
    }
    json connects = json::array();
    for (size_t k = 0; k < p.connects.size(); ++k) {
        const ConnectInfo& c = p.connects[k];
        connects.push_back({
            {"time", time_json(model, p.key.boot_id, c.time_ns)},
            {"protocol", "tcp"},
            {"family", c.family == 6 ? "ipv6" : "ipv4"},
            {"saddr", c.saddr},
            {"sport", c.sport},
            {"daddr", c.daddr},
            {"dport", c.dport},
            {"result", !c.outcome_known ? "unknown"
                       : c.established  ? "established"
                                        : "failed"},
        });
        if (k < node.new_connects.size()) connects.back()["new"] = newness_json(node.new_connects[k]);
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
               {"container_id", node.pod->container_id},
               {"container_name", str(node.pod->container_name)},
               {"image", str(node.pod->image)},
               {"name_source", pod_name_source_label(node.pod->name_source)},
               // How it came to be in the pod; null when only the
               // recorder's restatement says it was (the row that said how
               // was pruned).
               {"entered", node.entered == PodEntryKind::alive ? json(nullptr) : json(pod_entry_name(node.entered))},
               {"entered_time", time_json(model, p.key.boot_id, node.entered_ns)},
               {"container_init", node.container_init}};
    }
    const ExecImage* last = p.execs.empty() ? nullptr : &p.execs.back();
    json last_args = json::array();
    if (last)
        for (const auto& a : last->args) last_args.push_back(str(a));
    json out = {
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
        {"fork_of", node.fork_of.empty() ? json(nullptr) : str(node.fork_of)},
        {"args", last ? std::move(last_args) : json(nullptr)},
        {"execs", std::move(execs)},
        {"exit", std::move(exit)},
        {"connects", std::move(connects)},
        {"pod", std::move(pod)},
        {"in_window", node.in_window},
        {"matched", node.matched},
        {"children", json::array()},
    };
    // Only when true, so that a journal without carried rows reads as before.
    if (p.carried_forward) out["carried_forward"] = true;
    // Only when there are any, for the same reason (listens came with
    // schema version 8).
    if (!p.listens.empty()) {
        json listens = json::array();
        for (const ListenInfo& l : p.listens) {
            listens.push_back({{"time", time_json(model, p.key.boot_id, l.time_ns)},
                               {"protocol", "tcp"},
                               {"family", l.family == 6 ? "ipv6" : "ipv4"},
                               {"addr", str(l.addr)},
                               {"port", l.port}});
        }
        out["listens"] = std::move(listens);
    }
    // With --new only, so that the document is as before without it.
    if (with_new) out["new"] = node.is_new();
    return out;
}

// Writes the document text piece by piece, so that neither the document
// nor any walk of it is ever as deep as the tree.
//
// Two limits keep the output linear in the number of processes and loadable
// by parsers that recurse (Python's json stops near 1,000 levels):
//   - a tree entry nests at most kJsonTreeDepth generations; the children of
//     its deepest nodes are written as tree entries of their own, right after
//     it, with continues_from (the parent's key) and depth, and the parent
//     says how many with children_continued;
//   - a node kJsonIndentDepth generations or more below its tree's root is
//     written on one line, unindented, so that the indentation stops
//     growing there (the entries continuing a tree are all such nodes).
// Ordinary trees come out exactly as nlohmann::json::dump(2) writes them.
class JsonWriter {
public:
    JsonWriter(const Model& model, std::string& out, const OutputSink& sink, bool with_new)
        : model_(model), out_(out), sink_(sink), with_new_(with_new) {}

    // All trees of the report as the elements of the "trees" array, which
    // starts at indentation 2. False when the sink refused a piece.
    bool trees(const std::vector<Tree>& trees) {
        bool first = true;
        for (const auto& tree : trees) {
            repeats_ = sibling_repeats(tree);
            std::vector<uint32_t> pending{0};  // entry roots still to write, the next one last
            while (!pending.empty()) {
                uint32_t root = pending.back();
                pending.pop_back();
                out_ += first ? "\n" : ",\n";
                first = false;
                std::vector<uint32_t> cuts;
                if (!entry(tree, root, cuts)) return false;
                pending.insert(pending.end(), cuts.rbegin(), cuts.rend());
            }
        }
        if (!first) out_ += "\n  ";
        return true;
    }

    // Hands what is written so far to the sink.
    bool flush() {
        if (out_.empty()) return true;
        bool ok = sink_(out_);
        out_.clear();
        return ok;
    }

private:
    static constexpr uint32_t kJsonIndentDepth = 16;
    static constexpr size_t kEntryIndent = 4;  // a tree entry in "trees"

    // One tree entry from node `root`; `cuts` gets the nodes below its depth
    // limit, each the root of an entry still to write, in document order.
    bool entry(const Tree& tree, uint32_t root, std::vector<uint32_t>& cuts) {
        struct Open {
            uint32_t node;
            uint32_t level;     // generations below the entry's root
            size_t next_child;  // children written so far
            std::string after;  // the node's text after its children
        };
        std::vector<Open> stack;
        // Writes node i up to its children; pushes it when they follow.
        auto open = [&](uint32_t i, uint32_t level) {
            const TreeNode& node = tree.nodes[i];
            json j = node_json(model_, node, with_new_);
            // Younger siblings of its shape (fold.h): how a script folds as
            // the text tree does.
            j["repeats"] = repeats_[i];
            const bool cut = level + 1 >= kJsonTreeDepth && !node.children.empty();
            if (cut) {
                j["children_continued"] = node.children.size();
                cuts.insert(cuts.end(), node.children.begin(), node.children.end());
            }
            if (i == root) root_fields(tree, root, j);
            const bool nested = !cut && !node.children.empty();
            // By the depth in the whole tree, so that the entries continuing
            // a deep tree are compact from their root on.
            const bool pretty = node.depth < kJsonIndentDepth;
            const size_t indent = kEntryIndent + 4 * level;
            std::string text = pretty ? indented(j.dump(2, ' ', false, json::error_handler_t::replace), indent)
                                      : j.dump(-1, ' ', false, json::error_handler_t::replace);
            if (pretty) out_.append(indent, ' ');
            if (!nested) {
                out_ += text;
                return;
            }
            const std::string empty =
                pretty ? "\n" + std::string(indent + 2, ' ') + "\"children\": []" : std::string("\"children\":[]");
            const size_t at = text.find(empty);
            const size_t split = at + empty.size() - 1;  // after the '['
            out_.append(text, 0, split);
            std::string after = (pretty ? "\n" + std::string(indent + 2, ' ') : "\n") + text.substr(split);
            stack.push_back(Open{i, level, 0, std::move(after)});
        };
        open(root, 0);
        while (!stack.empty()) {
            if (out_.size() >= kRenderChunkBytes && !flush()) return false;
            Open& top = stack.back();
            const auto& children = tree.nodes[top.node].children;
            if (top.next_child == children.size()) {
                out_ += top.after;
                stack.pop_back();
                continue;
            }
            out_ += top.next_child++ ? ",\n" : "\n";
            open(children[top.next_child - 1], top.level + 1);
        }
        return true;
    }

    // What only an entry's root carries: its parent outside the tree, or
    // where a continued entry hangs.
    void root_fields(const Tree& tree, uint32_t root, json& j) const {
        if (root != 0) {
            const TreeNode& node = tree.nodes[root];
            j["outside_parent"] = nullptr;
            j["continues_from"] = node.process->parent ? json(node.process->parent->str()) : json(nullptr);
            j["depth"] = node.depth;
            return;
        }
        if (tree.outside_parent) {
            const auto& op = *tree.outside_parent;
            j["outside_parent"] = {{"pid", op.pid},
                                   {"comm", str(op.comm)},
                                   {"key", op.key ? json(op.key->str()) : json(nullptr)},
                                   {"why", outside_reason_name(op.why)}};
        } else {
            j["outside_parent"] = nullptr;
        }
    }

    // dump(2) output moved right by `indent` spaces, first line excepted.
    // JSON strings hold no raw newline, so every newline starts a line.
    static std::string indented(const std::string& text, size_t indent) {
        std::string out;
        out.reserve(text.size() + text.size() / 8);
        for (char c : text) {
            out += c;
            if (c == '\n') out.append(indent, ' ');
        }
        return out;
    }

    const Model& model_;
    std::string& out_;
    const OutputSink& sink_;
    std::vector<uint32_t> repeats_;  // the current tree's, by node index
    bool with_new_;                  // --new: every node says whether it is
};

}  // namespace

bool JsonRenderer::render_to(const Model& model, const Report& report, const OutputSink& sink) const {
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
    json imported = json::array();
    for (const auto& r : report.journal.imported) {
        const ImportProvenance& p = r.provenance;
        imported.push_back({{"path", str(r.journal)},
                            {"run", r.run_id},
                            {"format", str(p.format)},
                            {"file", str(p.file)},
                            {"sha256", str(p.sha256)},
                            {"importer", str(p.importer)},
                            {"source", str(p.source)},
                            {"note", str(p.note)}});
    }
    json doc = {
        {"format_version", kJsonFormatVersion},
        {"journal",
         {{"paths", paths}, {"nodes", nodes}, {"boot_ids", report.journal.boot_ids}, {"imported", imported}}},
        {"window",
         {{"since", report.since_wall_ns ? json(format_rfc3339_ns(*report.since_wall_ns)) : json(nullptr)},
          {"until", report.until_wall_ns ? json(format_rfc3339_ns(*report.until_wall_ns)) : json(nullptr)}}},
        {"matched", report.matched},
        {"warnings", warnings},
        {"trees", json::array()},
    };
    if (report.new_since) {
        doc["new_since"] = {{"time", format_rfc3339_ns(report.new_since->since_wall_ns)},
                            {"pruned", report.new_since->pruned},
                            {"imported", report.new_since->imported}};
    }
    // Every string was sanitized above; replace is a last line of defence.
    const std::string head = doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    // The trees go where the empty array is: after its '['.
    const std::string empty = "\n  \"trees\": []";
    const size_t split = head.find(empty) + empty.size() - 1;
    std::string out(head, 0, split);
    JsonWriter writer(model, out, sink, report.new_since.has_value());
    if (!writer.trees(report.trees)) return false;
    out.append(head, split);
    return writer.flush();
}

}  // namespace lineage
