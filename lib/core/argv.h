#pragma once
// argv as the kernel keeps it: arguments back to back, each ended by a NUL.
// The exec event, /proc/PID/cmdline and the journal's argv column all use
// this form; these are the one splitter and the one joiner of it.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace lineage {

// One trailing NUL ends the last argument; empty arguments elsewhere are
// kept ("a\0\0b\0" -> {"a", "", "b"}). A missing final NUL (argv cut at a
// cap) still yields the partial last argument. Empty input gives no
// arguments (kernel threads, zombies). Bytes are kept as they are.
std::vector<std::string> split_argv(std::string_view raw);

// The inverse: every argument followed by a NUL.
std::string join_argv(const std::vector<std::string>& argv);

// A process image's arguments, split as split_argv splits them, held in
// one buffer in join_argv's form (an argument holds no NUL): one
// allocation an exec, not one an argument. A busy node's 10-minute window
// holds some 190,000 arguments.
class Argv {
public:
    Argv() = default;
    // As split_argv(raw) splits it.
    explicit Argv(std::string_view raw);
    Argv(std::initializer_list<std::string_view> args);
    explicit Argv(const std::vector<std::string>& args);

    size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    // The first argument; "" when there is none.
    std::string_view front() const noexcept;
    std::vector<std::string> to_vector() const;

    // The arguments in order, as views into the buffer.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        using pointer = const std::string_view*;
        using reference = std::string_view;
        iterator() = default;
        iterator(const char* at, const char* end) noexcept : at_(at), end_(end) { measure(); }
        std::string_view operator*() const noexcept { return {at_, length_}; }
        iterator& operator++() noexcept {
            at_ += length_ + 1;
            measure();
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator before = *this;
            ++*this;
            return before;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }

    private:
        void measure() noexcept;  // length_ of the argument at at_ (0 at the end)
        const char* at_ = nullptr;
        const char* end_ = nullptr;
        size_t length_ = 0;
    };
    iterator begin() const noexcept { return {bytes_.data(), bytes_.data() + bytes_.size()}; }
    iterator end() const noexcept { return {bytes_.data() + bytes_.size(), bytes_.data() + bytes_.size()}; }

    friend bool operator==(const Argv& a, const Argv& b) noexcept { return a.bytes_ == b.bytes_; }
    friend bool operator==(const Argv& a, const std::vector<std::string>& b);

private:
    std::string bytes_;   // every argument followed by a NUL
    uint32_t count_ = 0;  // the NULs in bytes_
};

}  // namespace lineage
