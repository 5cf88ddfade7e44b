// Command and response APDU parsers and their trace renderings. A parsed command must encode
// back to exactly its input: parse and encode agree on every length field.
#include "vscard/apdu.h"
#include "vscard/trace.h"

#include <cstdlib>

using namespace vscard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const ByteView bytes(data, size);
    if (const auto command = CommandApdu::parse(bytes)) {
        if (command->encode() != Bytes(bytes.begin(), bytes.end()))
            std::abort();
        if (command->nc() > CommandApdu::kMaxExtendedData ||
            command->ne() > CommandApdu::kMaxExtendedNe)
            std::abort();
    } else if (command.error().message.empty()) {
        std::abort();
    }
    if (const auto response = ResponseApdu::parse(bytes)) {
        if (response->encode() != Bytes(bytes.begin(), bytes.end()))
            std::abort();
        (void)response->status().describe();
    }
    (void)trace::describeCommandApdu(bytes);
    (void)trace::describeResponseApdu(bytes);
    (void)trace::maskedHex(bytes);
    return 0;
}
