#include "vscard/ccid/usbip_wire.h"

#include <algorithm>
#include <cstdio>

namespace vscard::usbip {

namespace {

constexpr std::size_t kOpHeaderSize = 8; // version, code, status
constexpr std::size_t kDeviceSize = kPathSize + kBusIdSize + 24;

void appendFixedString(Bytes& out, const std::string& text, std::size_t size)
{
    const std::size_t length = std::min(text.size(), size - 1); // NUL-terminated
    out.insert(out.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(length));
    out.insert(out.end(), size - length, 0);
}

std::string readFixedString(ByteView bytes, std::size_t offset, std::size_t size)
{
    const auto begin = bytes.begin() + static_cast<std::ptrdiff_t>(offset);
    const auto end = std::find(begin, begin + static_cast<std::ptrdiff_t>(size), 0);
    return std::string(begin, end);
}

void appendOpHeader(Bytes& out, std::uint16_t code, std::uint32_t status)
{
    appendBigEndian16(out, kVersion);
    appendBigEndian16(out, code);
    appendBigEndian32(out, status);
}

void appendDevice(Bytes& out, const Device& device)
{
    appendFixedString(out, device.path, kPathSize);
    appendFixedString(out, device.busId, kBusIdSize);
    appendBigEndian32(out, device.busNumber);
    appendBigEndian32(out, device.deviceNumber);
    appendBigEndian32(out, device.speed);
    appendBigEndian16(out, device.vendorId);
    appendBigEndian16(out, device.productId);
    appendBigEndian16(out, device.bcdDevice);
    out.push_back(device.deviceClass);
    out.push_back(device.deviceSubClass);
    out.push_back(device.deviceProtocol);
    out.push_back(device.configurationValue);
    out.push_back(device.numConfigurations);
    out.push_back(static_cast<std::uint8_t>(device.interfaces.size()));
}

Device readDevice(ByteView bytes, std::size_t offset)
{
    Device device;
    device.path = readFixedString(bytes, offset, kPathSize);
    offset += kPathSize;
    device.busId = readFixedString(bytes, offset, kBusIdSize);
    offset += kBusIdSize;
    device.busNumber = readBigEndian32(bytes, offset);
    device.deviceNumber = readBigEndian32(bytes, offset + 4);
    device.speed = readBigEndian32(bytes, offset + 8);
    device.vendorId = readBigEndian16(bytes, offset + 12);
    device.productId = readBigEndian16(bytes, offset + 14);
    device.bcdDevice = readBigEndian16(bytes, offset + 16);
    device.deviceClass = bytes[offset + 18];
    device.deviceSubClass = bytes[offset + 19];
    device.deviceProtocol = bytes[offset + 20];
    device.configurationValue = bytes[offset + 21];
    device.numConfigurations = bytes[offset + 22];
    return device;
}

void appendBasic(Bytes& out, std::uint32_t command, std::uint32_t seqnum, std::uint32_t devid,
                 std::uint32_t direction, std::uint32_t endpoint)
{
    appendBigEndian32(out, command);
    appendBigEndian32(out, seqnum);
    appendBigEndian32(out, devid);
    appendBigEndian32(out, direction);
    appendBigEndian32(out, endpoint);
}

WireError error(std::string message)
{
    return WireError{std::move(message)};
}

} // namespace

Bytes encodeDevlistRequest()
{
    Bytes out;
    appendOpHeader(out, kOpReqDevlist, 0);
    return out;
}

Bytes encodeImportRequest(const std::string& busId)
{
    Bytes out;
    appendOpHeader(out, kOpReqImport, 0);
    appendFixedString(out, busId, kBusIdSize);
    return out;
}

Bytes encodeDevlistReply(const std::vector<Device>& devices)
{
    Bytes out;
    appendOpHeader(out, kOpRepDevlist, 0);
    appendBigEndian32(out, static_cast<std::uint32_t>(devices.size()));
    for (const Device& device : devices) {
        appendDevice(out, device);
        for (const Interface& interface : device.interfaces) {
            out.push_back(interface.interfaceClass);
            out.push_back(interface.subClass);
            out.push_back(interface.protocol);
            out.push_back(0); // padding
        }
    }
    return out;
}

Bytes encodeImportReply(const std::optional<Device>& device)
{
    Bytes out;
    appendOpHeader(out, kOpRepImport, device ? 0 : 1);
    if (device)
        appendDevice(out, *device);
    return out;
}

Bytes encodeSubmit(const Submit& submit)
{
    Bytes out;
    appendBasic(out, kCmdSubmit, submit.seqnum, submit.devid, submit.direction, submit.endpoint);
    appendBigEndian32(out, submit.transferFlags);
    appendBigEndian32(out, submit.transferLength);
    appendBigEndian32(out, submit.startFrame);
    appendBigEndian32(out, submit.numberOfPackets);
    appendBigEndian32(out, submit.interval);
    out.insert(out.end(), submit.setup.begin(), submit.setup.end());
    if (submit.direction == kDirOut)
        out.insert(out.end(), submit.data.begin(), submit.data.end());
    return out;
}

Bytes encodeUnlink(const Unlink& unlink)
{
    Bytes out;
    appendBasic(out, kCmdUnlink, unlink.seqnum, unlink.devid, unlink.direction, unlink.endpoint);
    appendBigEndian32(out, unlink.unlinkSeqnum);
    out.resize(kUrbHeaderSize, 0);
    return out;
}

Bytes encodeSubmitReply(const SubmitReply& reply, std::uint32_t direction)
{
    Bytes out;
    // devid, direction and endpoint are 0 in replies, as Linux's stub sends them.
    appendBasic(out, kRetSubmit, reply.seqnum, 0, 0, 0);
    appendBigEndian32(out, static_cast<std::uint32_t>(reply.status));
    // actual_length: the IN data that follows, or how much of an OUT URB's data went out.
    const bool withData = direction == kDirIn && reply.status == 0;
    const std::uint32_t actualLength = withData ? static_cast<std::uint32_t>(reply.data.size())
                                       : direction == kDirOut && reply.status == 0
                                           ? reply.actualLength
                                           : 0;
    appendBigEndian32(out, actualLength);
    appendBigEndian32(out, 0);          // start_frame
    appendBigEndian32(out, 0xFFFFFFFF); // number_of_packets: not isochronous
    appendBigEndian32(out, 0);          // error_count
    out.resize(kUrbHeaderSize, 0);
    if (withData)
        out.insert(out.end(), reply.data.begin(), reply.data.end());
    return out;
}

Bytes encodeUnlinkReply(const UnlinkReply& reply)
{
    Bytes out;
    appendBasic(out, kRetUnlink, reply.seqnum, 0, 0, 0);
    appendBigEndian32(out, static_cast<std::uint32_t>(reply.status));
    out.resize(kUrbHeaderSize, 0);
    return out;
}

std::optional<Result<ServerDecoder::Item, WireError>> ServerDecoder::next()
{
    if (failed_)
        return std::nullopt;
    const ByteView pending = buffer_.pending();
    auto failWith = [this](std::string message) -> std::optional<Result<Item, WireError>> {
        failed_ = true;
        return Result<Item, WireError>(fail(error(std::move(message))));
    };
    if (!imported_) {
        if (pending.size() < kOpHeaderSize)
            return std::nullopt;
        const std::uint16_t version = readBigEndian16(pending, 0);
        const std::uint16_t code = readBigEndian16(pending, 2);
        if (version != kVersion)
            return failWith("USB/IP version " + std::to_string(version >> 8) + "." +
                            std::to_string(version & 0xFF) + ", expected 1.1.1");
        if (code == kOpReqDevlist) {
            buffer_.consume(kOpHeaderSize);
            return Result<Item, WireError>(Item{DevlistRequest{}});
        }
        if (code == kOpReqImport) {
            if (pending.size() < kOpHeaderSize + kBusIdSize)
                return std::nullopt;
            ImportRequest request{readFixedString(pending, kOpHeaderSize, kBusIdSize)};
            buffer_.consume(kOpHeaderSize + kBusIdSize);
            return Result<Item, WireError>(Item{std::move(request)});
        }
        return failWith("unknown USB/IP operation 0x" + [code] {
            char text[8];
            std::snprintf(text, sizeof text, "%04x", code);
            return std::string(text);
        }());
    }
    if (pending.size() < kUrbHeaderSize)
        return std::nullopt;
    const std::uint32_t command = readBigEndian32(pending, 0);
    if (command == kCmdUnlink) {
        Unlink unlink;
        unlink.seqnum = readBigEndian32(pending, 4);
        unlink.devid = readBigEndian32(pending, 8);
        unlink.direction = readBigEndian32(pending, 12);
        unlink.endpoint = readBigEndian32(pending, 16);
        unlink.unlinkSeqnum = readBigEndian32(pending, 20);
        buffer_.consume(kUrbHeaderSize);
        return Result<Item, WireError>(Item{unlink});
    }
    if (command != kCmdSubmit)
        return failWith("unknown USB/IP command " + std::to_string(command));
    Submit submit;
    submit.seqnum = readBigEndian32(pending, 4);
    submit.devid = readBigEndian32(pending, 8);
    submit.direction = readBigEndian32(pending, 12);
    submit.endpoint = readBigEndian32(pending, 16);
    submit.transferFlags = readBigEndian32(pending, 20);
    submit.transferLength = readBigEndian32(pending, 24);
    submit.startFrame = readBigEndian32(pending, 28);
    submit.numberOfPackets = readBigEndian32(pending, 32);
    submit.interval = readBigEndian32(pending, 36);
    std::copy_n(pending.begin() + 40, 8, submit.setup.begin());
    if (submit.direction != kDirOut && submit.direction != kDirIn)
        return failWith("CMD_SUBMIT direction " + std::to_string(submit.direction));
    if (submit.endpoint > 15)
        return failWith("CMD_SUBMIT endpoint " + std::to_string(submit.endpoint));
    if (submit.numberOfPackets != 0 && submit.numberOfPackets != 0xFFFFFFFF)
        return failWith("isochronous CMD_SUBMIT (" + std::to_string(submit.numberOfPackets) +
                        " packets): a CCID reader has no isochronous endpoint");
    // An IN URB's length is only the room the host offers (libccid offers 65556 bytes); the
    // data of an OUT URB follows its header and must fit in memory.
    if (submit.direction == kDirOut && submit.transferLength > kMaxOutData)
        return failWith("CMD_SUBMIT with " + std::to_string(submit.transferLength) +
                        " bytes of OUT data, more than " + std::to_string(kMaxOutData));
    const std::size_t dataLength = submit.direction == kDirOut ? submit.transferLength : 0;
    if (pending.size() < kUrbHeaderSize + dataLength)
        return std::nullopt;
    submit.data.assign(pending.begin() + kUrbHeaderSize,
                       pending.begin() + static_cast<std::ptrdiff_t>(kUrbHeaderSize + dataLength));
    buffer_.consume(kUrbHeaderSize + dataLength);
    return Result<Item, WireError>(Item{std::move(submit)});
}

std::optional<Result<ClientDecoder::Item, WireError>> ClientDecoder::next()
{
    const ByteView pending = buffer_.pending();
    auto failWith = [](std::string message) -> std::optional<Result<Item, WireError>> {
        return Result<Item, WireError>(fail(error(std::move(message))));
    };
    if (expecting_ == Expecting::Devlist) {
        if (pending.size() < kOpHeaderSize + 4)
            return std::nullopt;
        if (readBigEndian16(pending, 2) != kOpRepDevlist)
            return failWith("expected OP_REP_DEVLIST");
        const std::uint32_t count = readBigEndian32(pending, kOpHeaderSize);
        std::size_t offset = kOpHeaderSize + 4;
        DevlistReply reply;
        for (std::uint32_t i = 0; i < count; ++i) {
            if (pending.size() < offset + kDeviceSize)
                return std::nullopt;
            Device device = readDevice(pending, offset);
            const std::size_t interfaces = pending[offset + kDeviceSize - 1];
            offset += kDeviceSize;
            if (pending.size() < offset + 4 * interfaces)
                return std::nullopt;
            for (std::size_t j = 0; j < interfaces; ++j, offset += 4)
                device.interfaces.push_back(
                    {pending[offset], pending[offset + 1], pending[offset + 2]});
            reply.devices.push_back(std::move(device));
        }
        buffer_.consume(offset);
        expecting_ = Expecting::Urbs;
        return Result<Item, WireError>(Item{std::move(reply)});
    }
    if (expecting_ == Expecting::Import) {
        if (pending.size() < kOpHeaderSize)
            return std::nullopt;
        if (readBigEndian16(pending, 2) != kOpRepImport)
            return failWith("expected OP_REP_IMPORT");
        ImportReply reply;
        if (readBigEndian32(pending, 4) == 0) {
            if (pending.size() < kOpHeaderSize + kDeviceSize)
                return std::nullopt;
            reply.device = readDevice(pending, kOpHeaderSize);
            buffer_.consume(kOpHeaderSize + kDeviceSize);
        } else {
            buffer_.consume(kOpHeaderSize);
        }
        expecting_ = Expecting::Urbs;
        return Result<Item, WireError>(Item{std::move(reply)});
    }
    if (pending.size() < kUrbHeaderSize)
        return std::nullopt;
    const std::uint32_t command = readBigEndian32(pending, 0);
    const std::uint32_t seqnum = readBigEndian32(pending, 4);
    const auto status = static_cast<std::int32_t>(readBigEndian32(pending, 20));
    if (command == kRetUnlink) {
        buffer_.consume(kUrbHeaderSize);
        return Result<Item, WireError>(Item{UnlinkReply{seqnum, status}});
    }
    if (command != kRetSubmit)
        return failWith("unknown USB/IP reply " + std::to_string(command));
    SubmitReply reply{seqnum, status, readBigEndian32(pending, 24), {}};
    const auto direction = directions_.find(seqnum);
    const bool in = direction != directions_.end() && direction->second == kDirIn;
    const std::size_t dataLength = in ? reply.actualLength : 0;
    if (pending.size() < kUrbHeaderSize + dataLength)
        return std::nullopt;
    reply.data.assign(pending.begin() + kUrbHeaderSize,
                      pending.begin() + static_cast<std::ptrdiff_t>(kUrbHeaderSize + dataLength));
    buffer_.consume(kUrbHeaderSize + dataLength);
    if (direction != directions_.end())
        directions_.erase(direction);
    return Result<Item, WireError>(Item{std::move(reply)});
}

} // namespace vscard::usbip
