#pragma once
// What a run that `lineage import` wrote says about its source, in the
// run's `filters` (runs.filters, covered by the hash chain like every row):
// one place that writes it and reads it back, for import, verify and the
// loader alike.

#include <optional>
#include <string>
#include <string_view>

#include "model.h"

namespace lineage {

// runs.filters of an imported run: {"imported": {"format", "file",
// "sha256", "importer", "source", "note"}, "recorded_filters": ...}, where
// recorded_filters is what the source's own recorder said of its filters
// (lineage's own export), else {}.
std::string import_filters_json(const ImportProvenance& p, std::string_view recorded_filters_json = "{}");

// The provenance in a run's filters; nullopt for a run that `record` wrote
// (or filters that are not a JSON object with an "imported" object). The
// strings are raw: renderers escape them.
std::optional<ImportProvenance> import_provenance(std::string_view filters_json);

}  // namespace lineage
