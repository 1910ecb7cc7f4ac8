#include "argv.h"

namespace lineage {

std::vector<std::string> split_argv(std::string_view raw) {
    std::vector<std::string> args;
    size_t pos = 0;
    while (pos < raw.size()) {
        const size_t nul = raw.find('\0', pos);
        if (nul == std::string_view::npos) {
            args.emplace_back(raw.substr(pos));
            break;
        }
        args.emplace_back(raw.substr(pos, nul - pos));
        pos = nul + 1;
    }
    return args;
}

std::string join_argv(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        out += a;
        out.push_back('\0');
    }
    return out;
}

}  // namespace lineage
