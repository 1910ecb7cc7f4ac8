// verify's JSON output: the structure man/lineage-verify.1 (JSON OUTPUT)
// documents and schema/verify.schema.json checks.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "timeexpr.h"
#include "verify_render.h"

namespace lineage {

namespace {

nlohmann::ordered_json imported_json(const RunSummary& r) {
    if (!r.imported) return nullptr;
    const ImportProvenance& p = *r.imported;
    return {{"format", p.format},     {"file", p.file},     {"sha256", p.sha256},
            {"importer", p.importer}, {"source", p.source}, {"note", p.note}};
}

}  // namespace

std::string VerifyJsonRenderer::render(const VerifyReport& report) const {
    // In the order the man page documents, not sorted.
    using json = nlohmann::ordered_json;
    auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
    auto opt_wall = [](const std::optional<int64_t>& v) { return v ? json(format_rfc3339_ns(*v)) : json(nullptr); };
    json doc = json::object();
    doc["format_version"] = 1;
    doc["whole"] = report.whole();
    doc["journals"] = json::array();
    for (const auto& v : report.journals) {
        json j = json::object();
        j["path"] = v.path;
        j["status"] = v.status();
        j["read_from_copy"] = v.read_from_copy;
        j["opened"] = v.opened;
        j["schema"] = {{"application_id", v.application_id}, {"user_version", v.user_version}};
        j["integrity"] = {{"ok", v.integrity.empty() && v.opened}, {"messages", v.integrity}};
        size_t verified = std::count_if(v.links.begin(), v.links.end(), [](const BatchLink& l) { return l.verified; });
        json head = nullptr;
        if (!v.links.empty()) head = {{"batch", v.links.back().batch_id}, {"hash", to_hex(v.links.back().hash)}};
        j["chain"] = {{"batches", v.batches}, {"first_batch", v.first_batch}, {"last_batch", v.last_batch},
                      {"rows", v.rows},       {"verified_links", verified},   {"head", head}};
        json pruned = nullptr;
        if (v.pruned) {
            pruned = {{"through_batch", v.pruned->through_batch},
                      {"through", format_rfc3339_ns(v.pruned->through_wall_ns)},
                      {"through_hash", to_hex(v.pruned->through_hash)},
                      {"prunes", v.pruned->prunes},
                      {"rows", v.pruned->rows},
                      {"reason", v.pruned->reason},
                      {"batch", v.pruned->batch}};
        }
        j["pruned"] = pruned;
        const RunSummary* last = v.last_run();
        j["end"] = {{"batch", v.last_batch},
                    {"run", last ? json(last->run_id) : json(nullptr)},
                    {"clean", last ? last->clean() : false},
                    {"truncated", v.truncated},
                    {"text", journal_end_text(v)}};
        j["imported"] = std::any_of(v.runs.begin(), v.runs.end(), [](const RunSummary& r) { return r.imported; });
        j["runs"] = json::array();
        for (const auto& r : v.runs) {
            j["runs"].push_back({{"run_id", r.run_id},
                                 {"node", r.node},
                                 {"boot_id", r.boot_id},
                                 {"started", format_rfc3339_ns(r.started_wall_ns)},
                                 {"stopped", opt_wall(r.stopped_wall_ns)},
                                 {"clean", r.clean()},
                                 {"stop_reason", r.clean() ? json(r.stop_reason) : json(nullptr)},
                                 {"events", opt(r.events)},
                                 {"lost", opt(r.lost)},
                                 {"first_batch", r.first_batch},
                                 {"last_batch", r.last_batch},
                                 {"batches", r.batches},
                                 {"last_commit", opt_wall(r.last_commit_wall_ns)},
                                 {"imported", imported_json(r)}});
        }
        j["gaps"] = json::array();
        for (const auto& g : v.gaps) {
            j["gaps"].push_back({{"after_run", g.after_run},
                                 {"before_run", g.before_run},
                                 {"from", format_rfc3339_ns(g.from_wall_ns)},
                                 {"to", format_rfc3339_ns(g.to_wall_ns)},
                                 {"seconds", static_cast<double>(g.to_wall_ns - g.from_wall_ns) / 1e9},
                                 {"reboot", g.reboot}});
        }
        int64_t lost = 0;
        json items = json::array();
        for (const auto& l : v.losses) {
            lost += l.count;
            items.push_back({{"batch", l.batch},
                             {"run_id", l.run_id},
                             {"from", format_rfc3339_ns(l.from_wall_ns)},
                             {"to", format_rfc3339_ns(l.to_wall_ns)},
                             {"count", l.count},
                             {"reason", l.reason}});
        }
        j["losses"] = {{"records", v.losses.size()}, {"events", lost}, {"items", items}};
        j["findings"] = json::array();
        for (const auto& f : v.findings) {
            j["findings"].push_back({{"kind", finding_kind_name(f.kind)},
                                     {"batch", f.batch ? json(f.batch) : json(nullptr)},
                                     {"table", f.table.empty() ? json(nullptr) : json(f.table)},
                                     {"rowid", opt(f.rowid)},
                                     {"rowid_inferred", f.rowid_inferred},
                                     {"detail", f.detail}});
        }
        j["findings_omitted"] = v.findings_omitted;
        doc["journals"].push_back(j);
    }
    doc["anchors"] = json::array();
    for (const auto& a : report.anchors) {
        doc["anchors"].push_back({{"input", a.anchor.input},
                                  {"hash", to_hex(a.anchor.hash)},
                                  {"anchor_batch", a.anchor.batch ? json(*a.anchor.batch) : json(nullptr)},
                                  {"status", anchor_status_name(a.status)},
                                  {"journal", a.journal.empty() ? json(nullptr) : json(a.journal)},
                                  {"batch", a.batch ? json(a.batch) : json(nullptr)},
                                  {"batch_verified", a.batch_verified},
                                  {"text", anchor_text(a)}});
    }
    // Strings from the journal are bytes anyone could have written: never
    // let one abort the output.
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lineage
