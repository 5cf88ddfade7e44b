// Which bytes of CCID traffic a trace or a capture must not show: the PIN of VERIFY, CHANGE
// REFERENCE DATA and RESET RETRY COUNTER in XfrBlock, the PIN block of PC_to_RDR_Secure, and the
// data of a DataBlock answering a command whose answer is secret (trace::SecretResponses, per
// bSlot). On a TPDU-level reader it follows each slot's protocol (from the ATR and Parameters
// replies) to find the APDUs inside T=1 blocks, chained blocks included.
// Qt-free, like the rest of the CCID model.
#pragma once

#include "vscard/ccid/ccid_device.h"
#include "vscard/ccid/ccid_wire.h"
#include "vscard/secret_responses.h"

#include <array>

namespace vscard::ccid {

// What a reader's dwFeatures say it carries in XfrBlock: TPDUs (T=0 TPDUs, T=1 blocks) or APDUs.
ExchangeLevel exchangeLevelOf(const ClassDescriptor& descriptor);

// The PINs a command shows by itself, without the slot's history: a PIN-carrying APDU in
// XfrBlock (read both as an APDU and as a T=1 block), the PIN block of Secure.
SecretRanges pinsInCommand(const Message& command);

// One per link (or capture device), fed every bulk message of that reader.
class SecretTracker {
public:
    explicit SecretTracker(ExchangeLevel level) : level_(level) {}

    // A whole bulk message, either way: PC_to_RDR as the reader takes it, RDR_to_PC as it
    // leaves. Feed every one, traced or not, in the order they travel (a trace switched on
    // between a command and its answer must still mask the answer). Returns the data bytes to
    // mask, for describe() and captures.
    SecretRanges observe(ByteView message);

private:
    struct Slot {
        std::uint8_t awaitedReplyTo = 0; // type of the command whose reply comes next, 0: none
        bool t1 = false;                 // XfrBlock carries T=1 blocks (TPDU level only)
        bool hostChaining = false;       // T=1: the host's next I-block continues its command
        bool commandCarriesPin = false;  // T=1: ...and that command is a PIN's: mask it all
    };

    SecretRanges observeCommand(std::uint8_t slot, std::uint8_t type,
                                const std::array<std::uint8_t, 3>& specific, ByteView data);
    SecretRanges observeReply(std::uint8_t slot, std::uint8_t type,
                              const std::array<std::uint8_t, 3>& specific, ByteView data);
    SecretRanges t1Command(std::uint8_t slot, ByteView data);
    SecretRanges t1Reply(std::uint8_t slot, ByteView data);

    ExchangeLevel level_;
    trace::SecretResponses responses_; // channel = bSlot
    std::array<Slot, 256> slots_{};
};

} // namespace vscard::ccid
