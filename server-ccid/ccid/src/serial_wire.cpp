#include "vscard/ccid/serial_wire.h"

#include "vscard/ccid/ccid_wire.h"

#include <algorithm>

namespace vscard::ccid {

Bytes encodeSerialFrame(ByteView ccidMessage)
{
    Bytes frame(2 + ccidMessage.size() + 1);
    frame[0] = kSerialSync;
    frame[1] = kSerialAck;
    std::copy(ccidMessage.begin(), ccidMessage.end(), frame.begin() + 2);
    frame.pop_back();
    std::uint8_t lrc = 0;
    for (std::uint8_t byte : frame)
        lrc ^= byte;
    frame.push_back(lrc);
    return frame;
}

std::optional<Result<Bytes, std::string>> SerialFrameDecoder::next()
{
    for (;;) {
        ByteView pending = buffer_.pending();
        std::size_t skipped = 0;
        while (skipped < pending.size() && pending[skipped] != kSerialSync)
            ++skipped;
        buffer_.consume(skipped);
        pending = buffer_.pending();
        if (pending.size() < 2 + kHeaderSize)
            return std::nullopt;
        if (pending[1] != kSerialAck) {
            buffer_.consume(1);
            return Result<Bytes, std::string>(fail(std::string("SYNC without ACK on the line")));
        }
        const std::size_t length = announcedLength(pending.subspan(2));
        if (length > maxMessageSize_ - kHeaderSize) {
            buffer_.consume(1);
            return Result<Bytes, std::string>(fail("frame announces " + std::to_string(length) +
                                                   " bytes, more than the reader takes"));
        }
        const std::size_t total = 2 + kHeaderSize + length + 1;
        if (pending.size() < total)
            return std::nullopt;
        std::uint8_t lrc = 0;
        for (std::size_t i = 0; i < total; ++i)
            lrc ^= pending[i];
        Bytes message(pending.begin() + 2,
                      pending.begin() + static_cast<std::ptrdiff_t>(total - 1));
        buffer_.consume(total);
        if (lrc != 0)
            return Result<Bytes, std::string>(fail(std::string("frame with a wrong LRC dropped")));
        return Result<Bytes, std::string>(std::move(message));
    }
}

} // namespace vscard::ccid
