// Authentication with the management key (key reference 9B) by GENERAL AUTHENTICATE, in the
// two forms of SP 800-73-4 Part 2 appendix A: mutual (the card's encrypted witness, then the
// client's decrypted witness and challenge) and external (the card's challenge, the client's
// encryption of it). Once it succeeds the card administrator may write objects and keys until
// the card is reset.
#pragma once

#include "piv_state.h"
#include "vscard/cacard/ber_tlv.h"

#include <optional>

namespace vscard::cacard::piv {

class ManagementAuthentication {
public:
    struct Answer {
        std::uint16_t sw = 0x9000;
        Bytes data; // the dynamic authentication template to return, if any
    };

    // One GENERAL AUTHENTICATE step for 9B: the members of its 7C template.
    Answer step(const ManagementKey& key, const std::vector<BerTlv>& members);
    bool authenticated() const { return authenticated_; }
    void clear()
    {
        authenticated_ = false;
        witness_.reset();
        challenge_.reset();
    }

private:
    bool authenticated_ = false;
    std::optional<Bytes> witness_;   // what the card sent encrypted, awaiting its decryption
    std::optional<Bytes> challenge_; // what the card sent in clear, awaiting its encryption
};

} // namespace vscard::cacard::piv
