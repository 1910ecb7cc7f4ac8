#include "symbol.h"

#include <mutex>
#include <unordered_set>

namespace lineage {
namespace {

struct Pool {
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
        size_t operator()(const Symbol::Entry& e) const noexcept { return e.hash; }
    };
    struct Equal {
        using is_transparent = void;
        bool operator()(const Symbol::Entry& a, const Symbol::Entry& b) const noexcept { return a.text == b.text; }
        bool operator()(std::string_view a, const Symbol::Entry& b) const noexcept { return a == b.text; }
        bool operator()(const Symbol::Entry& a, std::string_view b) const noexcept { return a.text == b; }
    };
    std::mutex mutex;
    // Nodes of an unordered_set do not move: an entry's address is stable.
    std::unordered_set<Symbol::Entry, Hash, Equal> entries;
    const Symbol::Entry* empty = nullptr;
};

// Never destroyed: a Symbol in a static object may outlive any destructor
// that would run at exit.
Pool& pool() {
    static Pool* p = [] {
        auto* made = new Pool;
        made->empty = &*made->entries.insert(Symbol::Entry{"", std::hash<std::string_view>()("")}).first;
        return made;
    }();
    return *p;
}

}  // namespace

Symbol::Symbol() noexcept : entry_(pool().empty) {}

Symbol::Symbol(std::string_view text) {
    Pool& p = pool();
    if (text.empty()) {
        entry_ = p.empty;
        return;
    }
    std::lock_guard lock(p.mutex);
    auto it = p.entries.find(text);
    if (it == p.entries.end()) {
        it = p.entries.insert(Symbol::Entry{std::string(text), std::hash<std::string_view>()(text)}).first;
    }
    entry_ = &*it;
}

}  // namespace lineage
