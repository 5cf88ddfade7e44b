// The frame decoder of the link between pcscd's driver and server-ccid, fed arbitrary chunks:
// every frame re-encodes to the bytes it came from, greetings parse or fail cleanly.
#include "vscard/ccid/link_wire.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace vscard;
using namespace vscard::link;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::size_t chunk = (data[0] & 0x1F) + 1;
    const ByteView stream(data + 1, size - 1);
    FrameDecoder decoder;
    std::size_t consumed = 0;
    for (std::size_t offset = 0; offset < stream.size(); offset += chunk) {
        decoder.feed(stream.subspan(offset, std::min(chunk, stream.size() - offset)));
        while (auto frame = decoder.next()) {
            if (!*frame) {
                if (!decoder.failed() || frame->error().message.empty())
                    std::abort();
                return 0;
            }
            const Bytes encoded = encodeFrame((*frame)->kind, (*frame)->payload);
            if (encoded.size() > stream.size() - consumed ||
                std::memcmp(encoded.data(), stream.data() + consumed, encoded.size()) != 0)
                std::abort();
            consumed += encoded.size();
            if ((*frame)->kind == FrameKind::Hello || (*frame)->kind == FrameKind::Welcome)
                (void)parseGreeting((*frame)->payload);
        }
    }
    return 0;
}
