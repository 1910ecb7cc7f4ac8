#include "load_plan.h"

#include <fnmatch.h>

#include <algorithm>

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

namespace {
std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}
}  // namespace

bool dns_name_matches(const std::string& glob, std::string_view name) {
    // Compared in lower case, not with FNM_CASEFOLD: DNS folds ASCII letters
    // only (RFC 4343), and the parser writes every other byte as \DDD.
    const std::string g = ascii_lower(glob);
    const std::string n = ascii_lower(name);
    // FNM_NOESCAPE: a name is matched as the tree shows it, where a
    // backslash is part of the name ("a\.b.com", "x\200y"); "[*]" matches a
    // '*'.
    return !n.empty() && fnmatch(g.c_str(), n.c_str(), FNM_NOESCAPE) == 0;
}

std::string dns_name_key(std::string_view name) {
    std::string key = ascii_lower(name);
    std::reverse(key.begin(), key.end());
    return key;
}

std::string dns_name_of_key(std::string_view key) {
    return std::string(key.rbegin(), key.rend());
}

std::string dns_glob_key_prefix(std::string_view glob) {
    const size_t last = glob.find_last_of("*?[]\\");
    return dns_name_key(last == std::string_view::npos ? glob : glob.substr(last + 1));
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
