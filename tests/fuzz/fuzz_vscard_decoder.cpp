// The VSCard decoder on arbitrary byte streams cut at arbitrary places. Beyond "no crash", it
// checks that every decoded message re-encodes to exactly the bytes it was decoded from and
// that every byte is accounted for.
#include "vscard/trace.h"
#include "vscard/vscard_wire.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace vscard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    // The first byte picks the chunk size and the payload limit, so that chunk boundaries
    // and limits are explored along with the bytes.
    const std::size_t chunk = (data[0] & 0x3F) + 1;
    const std::size_t limit = (data[0] & 0x40) ? kMaxShortApduSize : kDefaultMaxPayload;
    const ByteView stream(data + 1, size - 1);

    MessageDecoder decoder(DecoderLimits{limit});
    std::size_t consumed = 0;
    bool failed = false;
    for (std::size_t offset = 0; offset < stream.size() && !failed; offset += chunk) {
        decoder.feed(stream.subspan(offset, std::min(chunk, stream.size() - offset)));
        while (auto next = decoder.next()) {
            if (!*next) {
                if (next->error().message.empty() || !decoder.failed())
                    std::abort();
                failed = true;
                break;
            }
            const Message& message = **next;
            if (message.payload.size() > limit)
                std::abort();
            const Bytes reencoded = encodeMessage(message.type, message.readerId, message.payload);
            if (reencoded.size() > stream.size() - consumed ||
                std::memcmp(reencoded.data(), stream.data() + consumed, reencoded.size()) != 0)
                std::abort();
            consumed += reencoded.size();
            (void)trace::describeMessage(message, trace::Direction::HostToClient);
            (void)trace::describeMessage(message, trace::Direction::ClientToHost);
        }
    }
    if (!failed && consumed + decoder.pendingBytes() != stream.size())
        std::abort();
    return 0;
}
