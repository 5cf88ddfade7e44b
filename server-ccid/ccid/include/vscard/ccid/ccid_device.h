// The CCID device model: a reader with a number of slots, each holding a card or not. Links
// (the pcscd driver connection, the serial pty, USB/IP) feed it PC_to_RDR messages and carry
// its RDR_to_PC replies and NotifySlotChange interrupts. The cards behind the slots are
// CardPorts: the VSCard host implements them. Qt-free and single-threaded: every call comes
// from the owner's event loop, completions included.
#pragma once

#include "vscard/ccid/ccid_wire.h"
#include "vscard/vscard_wire.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vscard::ccid {

// What the device model needs from the card in a slot.
class CardPort {
public:
    // The card's answer: response APDU bytes (or, for power, the ATR; empty after power off),
    // or a reason the card could not answer.
    using Completion = std::function<void(Result<Bytes, std::string>)>;

    virtual ~CardPort() = default;
    // The card side accepts APDU messages over 261 bytes (VSCard extended-apdu capability).
    virtual bool acceptsExtendedApdu() const = 0;
    // Power and reset reach the card side (VSCard card-power capability).
    virtual bool forwardsPower() const = 0;
    virtual void transmit(Bytes command, Completion done) = 0;
    virtual void power(PowerAction action, Completion done) = 0;
};

enum class ExchangeLevel {
    Apdu, // short and extended APDUs in XfrBlock (dwFeatures 0x00040000)
    Tpdu, // what libccid's serial profiles expect: T=0 TPDUs, T=1 blocks
};

struct DeviceConfig {
    std::uint16_t slotCount = 1; // bSlot is a byte: at most 256
    ExchangeLevel level = ExchangeLevel::Apdu;
    // dwMaxCCIDMessageLength: larger commands are refused, larger responses are never sent.
    std::size_t maxMessageSize = kMaxMessageSize;
    // Vendor Escape commands: the reply data, or nullopt for CMD_NOT_SUPPORTED.
    std::function<std::optional<Bytes>(ByteView)> escape;
};

class CcidDevice {
public:
    struct Output {
        std::function<void(const Bytes&)> bulkIn;    // RDR_to_PC replies
        std::function<void(const Bytes&)> interrupt; // NotifySlotChange
        std::function<void(const std::string&)> log; // one line per fault worth telling
    };

    CcidDevice(DeviceConfig config, Output output);
    ~CcidDevice();
    CcidDevice(const CcidDevice&) = delete;
    CcidDevice& operator=(const CcidDevice&) = delete;

    // A PC_to_RDR message, whole. Replies go out through Output::bulkIn, now or later.
    void handleCommand(ByteView message);

    // The card side: a card appears in a slot (present, not yet powered) or leaves it.
    // Removing a card answers a command still waiting for it with ICC_MUTE.
    void insertCard(std::uint8_t slot, std::shared_ptr<CardPort> port, Bytes atr);
    void removeCard(std::uint8_t slot);

    // Called by the link's timer: every command that has waited for its card since the
    // previous pulse gets a time-extension reply, so the host's timeout starts again.
    void pulse();

    // The whole slot state as a NotifySlotChange, for a link that has just connected.
    Bytes currentSlotState() const;

    std::uint16_t slotCount() const { return config_.slotCount; }
    IccStatus iccStatus(std::uint8_t slot) const;
    bool isBusy(std::uint8_t slot) const;

private:
    struct Slot;

    void reply(const Message& message);
    void fail(const Message& command, std::uint8_t bError);
    void notifyChange(std::uint8_t slot);
    void powerOn(Slot& slot, const Message& command);
    void powerOff(Slot& slot, const Message& command);
    void xfrBlock(Slot& slot, const Message& command);
    // Sends an APDU to the card; toReplyData turns its response into the DataBlock's data.
    void forwardApdu(Slot& slot, const Message& command, Bytes apdu,
                     std::function<Bytes(Slot&, Bytes)> toReplyData);
    void parameters(Slot& slot, const Message& command);
    void escape(const Message& command);
    void slotStatus(const Slot& slot, const Message& command);
    // Runs a card operation for a command and delivers its completion only if the slot still
    // holds the same card and the same command by then.
    void startCardOperation(Slot& slot, const Message& command,
                            std::function<void(CardPort&, CardPort::Completion)> operation,
                            std::function<void(Slot&, const Message&, Bytes)> onSuccess);

    DeviceConfig config_;
    Output output_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::shared_ptr<bool> alive_;
};

} // namespace vscard::ccid
