// What every emulated card type offers the hosts (server-ccid, vscclient, libcacard.so.0): an
// ATR, one APDU in and its answer out, and a reset. CacCard and PivCard are the two.
#pragma once

#include "vscard/bytes.h"

#include <string>
#include <string_view>

namespace vscard::cacard {

class VirtualCard {
public:
    virtual ~VirtualCard() = default;

    // "CAC" or "PIV": what logs and the reader list call the card.
    virtual std::string_view typeName() const = 0;
    virtual const Bytes& answerToReset() const = 0;
    // One command APDU in, the response (data and SW1 SW2) out. Never throws on the bytes.
    virtual Bytes process(ByteView command) = 0;
    // Power off, reset or removal: nothing selected, buffers dropped, PIN forgotten.
    virtual void reset() = 0;
    virtual bool loggedIn() const = 0;
    // The card's identity for logs: a CAC's in lower-case hex, a PIV card's serial number.
    virtual std::string serial() const = 0;
    // How many keys (certificates for a CAC, filled key slots for a PIV card) it holds.
    virtual std::size_t keyCount() const = 0;
};

} // namespace vscard::cacard
