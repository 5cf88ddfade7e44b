// USB CCID rev 1.1 messages: the 10-byte bulk header, the PC_to_RDR commands and RDR_to_PC
// replies, the interrupt messages, and the protocol data structures of Get/SetParameters.
// Qt-free: the pcscd driver, the server and the USB/IP export share it.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"
#include "vscard/trace.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vscard::ccid {

enum class MessageType : std::uint8_t {
    // PC_to_RDR
    SetParameters = 0x61,
    IccPowerOn = 0x62,
    IccPowerOff = 0x63,
    GetSlotStatus = 0x65,
    Secure = 0x69,
    T0Apdu = 0x6A,
    Escape = 0x6B,
    GetParameters = 0x6C,
    ResetParameters = 0x6D,
    IccClock = 0x6E,
    XfrBlock = 0x6F,
    Mechanical = 0x71,
    Abort = 0x72,
    SetDataRateAndClockFrequency = 0x73,
    // RDR_to_PC
    DataBlock = 0x80,
    SlotStatus = 0x81,
    Parameters = 0x82,
    EscapeReply = 0x83,
    DataRateAndClockFrequency = 0x84,
    // Interrupt-IN
    NotifySlotChange = 0x50,
    HardwareError = 0x51,
};

enum class IccStatus : std::uint8_t {
    Active = 0,
    PresentInactive = 1,
    Absent = 2,
};

enum class CommandStatus : std::uint8_t {
    Ok = 0,
    Failed = 1,
    TimeExtension = 2,
};

// bError values of a failed command (CCID 6.2.6). 1..127 name the offset of the bad field.
namespace error {
inline constexpr std::uint8_t CommandNotSupported = 0x00;
inline constexpr std::uint8_t BadLength = 1;     // dwLength
inline constexpr std::uint8_t BadSlot = 5;       // bSlot
inline constexpr std::uint8_t BadParameter7 = 7; // first message-specific byte
inline constexpr std::uint8_t BadParameter8 = 8; // second message-specific byte
inline constexpr std::uint8_t CommandSlotBusy = 0xE0;
inline constexpr std::uint8_t PinCancelled = 0xEF;
inline constexpr std::uint8_t PinTimeout = 0xF0;
inline constexpr std::uint8_t BusyWithAutoSequence = 0xF2;
inline constexpr std::uint8_t DeactivatedProtocol = 0xF3;
inline constexpr std::uint8_t ProcedureByteConflict = 0xF4;
inline constexpr std::uint8_t IccClassNotSupported = 0xF5;
inline constexpr std::uint8_t IccProtocolNotSupported = 0xF6;
inline constexpr std::uint8_t BadAtrTck = 0xF7;
inline constexpr std::uint8_t BadAtrTs = 0xF8;
inline constexpr std::uint8_t HardwareError = 0xFB;
inline constexpr std::uint8_t XfrOverrun = 0xFC;
inline constexpr std::uint8_t XfrParityError = 0xFD;
inline constexpr std::uint8_t IccMute = 0xFE;
inline constexpr std::uint8_t CommandAborted = 0xFF;
} // namespace error

inline constexpr std::size_t kHeaderSize = 10;
// The largest message the spec allows: an extended APDU (65544 bytes) plus the header.
inline constexpr std::size_t kMaxMessageSize = 65544 + kHeaderSize;

std::string_view messageTypeName(std::uint8_t type);
std::string_view errorName(std::uint8_t bError);
bool isCommand(std::uint8_t type);
// The reply type the spec assigns to a command; SlotStatus for a type it does not know.
MessageType replyTypeFor(std::uint8_t commandType);

// One bulk message, either direction. `specific` holds the three message-specific header
// bytes (bytes 7..9): for replies bStatus, bError and the third byte.
struct Message {
    std::uint8_t type = 0;
    std::uint8_t slot = 0;
    std::uint8_t seq = 0;
    std::array<std::uint8_t, 3> specific{};
    Bytes data;

    friend bool operator==(const Message&, const Message&) = default;
};

struct CcidError {
    std::string message;
};

Bytes encode(const Message& message);
// A whole bulk message: dwLength must match the bytes after the header.
Result<Message, CcidError> parseMessage(ByteView bytes);
// dwLength of a bulk message whose header is complete, to frame a byte stream.
std::uint32_t announcedLength(ByteView header);

std::uint8_t statusByte(IccStatus icc, CommandStatus command);
IccStatus iccStatusOf(std::uint8_t bStatus);
CommandStatus commandStatusOf(std::uint8_t bStatus);

// Reply builders. `command` supplies bSlot and bSeq, which every reply echoes.
Message makeReply(const Message& command, MessageType replyType, IccStatus icc,
                  CommandStatus status, std::uint8_t bError, std::uint8_t third = 0,
                  Bytes data = {});

// One slot's two bits in bmSlotICCState of NotifySlotChange.
struct SlotChange {
    bool present = false;
    bool changed = false;
};
Bytes encodeNotifySlotChange(std::span<const SlotChange> slots);

// abProtocolDataStructure of Get/Set/ResetParameters (CCID 6.1.7).
struct ProtocolParameters {
    std::uint8_t protocol = 0;        // 0 = T=0, 1 = T=1
    std::uint8_t fiDi = 0x11;         // bmFindexDindex
    std::uint8_t tcck = 0;            // bmTCCKST0 / bmTCCKST1
    std::uint8_t guardTime = 0;       // bGuardTimeT0 / T1
    std::uint8_t waitingInteger = 10; // bWaitingIntegerT0 / bmWaitingIntegersT1
    std::uint8_t clockStop = 0;
    std::uint8_t ifsc = 0x20; // T=1 only
    std::uint8_t nad = 0;     // T=1 only

    Bytes encode() const;
    static std::optional<ProtocolParameters> parse(std::uint8_t protocol, ByteView data);
    friend bool operator==(const ProtocolParameters&, const ProtocolParameters&) = default;
};

// The CCID class descriptor (CCID 5.1, 54 bytes): what a USB host reads to learn the reader.
struct ClassDescriptor {
    std::uint8_t maxSlotIndex = 0;
    std::uint32_t protocols = 0x3; // T=0 and T=1
    std::uint32_t features = 0;
    std::uint32_t maxMessageLength = kMaxMessageSize;
    std::uint32_t maxIfsd = 254;
    std::uint32_t defaultClockKhz = 4000;
    std::uint32_t dataRate = 10752;
    std::uint32_t maxDataRate = 344086;
    std::uint8_t maxBusySlots = 1;

    Bytes encode() const;
};

// dwFeatures of an APDU-level reader that negotiates everything itself: automatic parameters
// from the ATR, voltage, clock, baud rate, PPS and IFSD; short and extended APDUs.
inline constexpr std::uint32_t kApduLevelFeatures = 0x000404BA;
// What libccid's serial profiles hard-code: TPDU level, automatic baud rate and clock.
inline constexpr std::uint32_t kGemPcSerialFeatures = 0x00010230;

// A USB configuration descriptor of a one-interface CCID reader (class 0B) with bulk-out 02,
// bulk-in 82 and interrupt-in 83: what a capture needs for tshark to decode CCID, and what a USB
// host reads. interfaceString: the iInterface string index, 0 for none.
Bytes configurationDescriptor(const ClassDescriptor& descriptor, std::uint8_t interfaceString = 0);

// Data bytes of one message that a trace or a capture must not show (offsets into its data).
using SecretRanges = std::vector<trace::ByteRange>;

// One-line decode for traces, with the PINs the message shows by itself masked (pinsInCommand).
std::string describe(const Message& message);
// The same with the secret data bytes a link's SecretTracker found: "data 258: <256 bytes
// masked> 90 00". --trace-secrets (trace::revealSecrets) shows them.
std::string describe(const Message& message, const SecretRanges& secret);
// A whole bulk message as it travelled, decoded, or why it does not decode.
std::string describeWire(ByteView bytes, const SecretRanges& secret);

} // namespace vscard::ccid
