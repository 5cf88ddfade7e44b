#include "vscard/ccid/secret_tracker.h"

#include "vscard/apdu.h"
#include "vscard/atr.h"

#include <algorithm>
#include <optional>

namespace vscard::ccid {

namespace {

// CLA INS P1 P2 Lc: what a PIN-carrying command may show.
constexpr std::size_t kApduHeaderWithLc = 5;
// NAD PCB LEN: what precedes a T=1 block's information field.
constexpr std::size_t kT1Prologue = 3;
// PPSS: a PPS request or its echo, which travels in XfrBlock before any T=1 block.
constexpr std::uint8_t kPpsStart = 0xFF;

constexpr std::uint32_t kFeatureLevelMask = 0x00070000;
constexpr std::uint32_t kFeatureTpduLevel = 0x00010000;

struct T1Block {
    std::uint8_t pcb = 0;
    ByteView information;
    trace::ByteRange edc; // LRC or CRC: computed over the information, so as secret as it is

    bool isInformation() const { return (pcb & 0x80) == 0; }
    // The M bit of an I-block: more of the same APDU follows.
    bool chains() const { return (pcb & 0x20) != 0; }
};

// NAD PCB LEN INF EDC, the EDC one or two bytes: nothing else reads as a block.
std::optional<T1Block> t1Block(ByteView data)
{
    if (data.size() <= kT1Prologue || data[0] == kPpsStart || kT1Prologue + data[2] >= data.size())
        return std::nullopt;
    const std::size_t edcOffset = kT1Prologue + data[2];
    return T1Block{data[1], data.subspan(kT1Prologue, data[2]),
                   trace::ByteRange{edcOffset, data.size() - edcOffset}};
}

// The data of a PIN-carrying command APDU that starts `offset` bytes into the message data.
void addApduPins(SecretRanges& out, ByteView apdu, std::size_t offset)
{
    if (apdu.size() > kApduHeaderWithLc && instructionCarriesSecret(apdu[1]))
        out.push_back({offset + kApduHeaderWithLc, apdu.size() - kApduHeaderWithLc});
}

// PC_to_RDR_Secure (CCID 6.1.11): abData is bPINOperation, then for a verification (00) the PIN
// Verification Data Structure, 14 bytes of fixed fields and the APDU whose data is the PIN block:
// that data is masked. A modification (01) has the PIN Modification Data Structure, whose message
// indexes vary in number (bNumberMessage): everything after its first 14 bytes is masked, the
// APDU header with the rest. Any other operation is masked after its first byte, and a Secure
// that continues an APDU (wLevelParameter 0002 or 0003) is masked whole.
SecretRanges pinsInSecure(const std::array<std::uint8_t, 3>& specific, ByteView data)
{
    constexpr std::uint8_t kVerify = 0x00;
    constexpr std::uint8_t kModify = 0x01;
    constexpr std::size_t kFixedFields = 1 + 14; // bPINOperation and the structure's fixed part
    const unsigned level = specific[1] | (specific[2] << 8);
    std::size_t shown = 1;
    if (level == 0x0002 || level == 0x0003)
        shown = 0;
    else if (!data.empty() && data[0] == kVerify)
        shown = kFixedFields + kApduHeaderWithLc;
    else if (!data.empty() && data[0] == kModify)
        shown = kFixedFields;
    if (data.size() <= shown)
        return {};
    return {{shown, data.size() - shown}};
}

// An XfrBlock's data read both as an APDU (or T=0 TPDU) and as a T=1 I-block.
SecretRanges pinsInXfrBlock(ByteView data)
{
    SecretRanges secret;
    addApduPins(secret, data, 0);
    if (const auto block = t1Block(data); block && block->isInformation()) {
        const std::size_t before = secret.size();
        addApduPins(secret, block->information, kT1Prologue);
        if (secret.size() != before)
            secret.push_back(block->edc);
    }
    return secret;
}

bool isType(std::uint8_t type, MessageType expected)
{
    return type == static_cast<std::uint8_t>(expected);
}

} // namespace

ExchangeLevel exchangeLevelOf(const ClassDescriptor& descriptor)
{
    return (descriptor.features & kFeatureLevelMask) == kFeatureTpduLevel ? ExchangeLevel::Tpdu
                                                                          : ExchangeLevel::Apdu;
}

SecretRanges pinsInCommand(const Message& command)
{
    if (isType(command.type, MessageType::Secure))
        return pinsInSecure(command.specific, command.data);
    if (isType(command.type, MessageType::XfrBlock))
        return pinsInXfrBlock(command.data);
    return {};
}

SecretRanges SecretTracker::observe(ByteView message)
{
    if (message.size() < kHeaderSize)
        return {};
    const std::uint8_t type = message[0];
    const std::uint8_t slot = message[5];
    const std::array<std::uint8_t, 3> specific{message[7], message[8], message[9]};
    const ByteView data = message.subspan(kHeaderSize);
    if (type < static_cast<std::uint8_t>(MessageType::DataBlock))
        return observeCommand(slot, type, specific, data);
    return observeReply(slot, type, specific, data);
}

SecretRanges SecretTracker::observeCommand(std::uint8_t slot, std::uint8_t type,
                                           const std::array<std::uint8_t, 3>& specific,
                                           ByteView data)
{
    Slot& state = slots_[slot];
    state.awaitedReplyTo = type;
    switch (static_cast<MessageType>(type)) {
    case MessageType::XfrBlock: {
        if (level_ == ExchangeLevel::Apdu) {
            if (!data.empty()) // empty: asks for the rest of a chained answer
                responses_.command(slot, data);
            SecretRanges secret;
            addApduPins(secret, data, 0);
            return secret;
        }
        // TPDU level: a PIN is masked under both readings of the bytes, whatever the protocol
        // is believed to be; the answer's secrecy follows the protocol.
        SecretRanges secret = pinsInXfrBlock(data);
        if (state.t1) {
            const SecretRanges more = t1Command(slot, data);
            secret.insert(secret.end(), more.begin(), more.end());
        } else {
            responses_.command(slot, data); // a T=0 TPDU starts with the APDU's header
        }
        return secret;
    }
    case MessageType::Secure:
        responses_.forget(slot); // a PIN pad's answer is a status word
        return pinsInSecure(specific, data);
    case MessageType::IccPowerOn:
    case MessageType::IccPowerOff:
        responses_.forget(slot);
        state = Slot{type};
        return {};
    default: return {};
    }
}

SecretRanges SecretTracker::observeReply(std::uint8_t slot, std::uint8_t type,
                                         const std::array<std::uint8_t, 3>& specific, ByteView data)
{
    Slot& state = slots_[slot];
    const CommandStatus status = commandStatusOf(specific[0]);
    if (status == CommandStatus::TimeExtension)
        return {}; // the command still waits for its card
    const std::uint8_t command = state.awaitedReplyTo;
    state.awaitedReplyTo = 0;
    if (status != CommandStatus::Ok) {
        if (isType(command, MessageType::XfrBlock) || isType(command, MessageType::Secure)) {
            responses_.forget(slot); // the exchange ended without an answer
            state.hostChaining = false;
        }
        return {};
    }
    if (isType(type, MessageType::Parameters)) {
        state.t1 = level_ == ExchangeLevel::Tpdu && specific[2] == 1; // bProtocolNum
        return {};
    }
    if (!isType(type, MessageType::DataBlock))
        return {};
    if (isType(command, MessageType::IccPowerOn)) {
        // The reader starts with T=0 when the ATR offers it, else T=1, as CcidDevice does.
        const auto atr = Atr::parse(data);
        state.t1 = level_ == ExchangeLevel::Tpdu && atr && !atr->offersProtocol(0);
        return {};
    }
    if (state.t1)
        return t1Reply(slot, data);
    // bChainParameter (CCID 6.2.1) 01 or 03: more of the answer follows, its status word last.
    const std::uint8_t chain = specific[2];
    if (chain == 0x01 || chain == 0x03) {
        if (responses_.awaited(slot) == trace::Secrecy::Public || data.empty())
            return {};
        return {{0, data.size()}};
    }
    if (responses_.response(slot, data) == trace::Secrecy::Public ||
        data.size() <= 2) // the status word alone
        return {};
    return {{0, data.size() - 2}};
}

SecretRanges SecretTracker::t1Command(std::uint8_t slot, ByteView data)
{
    Slot& state = slots_[slot];
    const auto block = t1Block(data);
    if (!block || !block->isInformation())
        return {}; // R-blocks and S-blocks carry no APDU
    SecretRanges secret;
    if (!state.hostChaining) { // the first block of a command: it starts with the header
        responses_.command(slot, block->information);
        state.commandCarriesPin =
            block->information.size() >= 2 && instructionCarriesSecret(block->information[1]);
    } else if (state.commandCarriesPin) {
        secret.push_back({kT1Prologue, block->information.size()});
        secret.push_back(block->edc);
    }
    state.hostChaining = block->chains();
    return secret;
}

SecretRanges SecretTracker::t1Reply(std::uint8_t slot, ByteView data)
{
    const auto block = t1Block(data);
    if (!block || !block->isInformation())
        return {};
    const ByteView information = block->information;
    if (block->chains()) { // the status word comes in the last block
        if (responses_.awaited(slot) == trace::Secrecy::Public || information.empty())
            return {};
        return {{kT1Prologue, information.size()}, block->edc};
    }
    if (responses_.response(slot, information) == trace::Secrecy::Public || information.size() <= 2)
        return {};
    return {{kT1Prologue, information.size() - 2}, block->edc};
}

} // namespace vscard::ccid
