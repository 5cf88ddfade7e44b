// The cards of one libcacard options string, made: each soft=(...) card from the database's
// certificates with its PIN retry state, and what use_hw= asks of the database's tokens.
// server-ccid (--card emulated:) and vscclient (-e, -c) host what this makes.
#pragma once

#include "vscard/cacard/cac_card.h"
#include "vscard/cacard/emul_options.h"
#include "vscard/cacard/nss_card_keys.h"
#include "vscard/cacard/piv_card.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vscard::cacard {

struct CardSettings {
    std::optional<std::string> stateDirectory; // PIN retry counters survive restarts there
    unsigned pinTries = PinRetryState::kDefaultMaxTries;
    // What a card has to tell its owner (a PIV card's default management key), for the log.
    std::function<void(const std::string&)> notice;
};

struct SoftCardMade {
    std::string readerName; // soft=(,NAME,...), or "Emulated CAC" / "Emulated PIV"
    std::unique_ptr<VirtualCard> card;
    std::string serial; // the card's identity (VirtualCard::serial)
};

struct SoftCards {
    std::vector<SoftCardMade> cards;
    std::shared_ptr<NssDatabase> database;
    HardwareUse hardwareUse = HardwareUse::No;
    std::string hardwareParams;
};

// Fails, saying what and where, on a malformed string, a database that does not open, a
// missing certificate or token, or a string that asks for no card at all.
Result<SoftCards, std::string> makeSoftCards(std::string_view options,
                                             const CardSettings& settings);

// One soft=(...,PIV,...) card: blank (no certificates; its keys generated on it) or made from
// the database's certificates (skipMissing: leave out nicknames the database does not have,
// as libcacard's C API does). Its state directory: state= of the type params, else
// settings.stateDirectory/piv-IDENTITY, else none.
Result<std::unique_ptr<PivCard>, std::string>
makePivCard(const SoftCard& soft, const std::shared_ptr<NssDatabase>& database,
            const CardSettings& settings, bool skipMissing);

// The card's identity in lower-case hex: its serial in logs, its PIN state file's name.
std::string cardIdentityName(CardKeys& keys);

} // namespace vscard::cacard
