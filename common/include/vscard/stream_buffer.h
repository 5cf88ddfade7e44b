// Bytes received from a stream and not yet consumed, for the incremental decoders.
#pragma once

#include "vscard/bytes.h"

namespace vscard {

class StreamBuffer {
public:
    void append(ByteView chunk)
    {
        // Drop consumed bytes only when they dominate the buffer, so that a stream of small
        // messages does not move the tail on every append.
        if (consumed_ == bytes_.size()) {
            bytes_.clear();
            consumed_ = 0;
        } else if (consumed_ >= bytes_.size() / 2) {
            bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(consumed_));
            consumed_ = 0;
        }
        bytes_.insert(bytes_.end(), chunk.begin(), chunk.end());
    }

    ByteView pending() const { return ByteView(bytes_.data() + consumed_, size()); }
    std::size_t size() const { return bytes_.size() - consumed_; }
    void consume(std::size_t count) { consumed_ += count; }

private:
    Bytes bytes_;
    std::size_t consumed_ = 0;
};

} // namespace vscard
