// Which card responses carry a secret: a trace may show that DECIPHER answered 9000, never what
// it deciphered. A command's own data says nothing of its answer, so a connection remembers, per
// channel, what it asked last: the answer to a secret-answering command is secret, and so is
// every GET RESPONSE that fetches the rest of it (61xx) until the chain ends.
// Qt-free: the pcscd driver and libcacard.so.0 link common/ too.
#pragma once

#include "vscard/bytes.h"

#include <cstdint>
#include <unordered_map>

namespace vscard::trace {

// Whether a response's data may reach a trace or a capture.
enum class Secrecy {
    Public,
    Secret,
};

// One per connection (or capture device). A channel names one card conversation on it: a VSCard
// reader id, a CCID slot. Feed it every command and response, traced or not: tracing may be
// switched on between a command and its answer, and the answer must still be masked.
class SecretResponses {
public:
    // A command APDU leaves for the card on `channel`; its 4-byte header is enough.
    void command(std::uint32_t channel, ByteView commandApdu);
    // The card's answer on `channel` (a response APDU, or anything that ends with its status
    // word): whether its data is secret. It ends the exchange; 61xx keeps a GET RESPONSE that
    // follows secret.
    Secrecy response(std::uint32_t channel, ByteView responseApdu);
    // The secrecy of the answer awaited on `channel`, without taking it: for an answer that
    // arrives in pieces (T=1 chained blocks) before its status word.
    Secrecy awaited(std::uint32_t channel) const;
    // The card left, was reset or powered off: no answer is awaited any more.
    void forget(std::uint32_t channel);

private:
    struct Exchange {
        bool answerIsSecret = false; // the command in flight answers with a secret
        bool chainIsSecret = false;  // a secret answer said 61xx: GET RESPONSE continues it
    };
    // Only channels with something secret under way: the map stays as small as the traffic.
    std::unordered_map<std::uint32_t, Exchange> secretExchanges_;
};

} // namespace vscard::trace
