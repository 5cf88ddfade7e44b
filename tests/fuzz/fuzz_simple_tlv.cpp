// The SimpleTLV reader that splits a token's Person Instance and Personnel objects: whatever
// the token holds, it keeps only well-formed members, and what it keeps encodes back the same.
#include "vscard/cacard/simple_tlv.h"

#include <cstdlib>

using namespace vscard;
using namespace vscard::cacard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto members = parseSimpleTlv(ByteView(data, size));
    std::size_t valueBytes = 0;
    for (const auto& member : members)
        valueBytes += member.value.size();
    if (valueBytes + 2 * members.size() > size)
        std::abort();
    const Bytes encoded = encodeSimpleTlv(members);
    const auto again = parseSimpleTlv(encoded);
    if (again.size() != members.size() || encodeSimpleTlv(again) != encoded)
        std::abort();
    return 0;
}
