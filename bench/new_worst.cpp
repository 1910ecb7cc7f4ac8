// The worst case of `reconstruct --new` on a journal: a binary and a
// destination that a pod never had, asked about at the journal's end, so
// that every look-up runs to its bound (JournalReader::find_precedents).
// Prints the time and the rows read; bench/run does not run it (see the
// README's Performance section for how its figures were taken).
//
//   bench_new_worst --journal J --pod UID [--binary PATH] [--daddr A --dport P]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "journal_reader.h"
#include "precedents.h"

using namespace lineage;

int main(int argc, char** argv) {
    std::string journal, pod, binary = "/usr/bin/never-seen", daddr = "198.51.100.1";
    int64_t dport = 9;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--journal")
            journal = v;
        else if (a == "--pod")
            pod = v;
        else if (a == "--binary")
            binary = v;
        else if (a == "--daddr")
            daddr = v;
        else if (a == "--dport")
            dport = std::stoll(v);
    }
    if (journal.empty() || pod.empty()) {
        std::fprintf(stderr, "usage: bench_new_worst --journal J --pod UID [--binary PATH] [--daddr A --dport P]\n");
        return 2;
    }
    auto reader = JournalReader::open(journal);
    if (!reader) {
        std::fprintf(stderr, "%s\n", reader.error().message.c_str());
        return 2;
    }
    // Only the metadata: a PID no process has.
    Model model;
    LoadPlan meta;
    meta.everything = false;
    meta.pid = 4'000'000'000u;
    if (auto st = reader->load_into(model, meta); !st) return 2;
    model.finish();
    PrecedentQuery query;
    const int64_t end = INT64_MAX / 2;
    query.binaries[BinaryKey{pod, binary}] = end;
    query.destinations[DestinationKey{pod, daddr, static_cast<uint16_t>(dport)}] = end;
    const size_t rows0 = reader->rows_read();
    const auto t0 = std::chrono::steady_clock::now();
    Precedents found;
    if (auto st = reader->find_precedents(model, query, found); !st) {
        std::fprintf(stderr, "%s\n", st.error().message.c_str());
        return 2;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("wall_s=%.4f rows_read=%zu binary_found=%zu destination_found=%zu maxrss_kib=%ld\n", s,
                reader->rows_read() - rows0, found.binaries.size(), found.destinations.size(), ru.ru_maxrss);
    return 0;
}
