// The container metadata readers on arbitrary bytes: a bundle's config.json
// is written by whoever controls the runtime's arguments, a cgroups path is
// in it, and a runtime's argv is anyone's. One input feeds all three: the
// whole of it as config.json and as a cgroups path, and split on NUL as a
// binary path followed by argv.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "container_meta.h"
#include "escape.h"
#include "fuzz_check.h"

namespace {

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_container_id(const std::string& id) {
    return id.size() >= 12 && id.size() <= 64 && std::all_of(id.begin(), id.end(), is_lower_hex);
}

// 1b2c3d4e-0000-4a5b-8c9d-0123456789ab
bool is_canonical_uid(const std::string& uid) {
    if (uid.size() != 36) return false;
    for (size_t i = 0; i < uid.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? uid[i] != '-' : !is_lower_hex(uid[i])) return false;
    }
    return true;
}

void check_ids(const std::string& pod_uid, const std::string& container_id) {
    FUZZ_CHECK(pod_uid.empty() || is_canonical_uid(pod_uid));
    FUZZ_CHECK(container_id.empty() || is_container_id(container_id));
}

void check_config(std::string_view text) {
    lineage::Result<lineage::ContainerMeta> meta = lineage::parse_oci_config(text);
    // Parsed exactly when nlohmann's own validator accepts it and it is an
    // object: no JSON refused, nothing else taken for it.
    size_t first = text.find_first_not_of(" \t\r\n");
    bool object = nlohmann::json::accept(text) && first != std::string_view::npos && text[first] == '{';
    FUZZ_CHECK(meta.ok() == object);
    if (!meta.ok()) {
        const std::string& message = meta.error().message;
        FUZZ_CHECK(!message.empty() && message.find('\n') == std::string::npos);
        FUZZ_CHECK(lineage::is_valid_utf8(message));
        return;
    }
    const lineage::ContainerMeta& m = *meta;
    for (const std::string* field : {&m.container_id, &m.pod_uid, &m.pod_name, &m.pod_namespace, &m.container_name,
                                     &m.image, &m.type, &m.cgroups_path, &m.flavour}) {
        FUZZ_CHECK(field->size() <= lineage::kMaxMetaField);
    }
    check_ids(m.pod_uid, m.container_id);
    FUZZ_CHECK(m.flavour.empty() || m.flavour == "containerd" || m.flavour == "crio");
    if (m.flavour.empty()) {
        FUZZ_CHECK(m.pod_name.empty() && m.pod_namespace.empty() && m.container_name.empty() && m.image.empty() &&
                   m.type.empty());
    }
    // The container ID is the cgroups path's, and nothing else's.
    FUZZ_CHECK(m.container_id == lineage::ids_from_cgroups_path(m.cgroups_path).container_id);
}

void check_invocation(std::string_view input) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        size_t end = input.find('\0', start);
        parts.emplace_back(input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    std::string binary = parts.front();
    std::vector<std::string> argv(parts.begin() + 1, parts.end());
    auto inv = lineage::parse_runtime_invocation(binary, argv);
    if (!inv) return;
    // Both come from argv as written: the ID is one argument, the bundle an
    // argument or the value after "=" of one.
    FUZZ_CHECK(!inv->id.empty());
    FUZZ_CHECK(std::find(argv.begin() + 1, argv.end(), inv->id) != argv.end());
    if (!inv->bundle.empty()) {
        bool from_argv = std::any_of(argv.begin() + 1, argv.end(), [&](const std::string& arg) {
            return arg == inv->bundle || (arg.size() > inv->bundle.size() && arg.ends_with("=" + inv->bundle));
        });
        FUZZ_CHECK(from_argv);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    check_config(input);
    lineage::CgroupsPathIds ids = lineage::ids_from_cgroups_path(input);
    check_ids(ids.pod_uid, ids.container_id);
    check_invocation(input);
    return 0;
}
