// The VSCard wire protocol: libcacard's vscard_common.h as QEMU and libcacard put it on the wire,
// plus vscard's negotiated extensions (docs/protocol.md is the reference for both).
//
// Every message is a 12-byte header of three big-endian uint32 (type, reader id, payload length)
// followed by the payload. The encoder returns each message as one contiguous buffer because a
// message split over two writes costs ~40 ms on loopback (Nagle meets delayed ACK).
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"
#include "vscard/stream_buffer.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vscard {

enum class MessageType : std::uint32_t {
    Init = 1,
    Error = 2,
    ReaderAdd = 3,
    ReaderRemove = 4,
    Atr = 5,
    CardRemove = 6,
    Apdu = 7,
    Flush = 8,
    FlushComplete = 9,
    // vscard extensions, only ever sent to a peer that announced capability::CardPower.
    PowerRequest = 0x100,
    PowerResponse = 0x101,
};

enum class ErrorCode : std::uint32_t {
    Success = 0,
    GeneralError = 1,
    CannotAddMoreReaders = 2,
    CardAlreadyInserted = 3, // upstream spells it VSC_CARD_ALREAY_INSERTED
};

// What a PowerRequest asks the card side to do.
enum class PowerAction : std::uint32_t {
    Off = 0,
    ColdReset = 1, // power on, or power off then on
    WarmReset = 2,
};

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::array<std::uint8_t, 4> kMagic = {'V', 'S', 'C', 'D'};
inline constexpr std::uint32_t kUndefinedReaderId = 0xFFFFFFFFu;
inline constexpr std::uint32_t kMinimalReaderId = 0;

// libcacard's MAKE_VERSION: 11 bits major, 11 bits middle, 10 bits minor.
constexpr std::uint32_t makeVersion(std::uint32_t major, std::uint32_t middle, std::uint32_t minor)
{
    return (major << 21) | (middle << 10) | minor;
}
constexpr std::uint32_t versionMajor(std::uint32_t version)
{
    return version >> 21;
}
constexpr std::uint32_t versionMiddle(std::uint32_t version)
{
    return (version >> 10) & 0x7FFu;
}
constexpr std::uint32_t versionMinor(std::uint32_t version)
{
    return version & 0x3FFu;
}
inline constexpr std::uint32_t kProtocolVersion = makeVersion(0, 0, 2);

// Largest APDU message a peer without capability::ExtendedApdu may be sent: 5 header bytes,
// 255 data bytes and Le. libcacard's vscclient overflows on anything longer.
inline constexpr std::size_t kMaxShortApduSize = 261;
// Largest extended command APDU: CLA INS P1 P2, 3-byte Lc, 65535 data bytes, 2-byte Le.
inline constexpr std::size_t kMaxExtendedApduSize = 65544;
inline constexpr std::size_t kDefaultMaxPayload = kMaxExtendedApduSize;

// Capability word 0 of the Init payload. QEMU and libcacard send 0 and ignore the words.
namespace capability {
inline constexpr std::uint32_t ExtendedApdu = 1u << 0;
inline constexpr std::uint32_t CardPower = 1u << 1;
inline constexpr std::uint32_t KnownWord0 = ExtendedApdu | CardPower;
} // namespace capability

std::string_view messageTypeName(MessageType type);
bool isKnownMessageType(std::uint32_t type);
std::string_view errorCodeName(std::uint32_t code);
std::string_view powerActionName(PowerAction action);

struct InitPayload {
    std::uint32_t version = kProtocolVersion;
    // Word i of the capability array; a peer may send more words than we know.
    std::vector<std::uint32_t> capabilities = {0};

    bool has(std::uint32_t word0Bits) const
    {
        return !capabilities.empty() && (capabilities[0] & word0Bits) == word0Bits;
    }
    friend bool operator==(const InitPayload&, const InitPayload&) = default;
};

struct Message {
    MessageType type = MessageType::Init;
    std::uint32_t readerId = kUndefinedReaderId;
    Bytes payload;

    friend bool operator==(const Message&, const Message&) = default;
};

enum class DecodeErrorKind {
    OversizedLength,  // the header announces more payload than the limit allows
    UnknownType,      // the header names a type this protocol does not have
    MalformedInit,    // wrong magic, too short, or not a whole number of capability words
    MalformedPayload, // a fixed-size payload of the wrong size
};

struct DecodeError {
    DecodeErrorKind kind;
    std::uint32_t type = 0;
    std::uint32_t readerId = 0;
    std::string message; // one line a log can print as it is
};

// --- Encoder -------------------------------------------------------------------------------

Bytes encodeMessage(MessageType type, std::uint32_t readerId, ByteView payload);
Bytes encodeInit(std::uint32_t readerId, const InitPayload& init);
Bytes encodeError(std::uint32_t readerId, ErrorCode code);
Bytes encodeReaderAdd(std::uint32_t readerId, std::string_view name);
Bytes encodePowerRequest(std::uint32_t readerId, PowerAction action);

// --- Payload parsers (the decoder checks structure with these, callers read fields) --------

Result<InitPayload, DecodeError> parseInitPayload(ByteView payload);
Result<std::uint32_t, DecodeError> parseErrorPayload(ByteView payload);
Result<PowerAction, DecodeError> parsePowerRequestPayload(ByteView payload);
// Reader names are UTF-8; some clients send a terminating NUL, which is not part of the name.
std::string readerNameFromPayload(ByteView payload);

// --- Incremental decoder -------------------------------------------------------------------

struct DecoderLimits {
    std::size_t maxPayload = kDefaultMaxPayload;
};

// Feed it bytes in chunks of any size; take whole messages out. It never throws on the bytes
// it is fed. After an error the stream has lost its framing, so the decoder stays failed and
// the caller is expected to drop the connection.
class MessageDecoder {
public:
    explicit MessageDecoder(DecoderLimits limits = {});

    void feed(ByteView chunk);

    // The next whole message, std::nullopt when more bytes are needed, or the error.
    std::optional<Result<Message, DecodeError>> next();

    bool failed() const { return failure_.has_value(); }
    // Bytes received but not yet part of a whole message: non-zero when a peer vanishes
    // mid-message.
    std::size_t pendingBytes() const { return buffer_.size(); }

private:
    std::optional<DecodeError> checkHeader(std::uint32_t type, std::uint32_t readerId,
                                           std::uint32_t length) const;
    DecoderLimits limits_;
    StreamBuffer buffer_;
    std::optional<DecodeError> failure_;
};

} // namespace vscard
