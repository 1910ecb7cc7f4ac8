#include "load_plan.h"

#include <fnmatch.h>

namespace lineage {

bool pod_selector_matches(std::string_view selector, std::string_view uid, std::string_view name,
                          std::string_view namespace_) {
    if (selector.empty()) return false;
    if (selector == uid || selector == name) return true;
    return !namespace_.empty() && selector.size() == namespace_.size() + 1 + name.size() &&
           selector.substr(0, namespace_.size()) == namespace_ && selector[namespace_.size()] == '/' &&
           selector.substr(namespace_.size() + 1) == name;
}

std::string pod_display_name(std::string_view name, std::string_view namespace_) {
    if (namespace_.empty()) return std::string(name);
    std::string out(namespace_);
    out += '/';
    out += name;
    return out;
}

bool binary_matches(const std::string& glob, const std::string& binary) {
    // FNM_PATHNAME: '*' stops at '/', as in a shell.
    if (glob.find('/') != std::string::npos) return fnmatch(glob.c_str(), binary.c_str(), FNM_PATHNAME) == 0;
    auto slash = binary.rfind('/');
    std::string base = slash == std::string::npos ? binary : binary.substr(slash + 1);
    return fnmatch(glob.c_str(), base.c_str(), 0) == 0;
}

std::optional<std::string> sha256_selector(std::string_view text) {
    if (text.size() != 64) return std::nullopt;
    std::string out;
    for (char c : text) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
        out += c;
    }
    return out;
}

bool image_matches(const std::string& glob, const std::string& image) {
    // No FNM_PATHNAME: an image reference is one name (registry/repo:tag),
    // and `--image 'registry.example.test/*'` means every image under it.
    return !image.empty() && fnmatch(glob.c_str(), image.c_str(), 0) == 0;
}

}  // namespace lineage
