// A token bucket: `perSecond` tokens a second, at most `burst` saved up. Limits how fast a
// client's messages are handled and how many warnings reach the log.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>

namespace vscard::server {

class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    TokenBucket(double perSecond, double burst)
        : perSecond_(perSecond), burst_(burst), tokens_(burst), last_(Clock::now())
    {
    }

    // Whether a token is there to take.
    bool hasToken(Clock::time_point now = Clock::now())
    {
        refill(now);
        return tokens_ >= 1;
    }
    // Takes a token if there is one.
    bool tryTake(Clock::time_point now = Clock::now())
    {
        refill(now);
        if (tokens_ < 1)
            return false;
        tokens_ -= 1;
        return true;
    }
    // How long until the next token, in whole milliseconds (at least 1).
    int millisecondsUntilToken(Clock::time_point now = Clock::now())
    {
        refill(now);
        return std::max(1, static_cast<int>(std::ceil((1 - tokens_) * 1000 / perSecond_)));
    }

private:
    void refill(Clock::time_point now)
    {
        const double seconds = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + seconds * perSecond_);
        last_ = now;
    }

    double perSecond_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

} // namespace vscard::server
