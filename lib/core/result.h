#pragma once
// Errors inside the library are values, not exceptions: a Result<T> either
// holds a T or an Error whose message is already fit to show a user (it names
// the file or argument it is about). Only cli/ turns an Error into an exit.

#include <string>
#include <utility>
#include <variant>

namespace lineage {

struct Error {
    std::string message;
    int code = 0;  // SQLite result code when SQLite said no (journal writes), else 0
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &std::get<T>(v_); }
    const T* operator->() const { return &std::get<T>(v_); }
    T& operator*() & { return std::get<T>(v_); }
    const T& operator*() const& { return std::get<T>(v_); }

    const Error& error() const { return std::get<Error>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result<void> equivalent: success carries nothing.
struct Ok {};
using Status = Result<Ok>;

}  // namespace lineage
