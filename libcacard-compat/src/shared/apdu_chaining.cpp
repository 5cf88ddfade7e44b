#include "vscard/cacard/apdu_chaining.h"

#include <algorithm>

namespace vscard::cacard {

CommandChain::Step CommandChain::feed(CommandApdu& command)
{
    const bool chained = (command.cla() & 0x10) != 0;
    const std::uint8_t cla = command.cla() & ~0x10;
    if (pending_ && (pending_->cla != cla || pending_->ins != command.ins() ||
                     pending_->p1 != command.p1() || pending_->p2 != command.p2()))
        pending_.reset();
    if (!chained && !pending_)
        return Step::Complete;
    if (!pending_)
        pending_ = Pending{cla, command.ins(), command.p1(), command.p2(), {}};
    if (pending_->data.size() + command.nc() > kMaxChainedData) {
        pending_.reset();
        return Step::TooLong;
    }
    pending_->data.insert(pending_->data.end(), command.data().begin(), command.data().end());
    if (chained)
        return Step::Continue;
    Pending whole = std::move(*pending_);
    pending_.reset();
    // Ne of the joined command is that of its last link; the data may now need extended
    // encoding, which the CommandApdu constructor chooses itself.
    command =
        CommandApdu(whole.cla, whole.ins, whole.p1, whole.p2, std::move(whole.data), command.ne());
    return Step::Complete;
}

Bytes ResponseChain::part(std::uint32_t ne)
{
    Bytes& rest = *rest_;
    const std::size_t count = std::min<std::size_t>(rest.size(), ne);
    Bytes out(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(count));
    rest.erase(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(count));
    if (rest.empty()) {
        rest_.reset();
        out.push_back(static_cast<std::uint8_t>(finalStatus_ >> 8));
        out.push_back(static_cast<std::uint8_t>(finalStatus_));
    } else {
        out.push_back(0x61);
        out.push_back(static_cast<std::uint8_t>(rest.size() > 255 ? 0 : rest.size()));
    }
    return out;
}

Bytes ResponseChain::respond(Bytes data, std::uint32_t ne, std::uint16_t sw)
{
    if (style_ == Style::Libcacard) {
        if (data.size() <= ne) {
            rest_.reset();
            data.push_back(static_cast<std::uint8_t>(sw >> 8));
            data.push_back(static_cast<std::uint8_t>(sw));
            return data;
        }
        const std::size_t size = data.size();
        rest_ = std::move(data);
        finalStatus_ = 0x9000;
        return {0x61, static_cast<std::uint8_t>(size > 255 ? 0 : size)};
    }
    rest_ = std::move(data);
    finalStatus_ = sw;
    return part(ne == 0 ? 256 : ne);
}

Bytes ResponseChain::next(std::uint32_t ne)
{
    if (!rest_)
        return {static_cast<std::uint8_t>(nothingWaiting_ >> 8),
                static_cast<std::uint8_t>(nothingWaiting_)};
    return part(style_ == Style::Libcacard || ne != 0 ? ne : 256);
}

} // namespace vscard::cacard
