#include "vscard/trace.h"

#include "vscard/apdu.h"
#include "vscard/atr.h"
#include "vscard/vscard_wire.h"

#include <atomic>
#include <cstdio>
#include <fnmatch.h>

namespace vscard::trace {

namespace {

std::atomic<bool> revealSecretsFlag{false};

constexpr char kHexDigits[] = "0123456789ABCDEF";

void appendHexByte(std::string& out, std::uint8_t value)
{
    out.push_back(kHexDigits[value >> 4]);
    out.push_back(kHexDigits[value & 0x0F]);
}

std::string hex32(std::uint32_t value)
{
    char text[9];
    std::snprintf(text, sizeof text, "%08X", value);
    return text;
}

std::string maskedData(std::size_t count)
{
    return "<" + std::to_string(count) + (count == 1 ? " byte masked>" : " bytes masked>");
}

std::string describeInit(ByteView payload)
{
    const auto init = parseInitPayload(payload);
    if (!init)
        return "malformed: " + init.error().message;
    std::string text = "version " + std::to_string(versionMajor(init->version)) + "." +
                       std::to_string(versionMiddle(init->version)) + "." +
                       std::to_string(versionMinor(init->version)) + ", capabilities";
    for (std::uint32_t word : init->capabilities)
        text += " " + hex32(word);
    if (init->has(capability::ExtendedApdu))
        text += " extended-apdu";
    if (init->has(capability::CardPower))
        text += " card-power";
    return text;
}

std::string describeAtr(ByteView payload)
{
    const auto atr = Atr::parse(payload);
    return atr ? atr->describe() : hex(payload) + " (" + atr.error().message + ")";
}

std::string describePayload(const Message& message, Direction direction, Secrecy secrecy,
                            std::size_t dataLimit)
{
    const ByteView payload = message.payload;
    switch (message.type) {
    case MessageType::Init: return describeInit(payload);
    case MessageType::Error: {
        const auto code = parseErrorPayload(payload);
        return code ? std::string(errorCodeName(*code)) + " (" + std::to_string(*code) + ")"
                    : "malformed: " + code.error().message;
    }
    case MessageType::ReaderAdd: return "\"" + readerNameFromPayload(payload) + "\"";
    case MessageType::Atr: return describeAtr(payload);
    case MessageType::Apdu:
        return direction == Direction::HostToClient
                   ? describeCommandApdu(payload, dataLimit)
                   : describeResponseApdu(payload, secrecy, dataLimit);
    case MessageType::PowerRequest: {
        const auto action = parsePowerRequestPayload(payload);
        return action ? std::string(powerActionName(*action))
                      : "malformed: " + action.error().message;
    }
    case MessageType::PowerResponse:
        return payload.empty() ? std::string("done") : describeAtr(payload);
    case MessageType::ReaderRemove:
    case MessageType::CardRemove:
    case MessageType::Flush:
    case MessageType::FlushComplete: return {};
    }
    return hexShort(payload, dataLimit);
}

} // namespace

void setRevealSecrets(bool reveal)
{
    revealSecretsFlag.store(reveal, std::memory_order_relaxed);
}

bool revealSecrets()
{
    return revealSecretsFlag.load(std::memory_order_relaxed);
}

std::string hex(ByteView bytes)
{
    std::string out;
    out.reserve(bytes.size() * 3);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i != 0)
            out.push_back(' ');
        appendHexByte(out, bytes[i]);
    }
    return out;
}

std::string hexShort(ByteView bytes, std::size_t limit)
{
    if (bytes.size() <= limit)
        return hex(bytes);
    return hex(bytes.first(limit)) + " ... (" + std::to_string(bytes.size()) + " bytes)";
}

std::string printable(ByteView bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (std::uint8_t byte : bytes)
        out.push_back(byte >= 0x20 && byte < 0x7F ? static_cast<char>(byte) : '.');
    return out;
}

std::string hexDump(ByteView bytes)
{
    constexpr std::size_t kPerLine = 16;
    std::string out;
    for (std::size_t offset = 0; offset < bytes.size(); offset += kPerLine) {
        const ByteView line = bytes.subspan(offset, std::min(kPerLine, bytes.size() - offset));
        char position[24];
        std::snprintf(position, sizeof position, "%04zX  ", offset);
        std::string hexColumn = hex(line);
        hexColumn.resize(kPerLine * 3 - 1, ' ');
        out += position + hexColumn + "  " + printable(line) + "\n";
    }
    return out;
}

std::string hexWithSecrets(ByteView bytes, std::span<const ByteRange> secret, std::size_t dataLimit)
{
    if (secret.empty() || revealSecrets())
        return hexShort(bytes, dataLimit);
    std::vector<bool> masked(bytes.size(), false);
    for (const ByteRange& range : secret) {
        const std::size_t end = std::min(bytes.size(), range.offset + range.length);
        for (std::size_t i = std::min(range.offset, end); i < end; ++i)
            masked[i] = true;
    }
    std::string out;
    std::size_t shown = 0;
    for (std::size_t i = 0; i < bytes.size();) {
        if (shown == dataLimit)
            return out + " ... (" + std::to_string(bytes.size()) + " bytes)";
        if (!out.empty())
            out.push_back(' ');
        if (masked[i]) {
            const std::size_t start = i;
            while (i < bytes.size() && masked[i])
                ++i;
            out += maskedData(i - start);
        } else {
            appendHexByte(out, bytes[i++]);
        }
        ++shown; // a masked run counts as one item: it is one word on the line
    }
    return out;
}

std::string maskedHex(ByteView commandApdu, std::size_t dataLimit)
{
    if (commandApdu.size() <= 4 || !instructionCarriesSecret(commandApdu[1]) || revealSecrets())
        return hexShort(commandApdu, dataLimit);
    // Keep the header and the length byte of a short APDU, hide everything that may be PIN.
    const std::size_t shown = commandApdu.size() > 5 ? 5 : 4;
    std::string out = hex(commandApdu.first(shown));
    for (std::size_t i = shown; i < commandApdu.size(); ++i)
        out += " **";
    return out;
}

std::string describeCommandApdu(ByteView bytes, std::size_t dataLimit)
{
    const auto parsed = CommandApdu::parse(bytes);
    if (!parsed)
        return "unparsable command " + maskedHex(bytes, dataLimit) + " (" + parsed.error().message +
               ")";
    const CommandApdu& apdu = *parsed;
    std::string text;
    if (const auto name = instructionName(apdu.ins()); !name.empty())
        text += std::string(name) + " ";
    text += hex(bytes.first(4));
    text += " (" + std::string(apduCaseName(apdu.apduCase(), apdu.isExtended())) + ")";
    if (apdu.isChained())
        text += " chained";
    if (apdu.nc() != 0)
        text += " Lc=" + std::to_string(apdu.nc());
    if (apdu.ne() != 0)
        text += " Le=" + std::to_string(apdu.ne());
    if (apdu.nc() != 0)
        text += " data=" + (instructionCarriesSecret(apdu.ins()) && !revealSecrets()
                                ? maskedData(apdu.nc())
                                : hexShort(apdu.data(), dataLimit));
    return text;
}

std::string describeResponseApdu(ByteView bytes, Secrecy secrecy, std::size_t dataLimit)
{
    const bool mask = secrecy == Secrecy::Secret && !revealSecrets();
    const auto parsed = ResponseApdu::parse(bytes);
    if (!parsed)
        return "unparsable response " +
               (mask ? maskedData(bytes.size()) : hexShort(bytes, dataLimit)) + " (" +
               parsed.error().message + ")";
    std::string text = parsed->status().describe();
    if (parsed->data().empty())
        return text;
    if (mask)
        return text + ", " + maskedData(parsed->data().size());
    return text + ", " + std::to_string(parsed->data().size()) +
           " data bytes: " + hexShort(parsed->data(), dataLimit);
}

Secrecy observeMessage(SecretResponses& secrets, const Message& message, Direction direction)
{
    return observeMessage(secrets, message.type, message.readerId, message.payload, direction);
}

Secrecy observeMessage(SecretResponses& secrets, MessageType type, std::uint32_t readerId,
                       ByteView payload, Direction direction)
{
    switch (type) {
    case MessageType::Apdu:
        if (direction == Direction::HostToClient) {
            secrets.command(readerId, payload);
            return Secrecy::Public;
        }
        return secrets.response(readerId, payload);
    case MessageType::Atr:        // a new card, or the old one after a reset
    case MessageType::CardRemove: // nothing of the card's will answer any more
    case MessageType::ReaderRemove:
    case MessageType::PowerRequest: // reset or power off: the card forgets the command
        secrets.forget(readerId);
        return Secrecy::Public;
    default: return Secrecy::Public;
    }
}

std::string describeMessage(const Message& message, Direction direction, Secrecy secrecy,
                            std::size_t dataLimit)
{
    std::string text = std::string(messageTypeName(message.type)) + " reader " +
                       (message.readerId == kUndefinedReaderId ? std::string("undefined")
                                                               : std::to_string(message.readerId)) +
                       ", " + std::to_string(message.payload.size()) + " bytes";
    const std::string details = describePayload(message, direction, secrecy, dataLimit);
    if (!details.empty())
        text += ": " + details;
    return text;
}

TraceFilter::TraceFilter(std::string_view spec)
{
    std::size_t start = 0;
    while (start <= spec.size()) {
        const std::size_t comma = std::min(spec.find(',', start), spec.size());
        std::string_view item = spec.substr(start, comma - start);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (!item.empty()) {
            const bool enable = item.front() != '-';
            if (!enable)
                item.remove_prefix(1);
            rules_.push_back(Rule{std::string(item), enable});
        }
        start = comma + 1;
    }
}

bool TraceFilter::enabled(std::string_view category) const
{
    const std::string name(category);
    bool result = false;
    for (const auto& rule : rules_) {
        if (fnmatch(rule.pattern.c_str(), name.c_str(), 0) == 0)
            result = rule.enable;
    }
    return result;
}

} // namespace vscard::trace
