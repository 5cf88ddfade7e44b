// The serial frame decoder of the pty link, fed arbitrary line bytes in arbitrary chunks: it
// must resynchronise after noise and yield only messages whose frames re-encode as received.
#include "vscard/ccid/ccid_wire.h"
#include "vscard/ccid/serial_wire.h"

#include <algorithm>
#include <cstdlib>

using namespace vscard;
using namespace vscard::ccid;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::size_t chunk = (data[0] & 0x1F) + 1;
    const ByteView line(data + 1, size - 1);
    SerialFrameDecoder decoder(271);
    for (std::size_t offset = 0; offset < line.size(); offset += chunk) {
        decoder.feed(line.subspan(offset, std::min(chunk, line.size() - offset)));
        while (auto frame = decoder.next()) {
            if (!*frame)
                continue; // a dropped frame; decoding goes on
            const Bytes& message = **frame;
            if (message.size() < kHeaderSize || message.size() > 271 ||
                announcedLength(message) != message.size() - kHeaderSize)
                std::abort();
            const Bytes encoded = encodeSerialFrame(message);
            // What came out was on the line, byte for byte.
            if (std::search(line.begin(), line.end(), encoded.begin(), encoded.end()) == line.end())
                std::abort();
        }
    }
    return 0;
}
