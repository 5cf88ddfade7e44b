#include "vscard/ccid/ccid_device.h"

#include "vscard/atr.h"
#include "vscard/ccid/t1_card_side.h"

namespace vscard::ccid {

namespace {

// Reported by SetDataRateAndClockFrequency: the ISO 7816-3 defaults a real reader starts with.
constexpr std::uint32_t kClockKhz = 4000;
constexpr std::uint32_t kDataRateBps = 10752;

// The parameters a reader uses after power-on, derived from the ATR (CCID 6.1.7).
ProtocolParameters parametersFromAtr(ByteView atrBytes)
{
    ProtocolParameters parameters;
    const auto atr = Atr::parse(atrBytes);
    if (!atr)
        return parameters; // an ATR we cannot read: T=0 with the ISO defaults
    const bool inverse = !atr->isDirectConvention();
    parameters.fiDi = atr->fiDi();
    parameters.guardTime = atr->extraGuardTime();
    if (atr->offersProtocol(0)) {
        parameters.protocol = 0;
        parameters.tcck = inverse ? 0x02 : 0x00;
        parameters.waitingInteger = atr->t0WaitingIntegerWi();
    } else {
        parameters.protocol = 1;
        parameters.tcck = static_cast<std::uint8_t>(0x10 | (atr->t1UsesCrc() ? 0x01 : 0x00) |
                                                    (inverse ? 0x02 : 0x00));
        parameters.waitingInteger = atr->t1BwiCwi();
        parameters.ifsc = atr->t1Ifsc();
    }
    return parameters;
}

// A PPS request (ISO 7816-3 9): PPSS FF, PPS0, the optional PPS1..3 it announces, PCK.
bool isPpsRequest(ByteView data)
{
    if (data.size() < 3 || data[0] != 0xFF)
        return false;
    const std::size_t optional = ((data[1] >> 4) & 1) + ((data[1] >> 5) & 1) + ((data[1] >> 6) & 1);
    std::uint8_t check = 0;
    for (std::uint8_t byte : data)
        check ^= byte;
    return data.size() == 3 + optional && check == 0;
}

bool usesCrc(const ProtocolParameters& parameters)
{
    return parameters.protocol == 1 && (parameters.tcck & 0x01) != 0;
}

bool atrOffersProtocol(ByteView atrBytes, std::uint8_t protocol)
{
    const auto atr = Atr::parse(atrBytes);
    return atr ? atr->offersProtocol(protocol) : protocol == 0;
}

} // namespace

struct CcidDevice::Slot {
    std::uint8_t index = 0;
    std::shared_ptr<CardPort> port; // null: no card
    Bytes atr;
    bool powered = false;
    ProtocolParameters defaults;
    ProtocolParameters current;
    T1CardSide t1;                  // the block protocol, on a TPDU-level reader
    std::optional<Message> pending; // the command waiting for the card
    std::uint64_t generation = 0;   // moves on with every card and every card operation
    unsigned pulsesWaited = 0;

    IccStatus status() const
    {
        if (!port)
            return IccStatus::Absent;
        return powered ? IccStatus::Active : IccStatus::PresentInactive;
    }
};

CcidDevice::CcidDevice(DeviceConfig config, Output output)
    : config_(std::move(config)), output_(std::move(output)), alive_(std::make_shared<bool>(true))
{
    const std::uint16_t count = std::min<std::uint16_t>(config_.slotCount, 256);
    for (std::uint16_t i = 0; i < count; ++i) {
        slots_.push_back(std::make_unique<Slot>());
        slots_.back()->index = static_cast<std::uint8_t>(i);
    }
}

CcidDevice::~CcidDevice() = default;

void CcidDevice::reply(const Message& message)
{
    if (output_.bulkIn)
        output_.bulkIn(encode(message));
}

void CcidDevice::fail(const Message& command, std::uint8_t bError)
{
    const IccStatus icc =
        command.slot < slots_.size() ? slots_[command.slot]->status() : IccStatus::Absent;
    reply(makeReply(command, replyTypeFor(command.type), icc, CommandStatus::Failed, bError));
}

void CcidDevice::handleCommand(ByteView bytes)
{
    auto parsed = parseMessage(bytes);
    if (!parsed) {
        if (output_.log)
            output_.log(parsed.error().message);
        if (bytes.size() >= kHeaderSize) {
            Message header;
            header.type = bytes[0];
            header.slot = bytes[5];
            header.seq = bytes[6];
            fail(header, error::BadLength);
        }
        return;
    }
    const Message& command = *parsed;
    const auto type = static_cast<MessageType>(command.type);
    if (!isCommand(command.type)) {
        fail(command, error::CommandNotSupported);
        return;
    }
    if (command.slot >= slots_.size()) {
        fail(command, error::BadSlot);
        return;
    }
    Slot& slot = *slots_[command.slot];
    if (type == MessageType::Abort) {
        // Whatever the slot waited for is abandoned; its late answer is dropped.
        if (slot.pending) {
            const Message abandoned = *slot.pending;
            slot.pending.reset();
            ++slot.generation;
            fail(abandoned, error::CommandAborted);
        }
        reply(makeReply(command, MessageType::SlotStatus, slot.status(), CommandStatus::Ok, 0));
        return;
    }
    if (slot.pending) {
        fail(command, error::CommandSlotBusy);
        return;
    }
    switch (type) {
    case MessageType::IccPowerOn:
        if (command.specific[0] > 3) // bPowerSelect: automatic, 5 V, 3 V, 1.8 V
            fail(command, error::BadParameter7);
        else
            powerOn(slot, command);
        return;
    case MessageType::IccPowerOff: powerOff(slot, command); return;
    case MessageType::GetSlotStatus: slotStatus(slot, command); return;
    case MessageType::XfrBlock: xfrBlock(slot, command); return;
    case MessageType::GetParameters:
    case MessageType::ResetParameters:
    case MessageType::SetParameters: parameters(slot, command); return;
    case MessageType::Escape: escape(command); return;
    case MessageType::SetDataRateAndClockFrequency: {
        // Neither is settable: the reply says what stays in force.
        Bytes data;
        appendLittleEndian32(data, kClockKhz);
        appendLittleEndian32(data, kDataRateBps);
        reply(makeReply(command, MessageType::DataRateAndClockFrequency, slot.status(),
                        CommandStatus::Ok, 0, 0, std::move(data)));
        return;
    }
    default:
        // IccClock, T0APDU, Secure (no PIN pad), Mechanical: not offered by this reader.
        fail(command, error::CommandNotSupported);
        return;
    }
}

void CcidDevice::slotStatus(const Slot& slot, const Message& command)
{
    reply(makeReply(command, MessageType::SlotStatus, slot.status(), CommandStatus::Ok, 0));
}

void CcidDevice::startCardOperation(Slot& slot, const Message& command,
                                    std::function<void(CardPort&, CardPort::Completion)> operation,
                                    std::function<void(Slot&, const Message&, Bytes)> onSuccess)
{
    slot.pending = command;
    slot.pulsesWaited = 0;
    const std::uint64_t generation = ++slot.generation;
    const std::uint8_t index = slot.index;
    std::weak_ptr<bool> alive = alive_;
    auto port = slot.port; // the operation may remove the card before it returns
    operation(*port, [this, alive, index, generation,
                      onSuccess = std::move(onSuccess)](Result<Bytes, std::string> result) {
        if (alive.expired())
            return;
        Slot& target = *slots_[index];
        if (target.generation != generation || !target.pending)
            return; // the card left, or the command was aborted, in the meantime
        const Message waiting = *target.pending;
        target.pending.reset();
        if (!result) {
            if (output_.log)
                output_.log("slot " + std::to_string(index) + ": card side failed " +
                            std::string(messageTypeName(waiting.type)) + ": " + result.error());
            fail(waiting, error::HardwareError);
            return;
        }
        onSuccess(target, waiting, std::move(result).value());
    });
}

void CcidDevice::powerOn(Slot& slot, const Message& command)
{
    if (!slot.port) {
        fail(command, error::IccMute);
        return;
    }
    auto answerWithAtr = [this](Slot& target, const Message& waiting, Bytes atr) {
        if (!atr.empty() && atr != target.atr) {
            target.atr = std::move(atr);
            target.defaults = parametersFromAtr(target.atr);
        }
        target.powered = true;
        target.current = target.defaults;
        target.t1.reset(usesCrc(target.current));
        reply(makeReply(waiting, MessageType::DataBlock, IccStatus::Active, CommandStatus::Ok, 0, 0,
                        target.atr));
    };
    if (!slot.port->forwardsPower()) {
        // As QEMU does: the card side never hears of power; the ATR is the one it sent.
        answerWithAtr(slot, command, {});
        return;
    }
    startCardOperation(
        slot, command,
        [](CardPort& port, CardPort::Completion done) {
            port.power(PowerAction::ColdReset, std::move(done));
        },
        answerWithAtr);
}

void CcidDevice::powerOff(Slot& slot, const Message& command)
{
    auto answerInactive = [this](Slot& target, const Message& waiting, Bytes) {
        target.powered = false;
        reply(makeReply(waiting, MessageType::SlotStatus, target.status(), CommandStatus::Ok, 0));
    };
    if (!slot.port || !slot.powered || !slot.port->forwardsPower()) {
        answerInactive(slot, command, {});
        return;
    }
    startCardOperation(
        slot, command,
        [](CardPort& port, CardPort::Completion done) {
            port.power(PowerAction::Off, std::move(done));
        },
        answerInactive);
}

void CcidDevice::xfrBlock(Slot& slot, const Message& command)
{
    if (!slot.port || !slot.powered) {
        fail(command, error::IccMute);
        return;
    }
    if (command.data.empty()) {
        // An empty XfrBlock continues a chained response; this reader never chains.
        fail(command, error::BadLength);
        return;
    }
    if (config_.level == ExchangeLevel::Tpdu) {
        if (isPpsRequest(command.data)) {
            // The reader negotiates nothing with a virtual card: every PPS is accepted as asked.
            reply(makeReply(command, MessageType::DataBlock, IccStatus::Active, CommandStatus::Ok,
                            0, 0, command.data));
            return;
        }
        if (slot.current.protocol == 1) {
            auto step = slot.t1.onBlock(command.data);
            if (step.reply) {
                reply(makeReply(command, MessageType::DataBlock, IccStatus::Active,
                                CommandStatus::Ok, 0, 0, std::move(*step.reply)));
                return;
            }
            forwardApdu(slot, command, std::move(*step.apdu), [](Slot& target, Bytes response) {
                return target.t1.responseBlock(response);
            });
            return;
        }
        // T=0: the TPDU is the command as the card takes it; 61xx/6Cxx go back as they are.
    }
    forwardApdu(slot, command, command.data, [](Slot&, Bytes response) { return response; });
}

void CcidDevice::forwardApdu(Slot& slot, const Message& command, Bytes apdu,
                             std::function<Bytes(Slot&, Bytes)> toReplyData)
{
    if (apdu.size() > kMaxShortApduSize && !slot.port->acceptsExtendedApdu()) {
        // The card side cannot take it (libcacard's vscclient would overflow): answer as a card
        // that refuses the length would.
        if (output_.log)
            output_.log("slot " + std::to_string(slot.index) + ": " + std::to_string(apdu.size()) +
                        "-byte command answered 6700 locally: the card side has no extended "
                        "APDUs");
        reply(makeReply(command, MessageType::DataBlock, IccStatus::Active, CommandStatus::Ok, 0, 0,
                        toReplyData(slot, Bytes{0x67, 0x00})));
        return;
    }
    startCardOperation(
        slot, command,
        [apdu = std::move(apdu)](CardPort& port, CardPort::Completion done) {
            port.transmit(apdu, std::move(done));
        },
        [this, toReplyData = std::move(toReplyData)](Slot& target, const Message& waiting,
                                                     Bytes response) {
            Bytes data = toReplyData(target, std::move(response));
            if (data.size() + kHeaderSize > config_.maxMessageSize) {
                if (output_.log)
                    output_.log("slot " + std::to_string(target.index) + ": response of " +
                                std::to_string(data.size()) +
                                " bytes exceeds dwMaxCCIDMessageLength");
                fail(waiting, error::XfrOverrun);
                return;
            }
            reply(makeReply(waiting, MessageType::DataBlock, target.status(), CommandStatus::Ok, 0,
                            0, std::move(data)));
        });
}

void CcidDevice::parameters(Slot& slot, const Message& command)
{
    const auto type = static_cast<MessageType>(command.type);
    if (type == MessageType::SetParameters) {
        const std::uint8_t protocol = command.specific[0];
        if (protocol > 1) {
            fail(command, error::BadParameter7);
            return;
        }
        const auto requested = ProtocolParameters::parse(protocol, command.data);
        if (!requested) {
            fail(command, error::BadLength);
            return;
        }
        if (!slot.port) {
            fail(command, error::IccMute);
            return;
        }
        if (!atrOffersProtocol(slot.atr, protocol)) {
            fail(command, error::BadParameter7);
            return;
        }
        slot.current = *requested;
        slot.t1.setCrc(usesCrc(slot.current));
    } else if (!slot.port) {
        fail(command, error::IccMute);
        return;
    } else if (type == MessageType::ResetParameters) {
        slot.current = slot.defaults;
    }
    reply(makeReply(command, MessageType::Parameters, slot.status(), CommandStatus::Ok, 0,
                    slot.current.protocol, slot.current.encode()));
}

void CcidDevice::escape(const Message& command)
{
    std::optional<Bytes> answer;
    if (config_.escape)
        answer = config_.escape(command.data);
    if (!answer) {
        fail(command, error::CommandNotSupported);
        return;
    }
    reply(makeReply(command, MessageType::EscapeReply, slots_[command.slot]->status(),
                    CommandStatus::Ok, 0, 0, std::move(*answer)));
}

void CcidDevice::insertCard(std::uint8_t slotIndex, std::shared_ptr<CardPort> port, Bytes atr)
{
    if (slotIndex >= slots_.size())
        return;
    Slot& slot = *slots_[slotIndex];
    if (slot.port)
        removeCard(slotIndex);
    slot.port = std::move(port);
    slot.atr = std::move(atr);
    slot.defaults = parametersFromAtr(slot.atr);
    slot.current = slot.defaults;
    slot.powered = false;
    ++slot.generation;
    notifyChange(slotIndex);
}

void CcidDevice::removeCard(std::uint8_t slotIndex)
{
    if (slotIndex >= slots_.size())
        return;
    Slot& slot = *slots_[slotIndex];
    if (!slot.port)
        return;
    slot.port.reset();
    slot.powered = false;
    slot.atr.clear();
    ++slot.generation;
    if (slot.pending) {
        const Message abandoned = *slot.pending;
        slot.pending.reset();
        fail(abandoned, error::IccMute);
    }
    notifyChange(slotIndex);
}

void CcidDevice::pulse()
{
    for (auto& slot : slots_) {
        if (!slot->pending)
            continue;
        if (slot->pulsesWaited++ == 0)
            continue; // it has not waited a whole period yet
        reply(makeReply(*slot->pending, replyTypeFor(slot->pending->type), slot->status(),
                        CommandStatus::TimeExtension, 1));
    }
}

void CcidDevice::notifyChange(std::uint8_t slotIndex)
{
    if (!output_.interrupt)
        return;
    std::vector<SlotChange> state(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i)
        state[i].present = slots_[i]->port != nullptr;
    state[slotIndex].changed = true;
    output_.interrupt(encodeNotifySlotChange(state));
}

Bytes CcidDevice::currentSlotState() const
{
    // Every occupied slot is reported as changed: the link has not heard of any card yet.
    std::vector<SlotChange> state(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i)
        state[i].present = state[i].changed = slots_[i]->port != nullptr;
    return encodeNotifySlotChange(state);
}

IccStatus CcidDevice::iccStatus(std::uint8_t slot) const
{
    return slot < slots_.size() ? slots_[slot]->status() : IccStatus::Absent;
}

bool CcidDevice::isBusy(std::uint8_t slot) const
{
    return slot < slots_.size() && slots_[slot]->pending.has_value();
}

} // namespace vscard::ccid
