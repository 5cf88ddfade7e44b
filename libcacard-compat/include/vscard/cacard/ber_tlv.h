// BER-TLV as ISO 7816-4 and SP 800-73-4 use it (PIV's data objects, dynamic authentication
// templates, key templates): tags of one to three bytes, definite lengths of up to three bytes.
// The parser never throws: untrusted bytes come from PUT DATA, GENERAL AUTHENTICATE and
// IMPORT, and every malformed input is an error that says where.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vscard::cacard {

struct BerTlv {
    std::uint32_t tag; // the tag's bytes as a number: 0x7C, 0x5FC102, 0x7F49
    Bytes value;
};

// One level of a sequence of TLVs that fills `data` exactly; nested values stay encoded.
Result<std::vector<BerTlv>, std::string> parseBerTlvs(ByteView data);
// The first TLV at the start of `data` and how many bytes it took (data after it is allowed).
Result<std::pair<BerTlv, std::size_t>, std::string> parseFirstBerTlv(ByteView data);

void appendBerLength(Bytes& out, std::size_t length);
void appendBerTag(Bytes& out, std::uint32_t tag);
Bytes encodeBerTlv(std::uint32_t tag, ByteView value);
void appendBerTlv(Bytes& out, std::uint32_t tag, ByteView value);

// The value of the first member with this tag.
const BerTlv* findBerTlv(const std::vector<BerTlv>& members, std::uint32_t tag);

} // namespace vscard::cacard
