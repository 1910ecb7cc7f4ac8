#pragma once

#include <memory>
#include <optional>
#include <utility>

namespace lineage {

// An optional value kept on the heap, with std::optional's interface (the
// parts this code uses). For a large member that is mostly absent: a
// std::optional holds its value's whole size in every object, present or
// not (ExecImage's ExecFile, 184 bytes, absent from every exec of an older
// journal, an import or a snapshot); this holds a pointer. Copies are deep.
template <class T>
class Boxed {
public:
    Boxed() noexcept = default;
    Boxed(std::nullopt_t) noexcept {}
    Boxed(const T& value) : p_(std::make_unique<T>(value)) {}
    Boxed(T&& value) : p_(std::make_unique<T>(std::move(value))) {}
    Boxed(const std::optional<T>& value) : p_(value ? std::make_unique<T>(*value) : nullptr) {}
    Boxed(const Boxed& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
    Boxed(Boxed&&) noexcept = default;
    Boxed& operator=(const Boxed& other) {
        if (this != &other) p_ = other.p_ ? std::make_unique<T>(*other.p_) : nullptr;
        return *this;
    }
    Boxed& operator=(Boxed&&) noexcept = default;
    Boxed& operator=(std::nullopt_t) noexcept {
        p_.reset();
        return *this;
    }
    Boxed& operator=(const T& value) {
        p_ = std::make_unique<T>(value);
        return *this;
    }
    Boxed& operator=(T&& value) {
        p_ = std::make_unique<T>(std::move(value));
        return *this;
    }

    template <class... Args>
    T& emplace(Args&&... args) {
        p_ = std::make_unique<T>(std::forward<Args>(args)...);
        return *p_;
    }
    void reset() noexcept { p_.reset(); }

    bool has_value() const noexcept { return p_ != nullptr; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    T& operator*() noexcept { return *p_; }
    const T& operator*() const noexcept { return *p_; }
    T* operator->() noexcept { return p_.get(); }
    const T* operator->() const noexcept { return p_.get(); }
    T& value() {
        if (!p_) throw std::bad_optional_access();
        return *p_;
    }
    const T& value() const {
        if (!p_) throw std::bad_optional_access();
        return *p_;
    }

private:
    std::unique_ptr<T> p_;
};

}  // namespace lineage
