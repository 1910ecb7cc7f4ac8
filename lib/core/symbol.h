#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace lineage {

// An interned string: each distinct value is stored once for the life of the
// program, and a Symbol is a pointer to it. For the identifiers that every
// process of a model repeats (its boot's id in its key, its parent's key,
// each child's key): a 36-character boot id copied into each of them was a
// heap allocation per copy and a string compare per hash look-up, most of
// the memory and time of a 100,000-process tree. Copying a Symbol copies a
// pointer; equality compares pointers; ordering and hashing are the text's,
// so that every order a Symbol gives is the same from run to run.
//
// The pool only grows: it holds the distinct values a program has seen
// (boots, not processes). Interning takes a lock, so Symbols can be made on
// any thread.
class Symbol {
public:
    Symbol() noexcept;  // ""
    Symbol(std::string_view text);
    Symbol(const std::string& text) : Symbol(std::string_view(text)) {}
    Symbol(const char* text) : Symbol(std::string_view(text)) {}

    const std::string& str() const noexcept { return entry_->text; }
    operator const std::string&() const noexcept { return entry_->text; }
    bool empty() const noexcept { return entry_->text.empty(); }
    size_t size() const noexcept { return entry_->text.size(); }
    // std::hash<std::string_view> of the text, computed once.
    size_t hash() const noexcept { return entry_->hash; }

    friend bool operator==(Symbol a, Symbol b) noexcept { return a.entry_ == b.entry_; }
    friend std::strong_ordering operator<=>(Symbol a, Symbol b) noexcept {
        if (a.entry_ == b.entry_) return std::strong_ordering::equal;
        return a.str() <=> b.str();
    }
    friend bool operator==(Symbol a, std::string_view b) noexcept { return a.str() == b; }
    friend bool operator==(Symbol a, const std::string& b) noexcept { return a.str() == b; }
    friend bool operator==(Symbol a, const char* b) noexcept { return a.str() == b; }
    friend std::strong_ordering operator<=>(Symbol a, std::string_view b) noexcept { return a.str() <=> b; }
    friend std::strong_ordering operator<=>(Symbol a, const std::string& b) noexcept { return a.str() <=> b; }

    struct Entry {
        std::string text;
        size_t hash = 0;
    };

private:
    const Entry* entry_;
};

struct SymbolHash {
    size_t operator()(Symbol s) const noexcept { return s.hash(); }
};

}  // namespace lineage

template <>
struct fmt::formatter<lineage::Symbol> : fmt::formatter<std::string_view> {
    template <typename FormatContext>
    auto format(lineage::Symbol s, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(std::string_view(s.str()), ctx);
    }
};

template <>
struct std::hash<lineage::Symbol> {
    size_t operator()(lineage::Symbol s) const noexcept { return s.hash(); }
};
