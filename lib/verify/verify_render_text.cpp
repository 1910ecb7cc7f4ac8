// verify's text output: one block per journal, then the anchors and the
// result line.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "escape.h"
#include "saturate.h"
#include "timeexpr.h"
#include "verify_render.h"

namespace lineage {

namespace {

std::string term(std::string_view s) {
    return escape_for_terminal(s);
}

std::string wall(int64_t ns) {
    return format_rfc3339_ns(ns);
}

std::string duration_words(int64_t ns) {
    if (ns < 0) return "overlaps (" + format_duration_short(ns) + ")";
    std::string s = format_duration_short(ns);
    return s.substr(1);  // no '+'
}

// `rows` > 1: the finding stands for that many consecutive rowids.
std::string finding_line(const Finding& f, int64_t rows = 1) {
    std::string where;
    if (f.batch != 0) where = fmt::format("batch {}", f.batch);
    if (!f.table.empty() && f.table != "batches") {
        if (!where.empty()) where += ", ";
        where += f.table;
        if (f.rowid && rows > 1) {
            where +=
                fmt::format(" rowids {}-{}{}", *f.rowid, *f.rowid + rows - 1, f.rowid_inferred ? " (inferred)" : "");
        } else if (f.rowid) {
            where += fmt::format(" rowid {}{}", *f.rowid, f.rowid_inferred ? " (inferred)" : "");
        }
    }
    std::string kind = finding_kind_name(f.kind);
    std::replace(kind.begin(), kind.end(), '_', ' ');
    return where.empty() ? fmt::format("{}: {}", kind, term(f.detail))
                         : fmt::format("{}: {}: {}", where, kind, term(f.detail));
}

std::string anchor_label(const Anchor& a) {
    std::string s = "hash=" + to_hex(a.hash);
    if (a.batch) s = fmt::format("batch={} {}", *a.batch, s);
    if (!a.node.empty()) s = fmt::format("node={} {}", term(a.node), s);
    return s;
}

}  // namespace

std::string anchor_text(const AnchorResult& r) {
    switch (r.status) {
        case AnchorStatus::found:
            return fmt::format("anchor found: {} at batch {} of {}{}", anchor_label(r.anchor), r.batch, term(r.journal),
                               r.batch_verified ? "" : " (but that batch does not verify: see above)");
        case AnchorStatus::beyond_end:
            return fmt::format(
                "anchor not in chain: {}: {} ends at batch {}: truncated after batch {} (the batches after it, "
                "which existed when the anchor was taken, are missing)",
                anchor_label(r.anchor), term(r.journal), r.journal_last_batch, r.journal_last_batch);
        case AnchorStatus::mismatch:
            return fmt::format(
                "anchor not in chain: {}: batch {} of {} has another hash: the chain was rewritten up to there",
                anchor_label(r.anchor), r.batch, term(r.journal));
        case AnchorStatus::not_in_chain:
            return fmt::format("anchor not in chain: {}: no batch of {} has this hash{}", anchor_label(r.anchor),
                               r.anchor.batch ? "the journal" : "any journal",
                               r.anchor.batch ? ""
                                              : " (give the whole anchor line, with batch=N, to check an anchor "
                                                "of a pruned journal)");
        case AnchorStatus::pruned:
            return r.batch_verified
                       ? fmt::format(
                             "anchor pruned: {}: batch {} of {} was deleted by retention; its hash is the one "
                             "the prune recorded",
                             anchor_label(r.anchor), r.batch, term(r.journal))
                       : fmt::format("anchor pruned: {}: batch {} of {} was deleted by retention; it cannot be checked",
                                     anchor_label(r.anchor), r.batch, term(r.journal));
    }
    return "";
}

std::string journal_end_text(const JournalVerdict& v) {
    if (v.batches == 0) return "holds no batches";
    const RunSummary* last = v.last_run();
    if (v.truncated) return fmt::format("truncated after batch {}", v.truncated_after);
    if (!last) return fmt::format("ends at batch {}", v.last_batch);
    if (last->clean()) {
        return fmt::format("ends at batch {} (run {} stopped cleanly: {})", v.last_batch, last->run_id,
                           term(last->stop_reason));
    }
    return fmt::format("ends at batch {} (run {} was not stopped cleanly)", v.last_batch, last->run_id);
}

std::string VerifyTextRenderer::render(const VerifyReport& report) const {
    std::string out;
    for (const auto& v : report.journals) {
        std::string status = v.status();
        out += fmt::format(
            "{}: {}\n", term(v.path), status == "whole" ? status : [&] {
                std::string up = status;
                for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                return up;
            }());
        if (!v.opened) {
            for (const auto& f : v.findings) out += fmt::format("  {}\n", finding_line(f));
            continue;
        }
        if (v.read_from_copy) out += "  read with its -wal file, from a private copy\n";
        out += fmt::format("  schema: application_id 0x{:08X}, version {}\n", static_cast<uint32_t>(v.application_id),
                           v.user_version);
        if (v.integrity.empty()) {
            out += "  integrity: ok\n";
        } else {
            out += fmt::format("  integrity: {} problem(s)\n", v.integrity.size());
            for (const auto& line : v.integrity) out += fmt::format("    {}\n", term(line));
        }
        size_t verified = std::count_if(v.links.begin(), v.links.end(), [](const BatchLink& l) { return l.verified; });
        if (v.batches == 0) {
            out += "  chain: no batches\n";
        } else {
            out += fmt::format("  chain: {} batches ({}-{}), {} rows; {} of {} links verify\n", v.batches,
                               v.first_batch, v.last_batch, v.rows, verified, v.links.size());
            out += fmt::format("  head: batch {} hash {}\n", v.links.back().batch_id, to_hex(v.links.back().hash));
        }
        if (v.pruned) {
            const PruneSummary& p = *v.pruned;
            out += fmt::format(
                "  pruned: batches 1-{} (committed up to {}) deleted by retention ({}), {} event rows in {} prune(s); "
                "the chain verifies from batch {}\n",
                p.through_batch, wall(p.through_wall_ns), term(p.reason), p.rows, p.prunes,
                sat_add(p.through_batch, 1));
        }
        if (!v.findings.empty()) {
            out += fmt::format("  findings: {}\n", v.findings.size() + v.findings_omitted);
            // Consecutive rows with the same finding share a line.
            for (size_t i = 0; i < v.findings.size();) {
                const Finding& f = v.findings[i];
                size_t n = 1;
                while (f.rowid && i + n < v.findings.size()) {
                    const Finding& g = v.findings[i + n];
                    if (g.kind != f.kind || g.batch != f.batch || g.table != f.table || g.detail != f.detail ||
                        g.rowid_inferred != f.rowid_inferred || g.rowid != *f.rowid + static_cast<int64_t>(n)) {
                        break;
                    }
                    ++n;
                }
                out += fmt::format("    {}\n", finding_line(f, static_cast<int64_t>(n)));
                i += n;
            }
            if (v.findings_omitted) out += fmt::format("    ... and {} more\n", v.findings_omitted);
        }
        const auto imported =
            std::count_if(v.runs.begin(), v.runs.end(), [](const RunSummary& r) { return r.imported.has_value(); });
        if (imported) {
            // The chain of an imported run is the importer's: it proves the
            // journal unchanged since the import, not what a kernel reported.
            out += fmt::format(
                "  imported: {} of {} runs were built by lineage import from another record, not recorded by "
                "lineage from the kernel; the chain proves them unchanged since the import\n",
                imported, v.runs.size());
        }
        out += fmt::format("  runs: {}\n", v.runs.size());
        for (size_t i = 0; i < v.runs.size(); ++i) {
            const RunSummary& r = v.runs[i];
            std::string end = r.clean() ? fmt::format("stopped {} ({})", wall(*r.stopped_wall_ns), term(r.stop_reason))
                              : r.last_commit_wall_ns
                                  ? fmt::format("not stopped cleanly, last batch {}", wall(*r.last_commit_wall_ns))
                                  : std::string("not stopped cleanly");
            const std::string batches = r.first_batch ? fmt::format("batches {}-{}", r.first_batch, r.last_batch)
                                                      : std::string(v.pruned ? "all its batches pruned" : "no batches");
            out += fmt::format("    run {}: node {} boot {}: started {}, {}; {}\n", r.run_id, term(r.node),
                               term(r.boot_id), wall(r.started_wall_ns), end, batches);
            if (r.imported) {
                const ImportProvenance& p = *r.imported;
                out += fmt::format("      imported from {} ({}, sha256 {}) by {}{}\n", term(p.file), term(p.format),
                                   term(p.sha256), term(p.importer), p.note.empty() ? "" : "; " + term(p.note));
            }
            if (r.events) out += fmt::format("      {} events stored, {} lost\n", *r.events, r.lost.value_or(0));
            if (i < v.gaps.size()) {
                const RunGap& g = v.gaps[i];
                out += fmt::format("    gap: {} not recorded between run {} and run {} ({} to {}){}\n",
                                   duration_words(g.to_wall_ns - g.from_wall_ns), g.after_run, g.before_run,
                                   wall(g.from_wall_ns), wall(g.to_wall_ns), g.reboot ? ", across a reboot" : "");
            }
        }
        int64_t lost = 0;
        for (const auto& l : v.losses) lost += l.count;
        out += fmt::format("  loss records: {} ({} events)\n", v.losses.size(), lost);
        for (const auto& l : v.losses) {
            out += fmt::format("    {} events {}: {} to {} (batch {})\n", l.count, term(l.reason), wall(l.from_wall_ns),
                               wall(l.to_wall_ns), l.batch);
        }
        out += fmt::format("  {}\n", journal_end_text(v));
    }
    for (const auto& a : report.anchors) out += anchor_text(a) + "\n";
    out += report.whole() ? "result: whole\n" : "result: NOT whole\n";
    return out;
}

}  // namespace lineage
