#include "vscard/vscard_wire.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace vscard {

namespace {

constexpr std::size_t kInitFixedSize = 8; // magic + version

std::string hex32(std::uint32_t value)
{
    char text[11];
    std::snprintf(text, sizeof text, "0x%08X", value);
    return text;
}

DecodeError makeError(DecodeErrorKind kind, std::string message, std::uint32_t type = 0,
                      std::uint32_t readerId = 0)
{
    return DecodeError{kind, type, readerId, std::move(message)};
}

// Payload size a fixed-size message must have, or nullopt where any size is valid.
std::optional<std::size_t> fixedPayloadSize(MessageType type)
{
    switch (type) {
    case MessageType::Error:
    case MessageType::PowerRequest: return 4;
    case MessageType::ReaderRemove:
    case MessageType::CardRemove:
    case MessageType::Flush:
    case MessageType::FlushComplete: return 0;
    case MessageType::Init:
    case MessageType::ReaderAdd:
    case MessageType::Atr:
    case MessageType::Apdu:
    case MessageType::PowerResponse: return std::nullopt;
    }
    return std::nullopt;
}

} // namespace

std::string_view messageTypeName(MessageType type)
{
    switch (type) {
    case MessageType::Init: return "Init";
    case MessageType::Error: return "Error";
    case MessageType::ReaderAdd: return "ReaderAdd";
    case MessageType::ReaderRemove: return "ReaderRemove";
    case MessageType::Atr: return "ATR";
    case MessageType::CardRemove: return "CardRemove";
    case MessageType::Apdu: return "APDU";
    case MessageType::Flush: return "Flush";
    case MessageType::FlushComplete: return "FlushComplete";
    case MessageType::PowerRequest: return "PowerRequest";
    case MessageType::PowerResponse: return "PowerResponse";
    }
    return "Unknown";
}

bool isKnownMessageType(std::uint32_t type)
{
    return (type >= static_cast<std::uint32_t>(MessageType::Init) &&
            type <= static_cast<std::uint32_t>(MessageType::FlushComplete)) ||
           type == static_cast<std::uint32_t>(MessageType::PowerRequest) ||
           type == static_cast<std::uint32_t>(MessageType::PowerResponse);
}

std::string_view errorCodeName(std::uint32_t code)
{
    switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::Success: return "SUCCESS";
    case ErrorCode::GeneralError: return "GENERAL_ERROR";
    case ErrorCode::CannotAddMoreReaders: return "CANNOT_ADD_MORE_READERS";
    case ErrorCode::CardAlreadyInserted: return "CARD_ALREADY_INSERTED";
    }
    return "UNKNOWN_ERROR";
}

std::string_view powerActionName(PowerAction action)
{
    switch (action) {
    case PowerAction::Off: return "off";
    case PowerAction::ColdReset: return "cold-reset";
    case PowerAction::WarmReset: return "warm-reset";
    }
    return "unknown";
}

Bytes encodeMessage(MessageType type, std::uint32_t readerId, ByteView payload)
{
    if (payload.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("VSCard payload does not fit a 32-bit length");
    Bytes out;
    out.reserve(kHeaderSize + payload.size());
    appendBigEndian32(out, static_cast<std::uint32_t>(type));
    appendBigEndian32(out, readerId);
    appendBigEndian32(out, static_cast<std::uint32_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes encodeInit(std::uint32_t readerId, const InitPayload& init)
{
    Bytes payload(kMagic.begin(), kMagic.end());
    appendBigEndian32(payload, init.version);
    for (std::uint32_t word : init.capabilities)
        appendBigEndian32(payload, word);
    return encodeMessage(MessageType::Init, readerId, payload);
}

Bytes encodeError(std::uint32_t readerId, ErrorCode code)
{
    Bytes payload;
    appendBigEndian32(payload, static_cast<std::uint32_t>(code));
    return encodeMessage(MessageType::Error, readerId, payload);
}

Bytes encodeReaderAdd(std::uint32_t readerId, std::string_view name)
{
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(name.data());
    return encodeMessage(MessageType::ReaderAdd, readerId, ByteView(bytes, name.size()));
}

Bytes encodePowerRequest(std::uint32_t readerId, PowerAction action)
{
    Bytes payload;
    appendBigEndian32(payload, static_cast<std::uint32_t>(action));
    return encodeMessage(MessageType::PowerRequest, readerId, payload);
}

Result<InitPayload, DecodeError> parseInitPayload(ByteView payload)
{
    constexpr auto type = static_cast<std::uint32_t>(MessageType::Init);
    if (payload.size() < kInitFixedSize)
        return fail(makeError(DecodeErrorKind::MalformedInit,
                              "Init payload of " + std::to_string(payload.size()) +
                                  " bytes is shorter than magic and version (8 bytes)",
                              type));
    if (!std::equal(kMagic.begin(), kMagic.end(), payload.begin()))
        return fail(makeError(
            DecodeErrorKind::MalformedInit,
            "Init magic is " + hex32(readBigEndian32(payload, 0)) + ", expected \"VSCD\"", type));
    if ((payload.size() - kInitFixedSize) % 4 != 0)
        return fail(makeError(DecodeErrorKind::MalformedInit,
                              "Init capabilities of " +
                                  std::to_string(payload.size() - kInitFixedSize) +
                                  " bytes are not a whole number of 32-bit words",
                              type));
    InitPayload init;
    init.version = readBigEndian32(payload, 4);
    init.capabilities.clear();
    for (std::size_t offset = kInitFixedSize; offset < payload.size(); offset += 4)
        init.capabilities.push_back(readBigEndian32(payload, offset));
    return init;
}

Result<std::uint32_t, DecodeError> parseErrorPayload(ByteView payload)
{
    if (payload.size() != 4)
        return fail(
            makeError(DecodeErrorKind::MalformedPayload,
                      "Error payload of " + std::to_string(payload.size()) + " bytes, expected 4",
                      static_cast<std::uint32_t>(MessageType::Error)));
    return readBigEndian32(payload, 0);
}

Result<PowerAction, DecodeError> parsePowerRequestPayload(ByteView payload)
{
    constexpr auto type = static_cast<std::uint32_t>(MessageType::PowerRequest);
    if (payload.size() != 4)
        return fail(makeError(DecodeErrorKind::MalformedPayload,
                              "PowerRequest payload of " + std::to_string(payload.size()) +
                                  " bytes, expected 4",
                              type));
    const std::uint32_t action = readBigEndian32(payload, 0);
    if (action > static_cast<std::uint32_t>(PowerAction::WarmReset))
        return fail(makeError(DecodeErrorKind::MalformedPayload,
                              "PowerRequest action " + std::to_string(action) + " is unknown",
                              type));
    return static_cast<PowerAction>(action);
}

std::string readerNameFromPayload(ByteView payload)
{
    std::size_t length = payload.size();
    while (length > 0 && payload[length - 1] == 0)
        --length;
    return std::string(reinterpret_cast<const char*>(payload.data()), length);
}

MessageDecoder::MessageDecoder(DecoderLimits limits) : limits_(limits) {}

void MessageDecoder::feed(ByteView chunk)
{
    if (failed() || chunk.empty())
        return;
    buffer_.append(chunk);
}

std::optional<DecodeError> MessageDecoder::checkHeader(std::uint32_t type, std::uint32_t readerId,
                                                       std::uint32_t length) const
{
    if (!isKnownMessageType(type))
        return makeError(DecodeErrorKind::UnknownType,
                         "unknown message type " + std::to_string(type) + " (" + hex32(type) +
                             ") for reader " + hex32(readerId),
                         type, readerId);
    const auto messageType = static_cast<MessageType>(type);
    // Built only on failure: next() checks the header again each time a partial payload grows.
    const auto announces = [&] {
        return std::string(messageTypeName(messageType)) + " for reader " + hex32(readerId) +
               " announces " + std::to_string(length) + " payload bytes";
    };
    if (length > limits_.maxPayload)
        return makeError(DecodeErrorKind::OversizedLength,
                         announces() + ", limit is " + std::to_string(limits_.maxPayload), type,
                         readerId);
    if (const auto fixed = fixedPayloadSize(messageType); fixed && length != *fixed)
        return makeError(DecodeErrorKind::MalformedPayload,
                         announces() + ", expected " + std::to_string(*fixed), type, readerId);
    // Checked here so that a peer cannot make us wait for a large Init that is wrong anyway.
    if (messageType == MessageType::Init && length < kInitFixedSize)
        return makeError(DecodeErrorKind::MalformedInit,
                         announces() + ", shorter than magic and version (8 bytes)", type,
                         readerId);
    return std::nullopt;
}

std::optional<Result<Message, DecodeError>> MessageDecoder::next()
{
    if (failure_)
        return Result<Message, DecodeError>(fail(*failure_));
    const ByteView pending = buffer_.pending();
    if (pending.size() < kHeaderSize)
        return std::nullopt;

    const std::uint32_t type = readBigEndian32(pending, 0);
    const std::uint32_t readerId = readBigEndian32(pending, 4);
    const std::uint32_t length = readBigEndian32(pending, 8);
    if (auto error = checkHeader(type, readerId, length)) {
        failure_ = std::move(error);
        return Result<Message, DecodeError>(fail(*failure_));
    }
    if (pending.size() - kHeaderSize < length)
        return std::nullopt;

    const ByteView payload = pending.subspan(kHeaderSize, length);
    if (static_cast<MessageType>(type) == MessageType::Init) {
        if (auto init = parseInitPayload(payload); !init) {
            DecodeError error = init.error();
            error.readerId = readerId;
            failure_ = std::move(error);
            return Result<Message, DecodeError>(fail(*failure_));
        }
    }
    Message message{static_cast<MessageType>(type), readerId,
                    Bytes(payload.begin(), payload.end())};
    buffer_.consume(kHeaderSize + length);
    return Result<Message, DecodeError>(std::move(message));
}

} // namespace vscard
