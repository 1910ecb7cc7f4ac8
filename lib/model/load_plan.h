#pragma once
// What a query needs loaded from the journals: the tree stage derives it
// from its Query (load_plan_for), the journal loader follows it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lineage {

// What a query needs from a journal. By default everything is loaded;
// otherwise only the processes that can match are loaded, through the
// indexes, with their ancestors: a query on a year of journal reads what
// its answer needs, not millions of rows. One selector is enough to bound
// the load (build_report applies all of them): the loader starts from the
// most selective it is given, in the order of the fields below. With none
// of them, the window alone bounds the load.
struct LoadPlan {
    bool everything = true;
    std::optional<uint32_t> pid;             // every incarnation of this PID
    std::optional<std::string> pod;          // name, namespace/name or UID
    std::optional<std::string> binary_glob;  // executed path (see binary_matches), and fork-only children
    std::optional<std::string> sha256;       // a file's SHA-256, 64 lower-case hex digits (file_hashes)
    std::optional<std::string> dns_glob;     // a name looked up (dns_name_matches; dns_names, schema version 11)
    std::optional<std::string> namespace_;   // every pod of this Kubernetes namespace
    std::optional<std::string> container;    // every pod with a container of this ID prefix or name
    std::optional<std::string> image;        // every pod with a container whose image matches (image_matches)
    std::optional<uint32_t> descendants_of;  // this PID and all below it
    // The window, wall-clock ns: processes that ended before it or started
    // after it are not loaded (unless they are ancestors).
    std::optional<int64_t> since_wall_ns, until_wall_ns;
    // At most this many processes are loaded (0: no limit): past it the load
    // stops with an Error whose code is kTooManyProcesses, so that memory
    // follows the answer, never the journal.
    size_t max_processes = 0;
    // The model will hold no other journal's runs: each boot's end in this
    // journal (Model::journal_end_ns) is its end in the answer, where a
    // process that never exited is taken to end. The loader then leaves out
    // a boot's processes that end before the window, as build_report would.
    bool sole_journal = false;
    // false: only the processes that can match, not their ancestors, and
    // nothing of their parents (no fork rows: a process's parent, its
    // forker's comm and start are not known; a full load's answer is only
    // kept for what does not need them). For a
    // reader that never places a process under its parent (`lineage pods`
    // counts the processes in each pod during the window, and an ancestor
    // outside the window is not counted): a day's processes come from a
    // few fork chains whose roots each hang on the chain to init, read
    // process by process.
    bool ancestors = true;
    // false: no process at all, only what every load reads (runs, clock
    // samples, losses, prunes, pod names): the journals' span.
    bool processes = true;
    // false: not the files the execs ran (exec_files rows, schema version
    // 8, and their hashes): one look-up a process less, for a reader that
    // shows none of them (`lineage pods`).
    bool executed_files = true;
    // false: execs and snapshot images without their arguments, for a
    // reader that shows none (`lineage pods` counts execs): a day's
    // processes hold some hundred thousand of them.
    bool arguments = true;
    // A targeted load looks each process up table by table: about ten
    // index searches a process. When the journal holds at most this many
    // rows per process the plan found (a pod of 100,000 health checks in a
    // journal of little else), reading its tables whole is quicker, and
    // memory still follows the answer: the journal is at most this many
    // times the answer's rows. 0: never (the tests of the targeted plans).
    size_t whole_rows_per_process = 6;
    // --binary with a window: the exec rows of matching binaries are read
    // over the journal's whole span (a common binary's are hundreds of
    // thousands a year), and the window is applied to each. Past this many,
    // the loader reads the window's processes instead and looks up the
    // images of each, when the window holds few enough (below); the
    // answer is the same. SIZE_MAX: never; 0: at the first row (tests).
    size_t binary_rows_before_window = 5'000;
    // ... when the window holds at most this many processes (each costs a
    // few look-ups there, where a row of the binary costs one). Past it,
    // told by the processes that started in the window alone (schema
    // version 9), the binary's rows are read after all. 0: never walked.
    size_t binary_window_most = 200'000;
    // --dns with a window: past this many names and processes walked in the
    // journal's index of names (dns_names: a common suffix over a year), the
    // window's processes are checked instead, each by its dns rows, when
    // the window holds at most binary_window_most; the answer is the same.
    // SIZE_MAX: never; 0: at the first (tests).
    size_t dns_pairs_before_window = 2'000;
    // Schema version 9: at least this many processes to load that started
    // within a second of each other, among at most cluster_spread times as
    // many processes started then, are read as one range of start times
    // rather than looked up one by one; the answer is the same. 0: never
    // (outside a window's range); 1 with INT64_MAX: every one (tests).
    size_t cluster_seeds = 32;
    int64_t cluster_spread = 8;
};

// Error::code of a load stopped by LoadPlan::max_processes.
inline constexpr int kTooManyProcesses = -23;

// The one rule for a pod selector (--pod, and the loader's look-up of the
// pods it can mean): the pod's UID, its name, or NAMESPACE/NAME.
bool pod_selector_matches(std::string_view selector, std::string_view uid, std::string_view name,
                          std::string_view namespace_);

// How a pod is shown: NAMESPACE/NAME, or NAME when the namespace is not
// known. The selector above accepts exactly what this shows.
std::string pod_display_name(std::string_view name, std::string_view namespace_);

// Glob against a binary path: a pattern with '/' matches the whole path,
// one without matches the base name. The one rule of --binary, for the
// loader's look-up and the tree's selection alike.
bool binary_matches(const std::string& glob, const std::string& binary);

// Glob against a name a process looked up (DNS, presentation form without
// the trailing dot): the whole name, letters in either case ('*' also
// matches '.'). The one rule of --dns.
bool dns_name_matches(const std::string& glob, std::string_view name);

// The journal's dns_names.name_key of a name: ASCII letters in lower case,
// then reversed character by character ("moc.rekcatta.www"), so that the
// fixed end of a glob ("*.attacker.com") is a prefix of the index.
std::string dns_name_key(std::string_view name);
// The name back from its key (in lower case).
std::string dns_name_of_key(std::string_view key);
// The prefix of dns_name_key that every name a --dns glob matches has: its
// characters after the last wildcard ('*', '?', '[', ']' or '\'), keyed.
// "" when the glob ends with one: then any name may match.
std::string dns_glob_key_prefix(std::string_view glob);

// A --sha256 value as the journals store hashes: 64 hex digits, either
// case, folded to lower case; nullopt for anything else.
std::optional<std::string> sha256_selector(std::string_view text);

// Glob against a container's image reference, the whole of it ('*' also
// matches '/'): the one rule of --image.
bool image_matches(const std::string& glob, const std::string& image);

}  // namespace lineage
