// The link between server-ccid and its pcscd driver (libifd-vscard.so) over a local socket.
// It carries CCID messages as a USB cable would: bulk messages both ways, interrupt messages
// from the reader, plus a greeting and a reader listing. Each frame is a 1-byte kind and a
// big-endian 32-bit payload length, then the payload. Qt-free: the driver links it.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"
#include "vscard/stream_buffer.h"

#include <cstdint>
#include <optional>
#include <string>

namespace vscard::link {

enum class FrameKind : std::uint8_t {
    Hello = 1,       // driver -> server: protocol version, slots wanted
    Welcome = 2,     // server -> driver: protocol version, slots granted
    Bulk = 3,        // a CCID bulk message, either direction
    Interrupt = 4,   // server -> driver: NotifySlotChange
    ListRequest = 5, // any local client -> server: which reader sits in which slot
    ListReply = 6,   // server -> client: UTF-8 text, one line per slot
};

inline constexpr std::uint32_t kLinkVersion = 1;
inline constexpr std::size_t kFrameHeaderSize = 5;
// A CCID message with an extended APDU and its header, with room to spare.
inline constexpr std::size_t kMaxFramePayload = 70000;

struct Frame {
    FrameKind kind = FrameKind::Bulk;
    Bytes payload;
    friend bool operator==(const Frame&, const Frame&) = default;
};

struct Greeting {
    std::uint32_t version = kLinkVersion;
    std::uint32_t slotCount = 0;
    friend bool operator==(const Greeting&, const Greeting&) = default;
};

struct LinkError {
    std::string message;
};

Bytes encodeFrame(FrameKind kind, ByteView payload);
Bytes encodeGreeting(FrameKind kind, const Greeting& greeting);
Result<Greeting, LinkError> parseGreeting(ByteView payload);

// Incremental, like the VSCard decoder: never throws, stays failed after an error.
class FrameDecoder {
public:
    void feed(ByteView chunk);
    std::optional<Result<Frame, LinkError>> next();
    bool failed() const { return failure_.has_value(); }

private:
    StreamBuffer buffer_;
    std::optional<LinkError> failure_;
};

} // namespace vscard::link
