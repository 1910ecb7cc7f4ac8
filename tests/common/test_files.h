#pragma once
// Plain file and directory helpers of the unit and the end-to-end tests.
// No Catch2 here: a helper that cannot do its job throws, and Catch2 reports
// the exception as a failed test.
#include <cstdint>
#include <string>

namespace lineage::test {

// Whether the lineage under test is built with the sanitizers: slower and
// larger, so tests that scale with it ask here. In the sanitized build the
// test programs themselves are not instrumented (tests/CMakeLists.txt), so
// CMake says it (LINEAGE_TEST_SANITIZED); a build instrumented by hand
// shows it in the compiler's own macro (GCC's, or clang's feature).
#if defined(LINEAGE_TEST_SANITIZED) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kLineageSanitized = true;
#elif defined(__has_feature)
inline constexpr bool kLineageSanitized = __has_feature(address_sanitizer);
#else
inline constexpr bool kLineageSanitized = false;
#endif

// A private temporary directory, removed with everything in it unless kept.
class TempDir {
public:
    // $TMPDIR/lineage-test.XXXXXX, or under /tmp without TMPDIR.
    TempDir();
    // PARENT/PREFIXXXXXXX. A kept directory stays, and its path is printed
    // on stderr so that it can be found.
    TempDir(const std::string& parent, const std::string& prefix, bool keep);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
    bool keep_ = false;
};

// The whole file; "" when it cannot be read, as for a /proc file of a
// process that has gone.
std::string read_file(const std::string& path);

// Replaces the file's content with `bytes`.
void write_file(const std::string& path, const std::string& bytes);

// The file's st_mtim in ns since the epoch; -1 when stat fails.
int64_t mtime_ns(const std::string& path);

}  // namespace lineage::test
