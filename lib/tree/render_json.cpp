// The JSON document a runbook script parses (schema/reconstruct.schema.json).
// Every string is valid UTF-8: bytes that are not become U+FFFD, and an
// exec's raw bytes are kept in base64 beside it.
#include "render.h"

#include <optional>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dns.h"
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

// JSON text written as nlohmann::json::dump(2) (pretty) or dump() (compact)
// writes it, without building a json value first: reconstruct writes a node
// per process, and a value per field cost more than all else of a large
// answer. Callers give an object's keys in byte order, the order nlohmann's
// objects keep, so the document is the one a json value would dump (the
// unit tests parse it and dump it again to check). Every string is made
// valid UTF-8 first: invalid bytes become U+FFFD.
class JsonText {
public:
    // Lines of a pretty document start `indent` spaces further right.
    JsonText(std::string& out, bool pretty, size_t indent) : out_(&out), pretty_(pretty), indent_(indent) {}

    void redirect(std::string& out) { out_ = &out; }

    JsonText& key(std::string_view k) {
        separator();
        *out_ += '"';
        out_->append(k);
        out_->append(pretty_ ? "\": " : "\":");
        return *this;
    }
    // The next element of the array open now.
    JsonText& element() {
        separator();
        return *this;
    }
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    void str(std::string_view text) {
        if (is_valid_utf8(text)) {
            escaped(text);
        } else {
            escaped(utf8_sanitize(text));
        }
    }
    void str_or_null(bool has, std::string_view text) { has ? str(text) : null(); }
    template <typename T>
    void num(T v) {
        static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
        const fmt::format_int f(v);
        out_->append(f.data(), f.size());
    }
    void boolean(bool v) { out_->append(v ? "true" : "false"); }
    void null() { out_->append("null"); }
    void time(const Model& model, const std::string& boot, int64_t ns) {
        str(format_rfc3339_ns(model.to_wall(boot, ns)));
    }
    // --new: true, false, or null when the journals cannot tell.
    void newness(Newness n) {
        if (n == Newness::not_compared) return null();
        boolean(n == Newness::first);
    }

    // The array open now has elements, written elsewhere.
    void filled() { open_.back() = true; }

private:
    void separator() {
        if (open_.back()) *out_ += ',';
        open_.back() = true;
        if (pretty_) newline(open_.size());
    }
    void newline(size_t level) {
        *out_ += '\n';
        out_->append(indent_ + 2 * level, ' ');
    }
    void open(char c) {
        *out_ += c;
        open_.push_back(false);
    }
    void close(char c) {
        const bool any = open_.back();
        open_.pop_back();
        if (any && pretty_) newline(open_.size());
        *out_ += c;
    }
    // As nlohmann escapes with ensure_ascii off: the two-character escapes
    // it knows, \u00XX for other controls, everything else as it is.
    void escaped(std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        *out_ += '"';
        size_t run = 0;
        for (size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            out_->append(s.data() + run, i - run);
            run = i + 1;
            switch (c) {
                case '"':
                    out_->append("\\\"");
                    break;
                case '\\':
                    out_->append("\\\\");
                    break;
                case '\b':
                    out_->append("\\b");
                    break;
                case '\f':
                    out_->append("\\f");
                    break;
                case '\n':
                    out_->append("\\n");
                    break;
                case '\r':
                    out_->append("\\r");
                    break;
                case '\t':
                    out_->append("\\t");
                    break;
                default: {
                    const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                    out_->append(u, 6);
                }
            }
        }
        out_->append(s.data() + run, s.size() - run);
        *out_ += '"';
    }

    std::string* out_;
    bool pretty_;
    size_t indent_;
    std::vector<bool> open_;
};

void credentials_json(JsonText& w, const Credentials& c) {
    w.begin_object();
    w.key("cap_effective").num(c.cap_effective);
    w.key("cap_permitted").num(c.cap_permitted);
    w.key("egid").num(c.egid);
    w.key("euid").num(c.euid);
    w.key("gid").num(c.gid);
    w.key("uid").num(c.uid);
    w.end_object();
}

// The executed file (schema version 8): its path, identity, flags and hash.
// *lossy: its path was not valid UTF-8.
void file_json(JsonText& w, const ExecImage& img, bool* lossy) {
    const ExecFile& f = *img.file;
    const bool hashed = img.hash && !img.hash->sha256.empty();
    if (!is_valid_utf8(f.path)) *lossy = true;
    w.begin_object();
    w.key("deleted").boolean((f.flags & kFileDeleted) != 0);
    w.key("dev").num(f.dev);
    w.key("inode").num(f.ino);
    w.key("links").num(f.nlink);
    w.key("memfd").boolean((f.flags & kFileMemfd) != 0);
    w.key("mode").num(f.mode);
    w.key("mtime").str(format_rfc3339_ns(f.mtime_ns));
    w.key("overlay").boolean((f.flags & kFileOverlay) != 0);
    w.key("path").str(f.path);
    w.key("path_truncated").boolean((f.flags & kFilePathTruncated) != 0);
    w.key("secure_exec").boolean((f.flags & kFileSecureExec) != 0);
    w.key("setgid").boolean((f.mode & 02000) != 0);
    w.key("setuid").boolean((f.mode & 04000) != 0);
    w.key("sha256").str_or_null(hashed, hashed ? img.hash->sha256 : "");
    w.key("sha256_problem").str_or_null(img.hash && !hashed, img.hash ? img.hash->problem : "");
    w.key("size").num(f.size);
    w.key("upper_layer");
    if (f.flags & kFileUpperKnown) {
        w.boolean((f.flags & kFileUpper) != 0);
    } else {
        w.null();
    }
    w.end_object();
}

void exec_json(JsonText& w, const Model& model, const Process& p, const ExecImage& img, std::optional<Newness> is_new) {
    bool lossy = !is_valid_utf8(img.binary);
    for (const auto& a : img.args) lossy = lossy || !is_valid_utf8(a);
    bool file_lossy = false;
    w.begin_object();
    w.key("args").begin_array();
    for (const auto& a : img.args) w.element().str(a);
    w.end_array();
    w.key("args_truncated").boolean(img.args_truncated);
    w.key("binary").str(img.binary);
    w.key("binary_truncated").boolean(img.binary_truncated);
    w.key("euid").num(img.euid);
    // The file's fields only for an exec whose file the journal has (schema
    // version 8), so that an older journal's document reads as before.
    const ExecFile* f = img.file ? &*img.file : nullptr;
    const bool script = f && (f->flags & kFileScript) != 0;
    if (f) {
        w.key("file");
        file_json(w, img, &file_lossy);
    }
    w.key("from_snapshot").boolean(img.from_snapshot);
    w.key("gid").num(img.gid);
    if (f) {
        if (script && !is_valid_utf8(f->interpreter)) file_lossy = true;
        w.key("interpreter").str_or_null(script, script ? f->interpreter : "");
    }
    if (is_new) w.key("new").newness(*is_new);
    if (f && privileges_changed(*f)) {
        w.key("privileges").begin_object();
        w.key("after");
        credentials_json(w, f->after);
        w.key("before");
        credentials_json(w, f->before);
        w.end_object();
    }
    if (lossy || file_lossy) {
        w.key("raw_b64").begin_object();
        w.key("args").begin_array();
        for (const auto& a : img.args) w.element().str(base64_encode(a));
        w.end_array();
        w.key("binary").str(base64_encode(img.binary));
        if (file_lossy) {
            w.key("file_path").str(base64_encode(f->path));
            w.key("interpreter").str(base64_encode(f->interpreter));
        }
        w.end_object();
    }
    if (f) w.key("script").boolean(script);
    w.key("time");
    if (img.from_snapshot) {
        w.null();
    } else {
        w.time(model, p.key.boot_id, img.time_ns);
    }
    w.key("uid").num(img.uid);
    w.end_object();
}

void connect_json(JsonText& w, const Model& model, const Process& p, const ConnectInfo& c,
                  std::optional<Newness> is_new) {
    w.begin_object();
    w.key("daddr").str(c.daddr);
    w.key("dport").num(c.dport);
    w.key("family").str(c.family == 6 ? "ipv6" : "ipv4");
    // Only when a lookup of the process gave the address (schema version 10).
    if (!c.name.empty()) w.key("name").str(c.name);
    if (is_new) w.key("new").newness(*is_new);
    w.key("protocol").str("tcp");
    w.key("result").str(!c.outcome_known ? "unknown" : c.established ? "established" : "failed");
    w.key("saddr").str(c.saddr);
    w.key("sport").num(c.sport);
    w.key("time").time(model, p.key.boot_id, c.time_ns);
    w.end_object();
}

void exit_json(JsonText& w, const Model& model, const Process& p) {
    if (!p.exit) return w.null();
    const ExitInfo& x = *p.exit;
    w.begin_object();
    w.key("code").num(x.code);
    w.key("core_dumped").boolean(x.core_dumped);
    w.key("signal").num(x.signal);
    w.key("signal_name").str_or_null(x.signal != 0, x.signal ? signal_name(x.signal) : "");
    w.key("time").time(model, p.key.boot_id, x.time_ns);
    w.end_object();
}

void pod_json(JsonText& w, const Model& model, const Process& p, const TreeNode& node) {
    if (!node.pod) return w.null();
    const PodAttribution& pod = *node.pod;
    w.begin_object();
    w.key("container_id").str(pod.container_id);
    w.key("container_init").boolean(node.container_init);
    w.key("container_name").str(pod.container_name);
    // How it came to be in the pod; null when only the recorder's
    // restatement says it was (the row that said how was pruned).
    w.key("entered").str_or_null(node.entered != PodEntryKind::alive, pod_entry_name(node.entered));
    w.key("entered_time").time(model, p.key.boot_id, node.entered_ns);
    w.key("image").str(pod.image);
    w.key("name").str(pod.name);
    w.key("name_source").str(pod_name_source_label(pod.name_source));
    w.key("namespace").str(pod.namespace_);
    w.key("uid").str(pod.uid);
    w.end_object();
}

void dns_json(JsonText& w, const Model& model, const Process& p, const DnsLookup& l) {
    w.begin_object();
    w.key("answered").boolean(l.answered);
    w.key("answers").begin_array();
    for (const std::string& a : l.answers) {
        w.element();
        w.str(a);
    }
    w.end_array();
    if (l.served) {
        w.key("client").str(l.client);
        w.key("client_port").num(l.client_port);
    }
    w.key("name").str_or_null(!l.name.empty(), l.name);
    w.key("rcode").str_or_null(l.answered, dns_rcode_name(l.rcode));
    w.key("served").boolean(l.served);
    w.key("server").str(l.server);
    w.key("server_port").num(l.server_port);
    w.key("time").time(model, p.key.boot_id, l.time_ns);
    w.key("transport").str(l.tcp ? "tcp" : "udp");
    w.key("type").str_or_null(l.has_query || !l.name.empty(), dns_type_name(l.type));
    w.key("unparsed").str_or_null(!l.unparsed.empty(), l.unparsed);
    w.end_object();
}

void listen_json(JsonText& w, const Model& model, const Process& p, const ListenInfo& l) {
    w.begin_object();
    w.key("addr").str(l.addr);
    w.key("family").str(l.family == 6 ? "ipv6" : "ipv4");
    w.key("port").num(l.port);
    w.key("protocol").str("tcp");
    w.key("time").time(model, p.key.boot_id, l.time_ns);
    w.end_object();
}

// What only the root of a tree entry carries.
struct EntryRoot {
    const Tree* tree = nullptr;  // the entry's tree; null for a node that is not an entry's root
    bool continued = false;      // an entry continuing a deep tree
};

// One node, in the document's key order, as the tree writer below needs
// it: the fields up to its "children" array, opened, go to `head`; the
// rest, from the array's end on, to `tail`. A node without children to
// write (none, or continued in entries of their own) is all in `head`,
// with "children": [], and `tail` stays empty.
void node_json(const Model& model, const TreeNode& node, bool with_new, uint32_t repeats,
               std::optional<size_t> children_continued, const EntryRoot& root, bool pretty, size_t indent,
               std::string& head, std::string& tail) {
    const Process& p = *node.process;
    const ExecImage* last = p.execs.empty() ? nullptr : &p.execs.back();
    JsonText w(head, pretty, indent);
    w.begin_object();
    w.key("args");
    if (last) {
        w.begin_array();
        for (const auto& a : last->args) w.element().str(a);
        w.end_array();
    } else {
        w.null();
    }
    w.key("binary").str_or_null(last != nullptr, last ? last->binary : "");
    // Only when true, so that a journal without carried rows reads as before.
    if (p.carried_forward) w.key("carried_forward").boolean(true);
    const bool nested = !children_continued && !node.children.empty();
    w.key("children").begin_array();
    if (nested) {
        // The children go between head and tail: the array is not empty,
        // and it ends on a line of its own.
        w.redirect(tail);
        w.filled();
        if (!pretty) tail += '\n';
    }
    w.end_array();
    if (children_continued) w.key("children_continued").num(*children_continued);
    w.key("comm").str(p.comm);
    w.key("connects").begin_array();
    for (size_t k = 0; k < p.connects.size(); ++k) {
        w.element();
        connect_json(w, model, p, p.connects[k],
                     k < node.new_connects.size() ? std::optional(node.new_connects[k]) : std::nullopt);
    }
    w.end_array();
    if (root.tree && root.continued) {
        w.key("continues_from").str_or_null(p.parent.has_value(), p.parent ? p.parent->str() : "");
        w.key("depth").num(node.depth);
    }
    w.key("execs").begin_array();
    for (size_t i = 0; i < p.execs.size(); ++i) {
        w.element();
        exec_json(w, model, p, p.execs[i],
                  i < node.new_images.size() ? std::optional(node.new_images[i]) : std::nullopt);
    }
    w.end_array();
    // Only when there are any (dns came with schema version 10), so that
    // an older journal's document is as it was.
    if (!p.dns.empty()) {
        w.key("dns").begin_array();
        for (const DnsLookup& l : p.dns) {
            w.element();
            dns_json(w, model, p, l);
        }
        w.end_array();
    }
    w.key("exit");
    exit_json(w, model, p);
    w.key("fork_of").str_or_null(!node.fork_of.empty(), node.fork_of);
    w.key("in_window").boolean(node.in_window);
    w.key("key").str(p.key.str());
    // Only when there are any, for the same reason (listens came with
    // schema version 8).
    if (!p.listens.empty()) {
        w.key("listens").begin_array();
        for (const ListenInfo& l : p.listens) {
            w.element();
            listen_json(w, model, p, l);
        }
        w.end_array();
    }
    w.key("matched").boolean(node.matched);
    // With --new only, so that the document is as before without it.
    if (with_new) w.key("new").boolean(node.is_new());
    w.key("nspid").num(p.nspid);
    if (root.tree) {
        w.key("outside_parent");
        const auto& op = root.tree->outside_parent;
        if (root.continued || !op) {
            w.null();
        } else {
            w.begin_object();
            w.key("comm").str(op->comm);
            w.key("key").str_or_null(op->key.has_value(), op->key ? op->key->str() : "");
            w.key("pid").num(op->pid);
            w.key("why").str(outside_reason_name(op->why));
            w.end_object();
        }
    }
    w.key("parent_key").str_or_null(p.parent.has_value(), p.parent ? p.parent->str() : "");
    w.key("parent_source").str(parent_source_name(p.parent_source));
    w.key("pid").num(p.tgid);
    w.key("pod");
    pod_json(w, model, p, node);
    w.key("ppid").num(p.ppid);
    // Younger siblings of its shape (fold.h): how a script folds as the
    // text tree does.
    w.key("repeats").num(repeats);
    w.key("start_precise").boolean(p.start_precise);
    w.key("start_time").str(format_rfc3339_ns(process_start_wall(model, p)));
    w.end_object();
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
            const bool cut = level + 1 >= kJsonTreeDepth && !node.children.empty();
            if (cut) cuts.insert(cuts.end(), node.children.begin(), node.children.end());
            // By the depth in the whole tree, so that the entries continuing
            // a deep tree are compact from their root on.
            const bool pretty = node.depth < kJsonIndentDepth;
            const size_t indent = kEntryIndent + 4 * level;
            if (pretty) out_.append(indent, ' ');
            std::string after;
            node_json(model_, node, with_new_, repeats_[i], cut ? std::optional(node.children.size()) : std::nullopt,
                      i == root ? EntryRoot{&tree, root != 0} : EntryRoot{}, pretty, indent, out_, after);
            if (!after.empty()) stack.push_back(Open{i, level, 0, std::move(after)});
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
