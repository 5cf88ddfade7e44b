#include "vscard/ccid/ccid_wire.h"

#include "vscard/ccid/secret_tracker.h"

#include <cstdio>

namespace vscard::ccid {

namespace {

std::uint32_t readLittleEndian32(ByteView bytes, std::size_t offset)
{
    return std::uint32_t{bytes[offset]} | (std::uint32_t{bytes[offset + 1]} << 8) |
           (std::uint32_t{bytes[offset + 2]} << 16) | (std::uint32_t{bytes[offset + 3]} << 24);
}

std::string hexByte(std::uint8_t value)
{
    char text[3];
    std::snprintf(text, sizeof text, "%02X", value);
    return text;
}

} // namespace

std::string_view messageTypeName(std::uint8_t type)
{
    switch (static_cast<MessageType>(type)) {
    case MessageType::SetParameters: return "PC_to_RDR_SetParameters";
    case MessageType::IccPowerOn: return "PC_to_RDR_IccPowerOn";
    case MessageType::IccPowerOff: return "PC_to_RDR_IccPowerOff";
    case MessageType::GetSlotStatus: return "PC_to_RDR_GetSlotStatus";
    case MessageType::Secure: return "PC_to_RDR_Secure";
    case MessageType::T0Apdu: return "PC_to_RDR_T0APDU";
    case MessageType::Escape: return "PC_to_RDR_Escape";
    case MessageType::GetParameters: return "PC_to_RDR_GetParameters";
    case MessageType::ResetParameters: return "PC_to_RDR_ResetParameters";
    case MessageType::IccClock: return "PC_to_RDR_IccClock";
    case MessageType::XfrBlock: return "PC_to_RDR_XfrBlock";
    case MessageType::Mechanical: return "PC_to_RDR_Mechanical";
    case MessageType::Abort: return "PC_to_RDR_Abort";
    case MessageType::SetDataRateAndClockFrequency: return "PC_to_RDR_SetDataRateAndClockFrequency";
    case MessageType::DataBlock: return "RDR_to_PC_DataBlock";
    case MessageType::SlotStatus: return "RDR_to_PC_SlotStatus";
    case MessageType::Parameters: return "RDR_to_PC_Parameters";
    case MessageType::EscapeReply: return "RDR_to_PC_Escape";
    case MessageType::DataRateAndClockFrequency: return "RDR_to_PC_DataRateAndClockFrequency";
    case MessageType::NotifySlotChange: return "RDR_to_PC_NotifySlotChange";
    case MessageType::HardwareError: return "RDR_to_PC_HardwareError";
    }
    return "unknown";
}

std::string_view errorName(std::uint8_t bError)
{
    switch (bError) {
    case error::CommandNotSupported: return "CMD_NOT_SUPPORTED";
    case error::CommandSlotBusy: return "CMD_SLOT_BUSY";
    case error::PinCancelled: return "PIN_CANCELLED";
    case error::PinTimeout: return "PIN_TIMEOUT";
    case error::BusyWithAutoSequence: return "BUSY_WITH_AUTO_SEQUENCE";
    case error::DeactivatedProtocol: return "DEACTIVATED_PROTOCOL";
    case error::ProcedureByteConflict: return "PROCEDURE_BYTE_CONFLICT";
    case error::IccClassNotSupported: return "ICC_CLASS_NOT_SUPPORTED";
    case error::IccProtocolNotSupported: return "ICC_PROTOCOL_NOT_SUPPORTED";
    case error::BadAtrTck: return "BAD_ATR_TCK";
    case error::BadAtrTs: return "BAD_ATR_TS";
    case error::HardwareError: return "HW_ERROR";
    case error::XfrOverrun: return "XFR_OVERRUN";
    case error::XfrParityError: return "XFR_PARITY_ERROR";
    case error::IccMute: return "ICC_MUTE";
    case error::CommandAborted: return "CMD_ABORTED";
    default: return bError < 0x80 ? "bad field" : "reserved";
    }
}

bool isCommand(std::uint8_t type)
{
    switch (static_cast<MessageType>(type)) {
    case MessageType::SetParameters:
    case MessageType::IccPowerOn:
    case MessageType::IccPowerOff:
    case MessageType::GetSlotStatus:
    case MessageType::Secure:
    case MessageType::T0Apdu:
    case MessageType::Escape:
    case MessageType::GetParameters:
    case MessageType::ResetParameters:
    case MessageType::IccClock:
    case MessageType::XfrBlock:
    case MessageType::Mechanical:
    case MessageType::Abort:
    case MessageType::SetDataRateAndClockFrequency: return true;
    default: return false;
    }
}

MessageType replyTypeFor(std::uint8_t commandType)
{
    switch (static_cast<MessageType>(commandType)) {
    case MessageType::IccPowerOn:
    case MessageType::XfrBlock:
    case MessageType::Secure: return MessageType::DataBlock;
    case MessageType::GetParameters:
    case MessageType::ResetParameters:
    case MessageType::SetParameters: return MessageType::Parameters;
    case MessageType::Escape: return MessageType::EscapeReply;
    case MessageType::SetDataRateAndClockFrequency: return MessageType::DataRateAndClockFrequency;
    default:
        // IccPowerOff, GetSlotStatus, IccClock, T0APDU, Mechanical, Abort, and what the spec
        // does not define at all (CCID 6.2.6: answered with SlotStatus, CMD_NOT_SUPPORTED).
        return MessageType::SlotStatus;
    }
}

Bytes encode(const Message& message)
{
    Bytes out;
    out.reserve(kHeaderSize + message.data.size());
    out.push_back(message.type);
    const auto length = static_cast<std::uint32_t>(message.data.size());
    for (int shift = 0; shift < 32; shift += 8)
        out.push_back(static_cast<std::uint8_t>(length >> shift));
    out.push_back(message.slot);
    out.push_back(message.seq);
    out.insert(out.end(), message.specific.begin(), message.specific.end());
    out.insert(out.end(), message.data.begin(), message.data.end());
    return out;
}

std::uint32_t announcedLength(ByteView header)
{
    return readLittleEndian32(header, 1);
}

Result<Message, CcidError> parseMessage(ByteView bytes)
{
    if (bytes.size() < kHeaderSize)
        return fail(CcidError{"CCID message of " + std::to_string(bytes.size()) +
                              " bytes is shorter than its 10-byte header"});
    const std::uint32_t length = announcedLength(bytes);
    if (length != bytes.size() - kHeaderSize)
        return fail(CcidError{"CCID message " + std::string(messageTypeName(bytes[0])) +
                              " announces " + std::to_string(length) + " data bytes, carries " +
                              std::to_string(bytes.size() - kHeaderSize)});
    Message message;
    message.type = bytes[0];
    message.slot = bytes[5];
    message.seq = bytes[6];
    message.specific = {bytes[7], bytes[8], bytes[9]};
    message.data.assign(bytes.begin() + kHeaderSize, bytes.end());
    return message;
}

std::uint8_t statusByte(IccStatus icc, CommandStatus command)
{
    return static_cast<std::uint8_t>(static_cast<std::uint8_t>(icc) |
                                     (static_cast<std::uint8_t>(command) << 6));
}

IccStatus iccStatusOf(std::uint8_t bStatus)
{
    return static_cast<IccStatus>(bStatus & 0x03);
}

CommandStatus commandStatusOf(std::uint8_t bStatus)
{
    return static_cast<CommandStatus>((bStatus >> 6) & 0x03);
}

Message makeReply(const Message& command, MessageType replyType, IccStatus icc,
                  CommandStatus status, std::uint8_t bError, std::uint8_t third, Bytes data)
{
    Message reply;
    reply.type = static_cast<std::uint8_t>(replyType);
    reply.slot = command.slot;
    reply.seq = command.seq;
    reply.specific = {statusByte(icc, status), bError, third};
    reply.data = std::move(data);
    return reply;
}

Bytes encodeNotifySlotChange(std::span<const SlotChange> slots)
{
    Bytes out{static_cast<std::uint8_t>(MessageType::NotifySlotChange)};
    out.resize(1 + (slots.size() * 2 + 7) / 8, 0);
    for (std::size_t slot = 0; slot < slots.size(); ++slot) {
        const std::size_t bit = slot * 2;
        std::uint8_t& byte = out[1 + bit / 8];
        if (slots[slot].present)
            byte |= static_cast<std::uint8_t>(1u << (bit % 8));
        if (slots[slot].changed)
            byte |= static_cast<std::uint8_t>(2u << (bit % 8));
    }
    return out;
}

Bytes ProtocolParameters::encode() const
{
    if (protocol == 0)
        return {fiDi, tcck, guardTime, waitingInteger, clockStop};
    return {fiDi, tcck, guardTime, waitingInteger, clockStop, ifsc, nad};
}

std::optional<ProtocolParameters> ProtocolParameters::parse(std::uint8_t protocol, ByteView data)
{
    // T=0 has the first five fields; T=1 adds bIFSC and bNadValue.
    const std::size_t expected = protocol == 0 ? 5 : protocol == 1 ? 7 : 0;
    if (expected == 0 || data.size() != expected)
        return std::nullopt;
    ProtocolParameters parameters;
    parameters.protocol = protocol;
    parameters.fiDi = data[0];
    parameters.tcck = data[1];
    parameters.guardTime = data[2];
    parameters.waitingInteger = data[3];
    parameters.clockStop = data[4];
    if (protocol == 1) {
        parameters.ifsc = data[5];
        parameters.nad = data[6];
    }
    return parameters;
}

Bytes ClassDescriptor::encode() const
{
    Bytes out{0x36, 0x21};
    appendLittleEndian16(out, 0x0110); // bcdCCID 1.10
    out.push_back(maxSlotIndex);
    out.push_back(0x07); // bVoltageSupport: 5 V, 3 V, 1.8 V
    appendLittleEndian32(out, protocols);
    appendLittleEndian32(out, defaultClockKhz);
    appendLittleEndian32(out, defaultClockKhz); // dwMaximumClock
    out.push_back(0);                           // bNumClockSupported
    appendLittleEndian32(out, dataRate);
    appendLittleEndian32(out, maxDataRate);
    out.push_back(0); // bNumDataRatesSupported
    appendLittleEndian32(out, maxIfsd);
    appendLittleEndian32(out, 0); // dwSynchProtocols
    appendLittleEndian32(out, 0); // dwMechanical
    appendLittleEndian32(out, features);
    appendLittleEndian32(out, maxMessageLength);
    out.push_back(0xFF);          // bClassGetResponse: echo the command's class
    out.push_back(0xFF);          // bClassEnvelope
    appendLittleEndian16(out, 0); // wLcdLayout: none
    out.push_back(0);             // bPINSupport: no PIN pad is claimed
    out.push_back(maxBusySlots);
    return out;
}

Bytes configurationDescriptor(const ClassDescriptor& descriptor, std::uint8_t interfaceString)
{
    const Bytes ccid = descriptor.encode();
    const Bytes interface {
        0x09, 0x04, 0x00, 0x00, 0x03, 0x0B, 0x00, 0x00, interfaceString
    };
    const Bytes endpoints{0x07, 0x05, 0x02, 0x02, 0x40, 0x00, 0x00,  // bulk out
                          0x07, 0x05, 0x82, 0x02, 0x40, 0x00, 0x00,  // bulk in
                          0x07, 0x05, 0x83, 0x03, 0x08, 0x00, 0x10}; // interrupt in
    const std::size_t total = 9 + interface.size() + ccid.size() + endpoints.size();
    Bytes out{0x09, 0x02};
    appendLittleEndian16(out, static_cast<std::uint16_t>(total));
    out.insert(out.end(), {0x01, 0x01, 0x00, 0x80, 0x32}); // 1 interface, bus powered, 100 mA
    out.insert(out.end(), interface.begin(), interface.end());
    out.insert(out.end(), ccid.begin(), ccid.end());
    out.insert(out.end(), endpoints.begin(), endpoints.end());
    return out;
}

std::string describe(const Message& message)
{
    return describe(message, pinsInCommand(message));
}

std::string describeWire(ByteView bytes, const SecretRanges& secret)
{
    const auto message = parseMessage(bytes);
    return message ? describe(*message, secret) : message.error().message;
}

std::string describe(const Message& message, const SecretRanges& secret)
{
    std::string text = std::string(messageTypeName(message.type)) + " slot " +
                       std::to_string(message.slot) + " seq " + std::to_string(message.seq);
    if (message.type >= 0x80) {
        const std::uint8_t bStatus = message.specific[0];
        static constexpr const char* kIcc[] = {"active", "present", "absent", "icc?"};
        static constexpr const char* kCommand[] = {"ok", "failed", "time-extension", "cmd?"};
        text += std::string(" ") + kIcc[bStatus & 0x03] + " " + kCommand[(bStatus >> 6) & 0x03];
        if (commandStatusOf(bStatus) == CommandStatus::Failed)
            text += " bError " + hexByte(message.specific[1]) + " (" +
                    std::string(errorName(message.specific[1])) + ")";
    } else {
        text += " [" + trace::hex(message.specific) + "]";
    }
    if (!message.data.empty())
        text += " data " + std::to_string(message.data.size()) + ": " +
                trace::hexWithSecrets(message.data, secret);
    return text;
}

} // namespace vscard::ccid
