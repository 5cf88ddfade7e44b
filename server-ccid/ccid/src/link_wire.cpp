#include "vscard/ccid/link_wire.h"

#include <limits>

namespace vscard::link {

namespace {

bool isKnownKind(std::uint8_t kind)
{
    return kind >= static_cast<std::uint8_t>(FrameKind::Hello) &&
           kind <= static_cast<std::uint8_t>(FrameKind::ListReply);
}

} // namespace

Bytes encodeFrame(FrameKind kind, ByteView payload)
{
    Bytes out;
    out.reserve(kFrameHeaderSize + payload.size());
    out.push_back(static_cast<std::uint8_t>(kind));
    appendBigEndian32(out, static_cast<std::uint32_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes encodeGreeting(FrameKind kind, const Greeting& greeting)
{
    Bytes payload;
    appendBigEndian32(payload, greeting.version);
    appendBigEndian32(payload, greeting.slotCount);
    return encodeFrame(kind, payload);
}

Result<Greeting, LinkError> parseGreeting(ByteView payload)
{
    if (payload.size() < 8)
        return fail(LinkError{"greeting of " + std::to_string(payload.size()) +
                              " bytes, expected at least 8"});
    return Greeting{readBigEndian32(payload, 0), readBigEndian32(payload, 4)};
}

void FrameDecoder::feed(ByteView chunk)
{
    if (!failed())
        buffer_.append(chunk);
}

std::optional<Result<Frame, LinkError>> FrameDecoder::next()
{
    if (failure_)
        return Result<Frame, LinkError>(fail(*failure_));
    const ByteView pending = buffer_.pending();
    if (pending.size() < kFrameHeaderSize)
        return std::nullopt;
    const std::uint8_t kind = pending[0];
    const std::uint32_t length = readBigEndian32(pending, 1);
    if (!isKnownKind(kind)) {
        failure_ = LinkError{"unknown link frame kind " + std::to_string(kind)};
        return Result<Frame, LinkError>(fail(*failure_));
    }
    if (length > kMaxFramePayload) {
        failure_ = LinkError{"link frame announces " + std::to_string(length) +
                             " bytes, limit is " + std::to_string(kMaxFramePayload)};
        return Result<Frame, LinkError>(fail(*failure_));
    }
    if (pending.size() - kFrameHeaderSize < length)
        return std::nullopt;
    Frame frame{static_cast<FrameKind>(kind),
                Bytes(pending.begin() + kFrameHeaderSize,
                      pending.begin() + static_cast<std::ptrdiff_t>(kFrameHeaderSize + length))};
    buffer_.consume(kFrameHeaderSize + length);
    return Result<Frame, LinkError>(std::move(frame));
}

} // namespace vscard::link
