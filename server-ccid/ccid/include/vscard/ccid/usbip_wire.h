// The USB/IP protocol (Linux Documentation/usb/usbip_protocol.rst), big-endian throughout:
// the operations before an import (OP_REQ_DEVLIST, OP_REQ_IMPORT and their replies), then URBs
// (CMD_SUBMIT/RET_SUBMIT, CMD_UNLINK/RET_UNLINK). server-ccid exports its readers with it;
// tests import them with it.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"
#include "vscard/stream_buffer.h"

#include <array>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vscard::usbip {

inline constexpr std::uint16_t kVersion = 0x0111;
inline constexpr std::uint16_t kOpReqDevlist = 0x8005;
inline constexpr std::uint16_t kOpRepDevlist = 0x0005;
inline constexpr std::uint16_t kOpReqImport = 0x8003;
inline constexpr std::uint16_t kOpRepImport = 0x0003;
inline constexpr std::uint32_t kCmdSubmit = 1;
inline constexpr std::uint32_t kCmdUnlink = 2;
inline constexpr std::uint32_t kRetSubmit = 3;
inline constexpr std::uint32_t kRetUnlink = 4;
inline constexpr std::uint32_t kDirOut = 0;
inline constexpr std::uint32_t kDirIn = 1;
inline constexpr std::uint32_t kSpeedFull = 2; // Linux's enum usb_device_speed
inline constexpr std::size_t kBusIdSize = 32;
inline constexpr std::size_t kPathSize = 256;
inline constexpr std::size_t kUrbHeaderSize = 48;
// Linux's errno values that travel in RET_SUBMIT and RET_UNLINK statuses.
inline constexpr std::int32_t kEconnreset = -104; // unlinked
inline constexpr std::int32_t kEpipe = -32;       // stalled

struct Interface {
    std::uint8_t interfaceClass = 0;
    std::uint8_t subClass = 0;
    std::uint8_t protocol = 0;
    friend bool operator==(const Interface&, const Interface&) = default;
};

// What OP_REP_DEVLIST and OP_REP_IMPORT say of an exported device.
struct Device {
    std::string path;  // sysfs-like path, shown by usbip list
    std::string busId; // "1-1": what OP_REQ_IMPORT asks for
    std::uint32_t busNumber = 1;
    std::uint32_t deviceNumber = 1;
    std::uint32_t speed = kSpeedFull;
    std::uint16_t vendorId = 0;
    std::uint16_t productId = 0;
    std::uint16_t bcdDevice = 0;
    std::uint8_t deviceClass = 0;
    std::uint8_t deviceSubClass = 0;
    std::uint8_t deviceProtocol = 0;
    std::uint8_t configurationValue = 1;
    std::uint8_t numConfigurations = 1;
    std::vector<Interface> interfaces;

    friend bool operator==(const Device&, const Device&) = default;
};

struct DevlistRequest {
    friend bool operator==(const DevlistRequest&, const DevlistRequest&) = default;
};
struct ImportRequest {
    std::string busId;
    friend bool operator==(const ImportRequest&, const ImportRequest&) = default;
};
struct DevlistReply {
    std::vector<Device> devices;
};
struct ImportReply {
    std::optional<Device> device; // none: refused
};

struct Submit {
    std::uint32_t seqnum = 0;
    std::uint32_t devid = 0;
    std::uint32_t direction = kDirOut;
    std::uint32_t endpoint = 0;
    std::uint32_t transferFlags = 0;
    std::uint32_t transferLength = 0; // IN: what the URB can hold; OUT: the data's length
    std::uint32_t startFrame = 0;
    std::uint32_t numberOfPackets = 0;
    std::uint32_t interval = 0;
    std::array<std::uint8_t, 8> setup{};
    Bytes data; // OUT only
    friend bool operator==(const Submit&, const Submit&) = default;
};
struct Unlink {
    std::uint32_t seqnum = 0;
    std::uint32_t devid = 0;
    std::uint32_t direction = 0;
    std::uint32_t endpoint = 0;
    std::uint32_t unlinkSeqnum = 0;
    friend bool operator==(const Unlink&, const Unlink&) = default;
};
struct SubmitReply {
    std::uint32_t seqnum = 0;
    std::int32_t status = 0;
    std::uint32_t actualLength = 0;
    Bytes data; // IN only
};
struct UnlinkReply {
    std::uint32_t seqnum = 0;
    std::int32_t status = 0;
};

// A control transfer's 8-byte SETUP packet (USB 2.0 9.3), little-endian fields.
inline std::array<std::uint8_t, 8> setupPacket(std::uint8_t requestType, std::uint8_t request,
                                               std::uint16_t value, std::uint16_t index,
                                               std::uint16_t length)
{
    return {requestType,
            request,
            static_cast<std::uint8_t>(value),
            static_cast<std::uint8_t>(value >> 8),
            static_cast<std::uint8_t>(index),
            static_cast<std::uint8_t>(index >> 8),
            static_cast<std::uint8_t>(length),
            static_cast<std::uint8_t>(length >> 8)};
}

Bytes encodeDevlistRequest();
Bytes encodeImportRequest(const std::string& busId);
Bytes encodeDevlistReply(const std::vector<Device>& devices);
Bytes encodeImportReply(const std::optional<Device>& device);
Bytes encodeSubmit(const Submit& submit);
Bytes encodeUnlink(const Unlink& unlink);
// direction: the submitted URB's; IN replies carry the data, OUT replies none.
Bytes encodeSubmitReply(const SubmitReply& reply, std::uint32_t direction);
Bytes encodeUnlinkReply(const UnlinkReply& reply);

struct WireError {
    std::string message;
};

// What an exporting server reads: operations until a device is imported, then URBs. A
// malformed or oversized message is an error; the connection cannot go on after it.
class ServerDecoder {
public:
    using Item = std::variant<DevlistRequest, ImportRequest, Submit, Unlink>;
    static constexpr std::size_t kMaxOutData = 65536 + 16;

    void feed(ByteView chunk) { buffer_.append(chunk); }
    // Called once the import succeeded: from then on URBs are read.
    void setImported() { imported_ = true; }
    std::optional<Result<Item, WireError>> next();

private:
    StreamBuffer buffer_;
    bool imported_ = false;
    bool failed_ = false;
};

// What an importer reads: the reply to its operation, then URB replies. RET_SUBMIT does not
// say the URB's direction, so the importer tells the decoder what it submitted.
class ClientDecoder {
public:
    using Item = std::variant<DevlistReply, ImportReply, SubmitReply, UnlinkReply>;

    void feed(ByteView chunk) { buffer_.append(chunk); }
    void expectDevlist() { expecting_ = Expecting::Devlist; }
    void expectImport() { expecting_ = Expecting::Import; }
    void submitted(std::uint32_t seqnum, std::uint32_t direction)
    {
        directions_[seqnum] = direction;
    }
    std::optional<Result<Item, WireError>> next();

private:
    enum class Expecting { Devlist, Import, Urbs };
    StreamBuffer buffer_;
    Expecting expecting_ = Expecting::Urbs;
    std::map<std::uint32_t, std::uint32_t> directions_;
};

} // namespace vscard::usbip
