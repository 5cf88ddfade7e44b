// A value or an error, for code that must not throw on untrusted input.
// GCC 12 in C++20 mode has no std::expected; this is the small subset we use.
#pragma once

#include <stdexcept>
#include <utility>
#include <variant>

namespace vscard {

// Wraps an error so that Result<T, E> can be built from it even when T and E are alike.
template <typename E>
struct Failure {
    E error;
};

template <typename E>
Failure<std::decay_t<E>> fail(E&& error)
{
    return {std::forward<E>(error)};
}

template <typename T, typename E>
class Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Failure<E> failure) : state_(std::in_place_index<1>, std::move(failure.error)) {}

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    // Reading the wrong side is a programming error, not an input error: it throws.
    const T& value() const&
    {
        requireValue();
        return std::get<0>(state_);
    }
    T& value() &
    {
        requireValue();
        return std::get<0>(state_);
    }
    T&& value() &&
    {
        requireValue();
        return std::get<0>(std::move(state_));
    }
    const E& error() const
    {
        if (ok())
            throw std::logic_error("Result::error() called on a value");
        return std::get<1>(state_);
    }

    const T& operator*() const& { return value(); }
    T& operator*() & { return value(); }
    const T* operator->() const { return &value(); }
    T* operator->() { return &value(); }

private:
    void requireValue() const
    {
        if (!ok())
            throw std::logic_error("Result::value() called on an error");
    }

    std::variant<T, E> state_;
};

} // namespace vscard
