// BER-TLV from untrusted bytes (PIV objects, templates): parsing never fails but by an error;
// what parses re-encodes to a sequence that parses to the same members.
#include "vscard/cacard/ber_tlv.h"

#include <cstdlib>

using namespace vscard;
using namespace vscard::cacard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto members = parseBerTlvs(ByteView(data, size));
    if (!members)
        return 0;
    Bytes encoded;
    for (const BerTlv& member : *members)
        appendBerTlv(encoded, member.tag, member.value);
    const auto again = parseBerTlvs(encoded);
    if (!again || again->size() != members->size())
        std::abort();
    for (std::size_t i = 0; i < members->size(); ++i)
        if ((*again)[i].tag != (*members)[i].tag || (*again)[i].value != (*members)[i].value)
            std::abort();
    return 0;
}
