// The two halves of ISO 7816-4 chaining a card needs, whatever its type:
//  - CommandChain joins the data of commands sent with CLA bit 0x10 (command chaining) into
//    one command, as PIV clients send certificates and large RSA blocks;
//  - ResponseChain keeps what did not fit the client's Le and hands it out by GET RESPONSE,
//    announcing what waits with 61xx.
#pragma once

#include "vscard/apdu.h"
#include "vscard/bytes.h"

#include <optional>

namespace vscard::cacard {

class CommandChain {
public:
    // The most data a chain may gather: a PIV object is at most a few kilobytes; the limit
    // keeps a client from filling the host's memory.
    static constexpr std::size_t kMaxChainedData = 16384;

    enum class Step {
        Complete, // `command` holds the whole command (chained or not)
        Continue, // a link was kept: answer 9000 and wait for the next
        TooLong,  // the chain would pass kMaxChainedData: 6A84, the chain dropped
    };

    // Feeds one command; on Complete, `command` is replaced by the joined command (CLA
    // without the chaining bit). A command that does not continue the chain (another INS, P1
    // or P2) drops it and stands alone, as ISO 7816-4 lets a card abort a chain.
    Step feed(CommandApdu& command);
    void clear() { pending_.reset(); }
    bool inProgress() const { return pending_.has_value(); }

private:
    struct Pending {
        std::uint8_t cla, ins, p1, p2;
        Bytes data;
    };
    std::optional<Pending> pending_;
};

class ResponseChain {
public:
    enum class Style {
        // ISO 7816-4, as a PIV card does it: the first Ne bytes at once, then 61xx. A command
        // without Le (ne 0) is answered as if it asked for 256, as a T=1 card answers case 4
        // commands sent as case 3.
        Iso,
        // libcacard's, byte for byte: an answer longer than Ne (ne 0: any) is kept whole and
        // only 61xx says how much waits; every GET RESPONSE gives at most its Ne and ends on
        // 9000 whatever the first status was.
        Libcacard,
    };

    // nothingWaiting: GET RESPONSE's status when there is nothing to give.
    explicit ResponseChain(Style style = Style::Iso, std::uint16_t nothingWaiting = 0x6985)
        : style_(style), nothingWaiting_(nothingWaiting)
    {
    }

    // data + sw when data fits ne, else as the style says, the rest kept for GET RESPONSE.
    Bytes respond(Bytes data, std::uint32_t ne, std::uint16_t sw = 0x9000);
    // GET RESPONSE: the next part, or nothingWaiting.
    Bytes next(std::uint32_t ne);
    void clear() { rest_.reset(); }
    bool pending() const { return rest_.has_value(); }

private:
    Bytes part(std::uint32_t ne);

    Style style_;
    std::uint16_t nothingWaiting_;
    std::optional<Bytes> rest_;
    std::uint16_t finalStatus_ = 0x9000;
};

} // namespace vscard::cacard
