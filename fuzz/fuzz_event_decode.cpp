// decode_event on arbitrary ring-buffer records, and the helpers that cut
// their variable part: split_argv and cgroup_path_from_names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "event.h"
#include "events.h"
#include "fuzz_check.h"

namespace {

using namespace lineage;

// split_argv loses nothing but the one NUL that ends the last argument.
void check_split_argv(std::string_view raw) {
    auto args = split_argv(raw);
    std::string joined;
    for (size_t i = 0; i < args.size(); ++i) {
        if (i) joined += '\0';
        joined += args[i];
    }
    std::string_view expected = raw;
    if (!expected.empty() && expected.back() == '\0') expected.remove_suffix(1);
    FUZZ_CHECK(joined == expected);
}

void check_cgroup_path(std::string_view names) {
    std::string path = cgroup_path_from_names(names);
    FUZZ_CHECK(!path.empty() && path[0] == '/');
    FUZZ_CHECK(path.find('\0') == std::string::npos);
    // The kernel's names never hold '/'; when none does, each name is one
    // component and none is empty.
    if (names.find('/') == std::string_view::npos) {
        FUZZ_CHECK(path == "/" || path.back() != '/');
        FUZZ_CHECK(path.find("//") == std::string::npos);
    }
}

void check_exec(const ExecEvent& e, const uint8_t* data) {
    lineage_exec_event raw{};
    std::memcpy(&raw, data, sizeof(raw));
    FUZZ_CHECK(e.binary.size() == raw.binary_len);
    FUZZ_CHECK(e.argv.size() == raw.argv_len);
    FUZZ_CHECK(e.comm.size() < LINEAGE_COMM_LEN + 1);
    FUZZ_CHECK(e.nodename.size() <= LINEAGE_NODENAME_LEN);
    const char* tail = reinterpret_cast<const char*>(data) + sizeof(lineage_exec_event);
    check_cgroup_path(std::string_view(tail + raw.binary_len, raw.cgroup_len));
    check_split_argv(e.argv);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto event = decode_event(data, size);
    if (event.ok()) {
        FUZZ_CHECK(size >= sizeof(lineage_hdr));
        if (auto* exec = std::get_if<ExecEvent>(&*event)) check_exec(*exec, data);
        if (auto* exit = std::get_if<ExitEvent>(&*event)) {
            FUZZ_CHECK(exit->signal >= 0 && exit->signal < 128);
            FUZZ_CHECK(exit->code >= 0 && exit->code < 256);
        }
        if (auto* conn = std::get_if<ConnectEvent>(&*event)) {
            FUZZ_CHECK(conn->family == 4 || conn->family == 6);
            FUZZ_CHECK(!conn->saddr.empty() && !conn->daddr.empty());
        }
    } else {
        FUZZ_CHECK(!event.error().message.empty());
    }

    // The helpers on the payload as a whole: after the header, as the
    // decoder would hand them a variable part.
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    std::string_view payload = size > sizeof(lineage_hdr) ? bytes.substr(sizeof(lineage_hdr)) : bytes;
    check_split_argv(payload);
    check_cgroup_path(payload);
    return 0;
}
