// The hardware tokens NSS reaches through the PKCS#11 modules of a database (use_hw=yes or
// removable): each matching slot becomes a reader, each token in it a card. poll() compares
// what the slots hold now with what it saw last, as libcacard's event thread does, but by
// polling: a module's blocking C_WaitForSlotEvent can only be cancelled by finalizing it.
#pragma once

#include "vscard/cacard/emul_options.h"
#include "vscard/cacard/nss_card_keys.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vscard::cacard {

struct TokenEvent {
    enum class Kind {
        SlotFound,     // a slot that becomes a reader (reported once, before its tokens)
        TokenInserted, // a token is in the slot (also one that was replaced)
        TokenRemoved,
        SlotSkipped, // a slot that would qualify but is refused by the skip rule (once)
    };
    Kind kind;
    std::size_t slot; // stable index of the slot, from 0 in the order found
    std::string name; // the slot's name (PK11_GetSlotName), for the reader
};

class HardwareTokens {
public:
    // skip: slots never to mirror, by name; server-ccid refuses the PC/SC readers it serves
    // itself, which would otherwise be mirrored into themselves.
    using SkipRule = std::function<bool(const std::string& slotName)>;

    HardwareTokens(std::shared_ptr<NssDatabase> database, HardwareUse use, SkipRule skip);
    ~HardwareTokens();
    HardwareTokens(const HardwareTokens&) = delete;
    HardwareTokens& operator=(const HardwareTokens&) = delete;

    // What changed since the last call; the first call reports every slot and token.
    std::vector<TokenEvent> poll();
    // The card keys of the token now in a slot.
    Result<std::unique_ptr<NssCardKeys>, std::string> openToken(std::size_t slot);
    const std::shared_ptr<NssDatabase>& database() const { return database_; }

private:
    struct Watched {
        void* slot; // PK11SlotInfo*, referenced
        std::string name;
        bool present = false;
        int series = 0;
    };
    bool qualifies(void* slot) const;

    std::shared_ptr<NssDatabase> database_;
    HardwareUse use_;
    SkipRule skip_;
    std::vector<Watched> watched_;
    std::vector<void*> skipped_; // referenced too
};

} // namespace vscard::cacard
