// The USB/IP parser an exporting server-ccid runs on what an importer sends: the operations,
// then (first byte odd) URBs. Every item re-encodes to the bytes it came from; an error stops
// the stream.
#include "vscard/ccid/usbip_wire.h"

#include <cstdint>
#include <cstdlib>

using namespace vscard;
using namespace vscard::usbip;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    ServerDecoder decoder;
    if (data[0] & 1)
        decoder.setImported();
    const ByteView input(data + 1, size - 1);
    // Fed in two pieces: the split must not change what comes out.
    const std::size_t split = input.size() / 3;
    decoder.feed(input.subspan(0, split));
    std::size_t consumed = 0;
    bool fed = false;
    for (;;) {
        auto next = decoder.next();
        if (!next) {
            if (fed)
                break;
            decoder.feed(input.subspan(split));
            fed = true;
            continue;
        }
        if (!*next) {
            if ((*next).error().message.empty() || decoder.next())
                std::abort();
            break;
        }
        Bytes again;
        if (const auto* submit = std::get_if<Submit>(&**next))
            again = encodeSubmit(*submit);
        else if (const auto* unlink = std::get_if<Unlink>(&**next))
            again = encodeUnlink(*unlink);
        else if (std::holds_alternative<DevlistRequest>(**next))
            again = encodeDevlistRequest();
        else
            again = encodeImportRequest(std::get<ImportRequest>(**next).busId);
        if (consumed + again.size() > input.size())
            std::abort();
        // Operations and URBs re-encode byte for byte, but for a busid's bytes after its NUL
        // and an unlink's padding, which carry nothing.
        if (std::holds_alternative<Submit>(**next) &&
            !std::equal(again.begin(), again.end(),
                        input.begin() + static_cast<std::ptrdiff_t>(consumed)))
            std::abort();
        consumed += again.size();
    }
    return 0;
}
