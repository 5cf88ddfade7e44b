// SimpleTLV, the encoding of CAC properties and buffers: a one-byte tag, a length of one byte
// below 255 or FF and two bytes little-endian, the value.
#pragma once

#include "vscard/bytes.h"

#include <vector>

namespace vscard::cacard {

struct TlvMember {
    std::uint8_t tag;
    Bytes value; // compound values pre-encoded
};

void appendSimpleTlvLength(Bytes& out, std::size_t length);
Bytes encodeSimpleTlv(const std::vector<TlvMember>& members);

// The members of a buffer that came from a token (Person Instance, Personnel): as many as are
// well formed, stopping at the first truncated one, as libcacard reads them.
std::vector<TlvMember> parseSimpleTlv(ByteView data);

} // namespace vscard::cacard
