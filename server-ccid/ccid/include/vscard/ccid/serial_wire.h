// CCID over a serial line as Gemalto's GemPC readers and libccid's serial driver frame it:
// SYNC 03, ACK 06, the CCID message, then an LRC (XOR of every byte before it).
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"
#include "vscard/stream_buffer.h"

#include <optional>
#include <string>

namespace vscard::ccid {

inline constexpr std::uint8_t kSerialSync = 0x03;
inline constexpr std::uint8_t kSerialAck = 0x06;

Bytes encodeSerialFrame(ByteView ccidMessage);

// Incremental. A line can carry noise: bytes before a SYNC are skipped, and a frame with a bad
// LRC or an impossible length is reported and dropped, after which decoding goes on.
class SerialFrameDecoder {
public:
    explicit SerialFrameDecoder(std::size_t maxMessageSize) : maxMessageSize_(maxMessageSize) {}

    void feed(ByteView chunk) { buffer_.append(chunk); }
    // The next CCID message, an error about a dropped frame, or nullopt for "need more bytes".
    std::optional<Result<Bytes, std::string>> next();

private:
    std::size_t maxMessageSize_;
    StreamBuffer buffer_;
};

} // namespace vscard::ccid
