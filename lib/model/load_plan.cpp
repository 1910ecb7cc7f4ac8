#include "load_plan.h"

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

}  // namespace lineage
