// How many wrong tries a PIN (or a PUK) has left: a right one restores them all, maxTries
// wrong ones in a row block it. Both card types count so; each keeps the count where it keeps
// its state (a CAC in a file of its own, PinRetryState; a PIV card in its state file).
#pragma once

#include "vscard/bytes.h"

#include <algorithm>

namespace vscard::cacard {

class RetryCounter {
public:
    static constexpr unsigned kMostTries = 15; // 63Cx has four bits for the count

    static bool validMaximum(unsigned maxTries) { return maxTries >= 1 && maxTries <= kMostTries; }

    explicit RetryCounter(unsigned maxTries = 3) : RetryCounter(maxTries, maxTries) {}
    RetryCounter(unsigned maxTries, unsigned remaining)
        : maxTries_(std::clamp(maxTries, 1u, kMostTries)),
          remaining_(std::min(remaining, maxTries_))
    {
    }

    unsigned maxTries() const { return maxTries_; }
    unsigned remaining() const { return remaining_; }
    bool blocked() const { return remaining_ == 0; }
    void recordFailure()
    {
        if (remaining_ > 0)
            --remaining_;
    }
    void recordSuccess() { remaining_ = maxTries_; }
    // What a refused VERIFY answers: 63Cx with the tries left, 6983 once blocked.
    Bytes refusal() const
    {
        if (blocked())
            return {0x69, 0x83};
        return {0x63, static_cast<std::uint8_t>(0xC0 | remaining_)};
    }

    friend bool operator==(const RetryCounter&, const RetryCounter&) = default;

private:
    unsigned maxTries_;
    unsigned remaining_;
};

} // namespace vscard::cacard
