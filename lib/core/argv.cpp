#include "argv.h"

#include <cstring>

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

Argv::Argv(std::string_view raw) : bytes_(raw) {
    // split_argv's rule: a missing final NUL still ends the last argument.
    if (!bytes_.empty() && bytes_.back() != '\0') bytes_.push_back('\0');
    for (char c : bytes_) count_ += c == '\0';
}

// An argument given with a NUL in it (an import's) becomes two, as it
// would once written to a journal and read back.
Argv::Argv(std::initializer_list<std::string_view> args) {
    for (std::string_view a : args) {
        bytes_.append(a);
        bytes_.push_back('\0');
    }
    for (char c : bytes_) count_ += c == '\0';
}

Argv::Argv(const std::vector<std::string>& args) : bytes_(join_argv(args)) {
    for (char c : bytes_) count_ += c == '\0';
}

std::string_view Argv::front() const noexcept {
    return empty() ? std::string_view() : *begin();
}

std::vector<std::string> Argv::to_vector() const {
    std::vector<std::string> out;
    out.reserve(count_);
    for (std::string_view a : *this) out.emplace_back(a);
    return out;
}

void Argv::iterator::measure() noexcept {
    if (at_ == end_) {
        length_ = 0;
        return;
    }
    // Every argument in the buffer is followed by a NUL.
    const void* nul = std::memchr(at_, '\0', static_cast<size_t>(end_ - at_));
    length_ = static_cast<size_t>(static_cast<const char*>(nul) - at_);
}

bool operator==(const Argv& a, const std::vector<std::string>& b) {
    if (a.size() != b.size()) return false;
    size_t i = 0;
    for (std::string_view arg : a) {
        if (arg != b[i++]) return false;
    }
    return true;
}

}  // namespace lineage
