// A journal file is evidence that may have been tampered with: reading it
// must end in an error or a report, never a crash, a hang or a leak.
//
// Each input is written to a private temporary file (mutations of a real
// small journal, testdata/fuzz/journal/), opened with JournalReader, loaded
// with the full plan and with targeted plans, and rendered as text and JSON.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "escape.h"
#include "fuzz_check.h"
#include "journal_reader.h"
#include "model.h"
#include "reconstruct.h"
#include "render.h"

namespace {

using namespace lineage;

// PIDs and pod of the seed journal's incident, so targeted plans find rows.
constexpr uint32_t kSeedPid = 18294;
constexpr uint32_t kSeedParentPid = 18293;
const std::string kSeedPod = "production/my-app-6d4f9-xk2p1";

class TempJournal {
public:
    TempJournal() {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-fuzz.XXXXXX";
        if (!mkdtemp(tmpl.data())) std::abort();
        dir_ = tmpl;
        path_ = dir_ + "/journal.db";
    }
    ~TempJournal() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& write(const uint8_t* data, size_t size) {
        int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FUZZ_CHECK(fd >= 0);
        for (size_t done = 0; done < size;) {
            ssize_t n = ::write(fd, data + done, size - done);
            FUZZ_CHECK(n > 0);
            done += static_cast<size_t>(n);
        }
        ::close(fd);
        return path_;
    }

private:
    std::string dir_, path_;
};

TempJournal* journal_file;

// What a terminal gets: valid UTF-8 without C0 (except '\n'), DEL or C1
// controls, whatever bytes the journal held.
void check_text(const std::string& text) {
    FUZZ_CHECK(is_valid_utf8(text));
    for (size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        FUZZ_CHECK(c == '\n' || (c >= 0x20 && c != 0x7f));
        if (c == 0xc2 && i + 1 < text.size()) {
            auto next = static_cast<unsigned char>(text[i + 1]);
            FUZZ_CHECK(next < 0x80 || next > 0x9f);
        }
    }
}

void check_json(const std::string& text) {
    // parse() throws on invalid UTF-8 as on any other syntax error.
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "JsonRenderer output does not parse: %s\n", e.what());
        FUZZ_CHECK(false);
    }
    FUZZ_CHECK(doc.is_object());
}

void render_all(const Model& model, const Query& query, uint8_t variant) {
    Report report = build_report(model, query);
    TextOptions options;
    options.ascii = (variant & 1) != 0;
    options.absolute_times = (variant & 2) != 0;
    options.fold.fold = (variant & 8) == 0;  // --no-fold
    check_text(TextRenderer(options).render(model, report));
    check_json(JsonRenderer().render(model, report));
    check_text(render_warnings_for_stderr(report));
}

void load_and_render(JournalReader& reader, const LoadPlan& plan, const Query& query, uint8_t variant) {
    Model model;
    if (!reader.load_into(model, plan)) return;
    model.finish();
    render_all(model, query, variant);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    setenv("TZ", "UTC", 1);
    journal_file = new TempJournal();
    std::atexit([] { delete journal_file; });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = journal_file->write(data, size);
    auto reader = JournalReader::open(path);
    if (!reader) {
        FUZZ_CHECK(!reader.error().message.empty());
        return 0;
    }
    // Output options from the last byte: a byte SQLite rarely looks at.
    const uint8_t variant = size ? data[size - 1] : 0;

    // Everything, as `reconstruct` without a selector loads it.
    load_and_render(*reader, LoadPlan{}, Query{}, variant);

    // Targeted: every incarnation of one PID, through the indexes.
    LoadPlan by_pid;
    by_pid.everything = false;
    by_pid.pid = kSeedPid;
    Query pid_query;
    pid_query.pid = kSeedPid;
    load_and_render(*reader, by_pid, pid_query, variant);

    // And one of the other targeted selectors, alternating.
    LoadPlan other;
    other.everything = false;
    Query other_query;
    if (variant & 4) {
        other.pod = kSeedPod;
        other_query.pod = kSeedPod;
    } else {
        other.descendants_of = kSeedParentPid;
        other_query.descendants_of = kSeedParentPid;
    }
    load_and_render(*reader, other, other_query, variant);
    return 0;
}
