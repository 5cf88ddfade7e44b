// The deterministic card behind vscard-test-card: what it answers is a pure function of what
// it was sent, so tests can assert byte-exact round trips through any reader.
//   case 1             -> 90 00
//   case 2 (Le)        -> Ne bytes (INS + i) & FF, then 90 00
//   case 3 (data)      -> 61 xx: the data is waiting, GET RESPONSE (INS C0) returns it (T=0 style)
//   case 4 (data, Le)  -> the data echoed, at most Ne bytes, then 90 00
//   unparsable         -> 67 00
#pragma once

#include "vscard/bytes.h"

namespace vscard::test {

class TestCardResponder {
public:
    Bytes respond(ByteView command);
    void reset() { pending_.clear(); }

private:
    Bytes pending_; // data waiting for GET RESPONSE
};

} // namespace vscard::test
