// The journal's tables, indexes and triggers against the schema compiled
// into this build: one missing, changed or added is a schema finding.
#include <fmt/format.h>

#include "integrity.h"
#include "verifier.h"

namespace lineage::verify_detail {

std::vector<Finding> schema_findings(const Result<std::vector<SchemaObject>>& compiled, const SchemaDefs& have,
                                     int64_t user_version) {
    std::vector<Finding> out;
    auto finding = [&](std::string detail) {
        out.push_back(Finding{FindingKind::schema, 0, "", std::nullopt, false, std::move(detail)});
    };
    if (!compiled) {
        finding(fmt::format("the journal's schema cannot be checked: {}", compiled.error().message));
        return out;
    }
    SchemaDefs want;
    for (const SchemaObject& o : *compiled) {
        // A table a later version added, with its indexes, is not in an
        // older journal.
        if (user_version < version_added(o.table)) continue;
        want[o.name] = {o.type, normalized_sql(o.sql)};
    }
    for (const auto& [name, def] : want) {
        auto it = have.find(name);
        if (it == have.end()) {
            finding(fmt::format("{} {} is missing", def.first, name));
        } else if (it->second != def) {
            finding(fmt::format("{} {} differs from the schema", def.first, name));
        }
    }
    for (const auto& [name, def] : have) {
        if (!want.count(name)) finding(fmt::format("{} {} is not part of the schema", def.first, name));
    }
    return out;
}

void Verifier::check_schema() {
    const auto& compiled = journal_schema_objects();
    SchemaDefs have;
    if (compiled) {
        auto stmt = db_.prepare(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
        if (!stmt) {
            read_failed("sqlite_schema");
            return;
        }
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            have[stmt->text(1)] = {stmt->text(0), normalized_sql(stmt->text(2))};
        }
        if (rc != SQLITE_DONE) {
            read_failed("sqlite_schema");
            return;
        }
    }
    for (auto& f : schema_findings(compiled, have, v_.user_version)) add(std::move(f));
}

}  // namespace lineage::verify_detail
