// The journal's schema against lineage's (check_journal_schema, which its
// reader ran before anything else was read): every object missing, changed
// or added is a schema finding, with the message reconstruct and record
// give for it too.
#include <fmt/format.h>

#include "verifier.h"

namespace lineage::verify_detail {

std::vector<Finding> schema_findings(const SchemaCheck& schema) {
    std::vector<Finding> out;
    auto finding = [&](std::string detail) {
        out.push_back(Finding{FindingKind::schema, 0, "", std::nullopt, false, std::move(detail)});
    };
    for (const SchemaMismatch& m : schema.mismatches) finding(m.message);
    if (schema.omitted > 0) finding(fmt::format("{} more objects are not lineage's", schema.omitted));
    if (!schema.tables_readable()) {
        finding(
            "the hash chain and the rows were not read: a table of the schema is missing, changed or replaced, and "
            "nothing is read through what the journal put in its place");
    }
    return out;
}

void Verifier::check_schema() {
    for (auto& f : schema_findings(schema_)) add(std::move(f));
}

}  // namespace lineage::verify_detail
