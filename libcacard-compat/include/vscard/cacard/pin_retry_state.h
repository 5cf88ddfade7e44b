// The PIN retry counter of an emulated card. NSS's soft token has none, so the card keeps its
// own: maxTries wrong PINs block the card, a right one resets the count. With a state
// directory the count survives restarts (like CanoKey's state file): one file per card,
// created on first use and locked against a second process using the same card.
#pragma once

#include "vscard/cacard/retry_counter.h"
#include "vscard/result.h"

#include <memory>
#include <optional>
#include <string>

namespace vscard::cacard {

class PinRetryState {
public:
    static constexpr unsigned kDefaultMaxTries = 3;

    // cardId names the state file; it must be a file-name-safe identifier.
    static Result<std::unique_ptr<PinRetryState>, std::string>
    open(const std::optional<std::string>& stateDirectory, const std::string& cardId,
         unsigned maxTries = kDefaultMaxTries);
    ~PinRetryState();
    PinRetryState(const PinRetryState&) = delete;
    PinRetryState& operator=(const PinRetryState&) = delete;

    unsigned maxTries() const { return counter_.maxTries(); }
    unsigned remaining() const { return counter_.remaining(); }
    bool blocked() const { return counter_.blocked(); }
    const RetryCounter& counter() const { return counter_; }
    void recordFailure();
    void recordSuccess();

private:
    PinRetryState(unsigned maxTries, unsigned remaining, int fd)
        : counter_(maxTries, remaining), fd_(fd)
    {
    }
    void save();

    RetryCounter counter_;
    int fd_; // -1 without a state directory
};

} // namespace vscard::cacard
