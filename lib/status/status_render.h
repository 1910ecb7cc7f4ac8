#pragma once
// `lineage status` as text (one fact per line, "name  value", for people
// and grep) and as JSON (schema/status.schema.json). Paths and whatever a
// heartbeat or journal holds are escaped for the terminal in text, and
// valid UTF-8 in JSON.

#include <string>

#include "status.h"

namespace lineage {

std::string render_status_text(const StatusReport& report);
std::string render_status_json(const StatusReport& report);

// The options as `record` takes them: "2G", "512M", "4K", "1000"; "90d",
// "5m", "100ms", "1500ms". Exact: the largest unit that divides the value.
std::string format_size_option(int64_t bytes);
std::string format_duration_option(int64_t ns);

}  // namespace lineage
