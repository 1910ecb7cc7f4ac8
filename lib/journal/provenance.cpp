#include "provenance.h"

#include <nlohmann/json.hpp>

namespace lineage {

using nlohmann::json;

std::string import_filters_json(const ImportProvenance& p, std::string_view recorded_filters_json) {
    json recorded = json::parse(recorded_filters_json, nullptr, false);
    // Filters that are not JSON (a damaged source) are kept as text.
    if (recorded.is_discarded()) recorded = std::string(recorded_filters_json);
    const json doc = {{"imported",
                       {{"format", p.format},
                        {"file", p.file},
                        {"sha256", p.sha256},
                        {"importer", p.importer},
                        {"source", p.source},
                        {"note", p.note}}},
                      {"recorded_filters", recorded}};
    // A file name need not be UTF-8: replace, as every JSON writer here does.
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<ImportProvenance> import_provenance(std::string_view filters_json) {
    const json doc = json::parse(filters_json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    auto it = doc.find("imported");
    if (it == doc.end() || !it->is_object()) return std::nullopt;
    auto text = [&](const char* key) {
        auto f = it->find(key);
        return f != it->end() && f->is_string() ? f->get<std::string>() : std::string();
    };
    ImportProvenance p;
    p.format = text("format");
    p.file = text("file");
    p.sha256 = text("sha256");
    p.importer = text("importer");
    p.source = text("source");
    p.note = text("note");
    return p;
}

}  // namespace lineage
