// The JSON document a runbook script parses (schema/reconstruct.schema.json).
// Every string is valid UTF-8: bytes that are not become U+FFFD, and an
// exec's raw bytes are kept in base64 beside it.
#include "render.h"

#include <nlohmann/json.hpp>

#include "escape.h"
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
               {"container_id", node.pod->container_id},
               // How it came to be in the pod; null when only the
               // recorder's restatement says it was (the row that said how
               // was pruned).
               {"entered",
                node.pod->entered == PodEntryKind::alive ? json(nullptr) : json(pod_entry_name(node.pod->entered))},
               {"entered_time", time_json(model, p.key.boot_id, node.pod->entered_ns)},
               {"container_init", node.container_init}};
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
        {"fork_of", node.fork_of.empty() ? json(nullptr) : str(node.fork_of)},
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

std::string JsonRenderer::render(const Model& model, const Report& report) const {
    json trees = json::array();
    for (const auto& t : report.trees) {
        json root = node_json(model, t.root);
        if (t.outside_parent) {
            root["outside_parent"] = {
                {"pid", t.outside_parent->pid},
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

}  // namespace lineage
