// A card on the client's side, whatever holds it: an emulated CAC, a real card behind PC/SC,
// a card answered by a script. The host's commands reach it through this.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"
#include "vscard/vscard_wire.h"

#include <functional>
#include <string>

namespace vscard::client {

class LocalCard {
public:
    using Completion = std::function<void(Result<Bytes, std::string>)>;

    virtual ~LocalCard() = default;

    virtual Bytes atr() const = 0;
    // One command APDU; done gets the response (data and SW1 SW2) or why there is none. It
    // may be called before transmit() returns or later, always in the event loop's thread.
    virtual void transmit(Bytes command, Completion done) = 0;
    // Power off, cold or warm reset; done gets the ATR (empty after power-off).
    virtual void power(PowerAction action, Completion done) = 0;
};

} // namespace vscard::client
