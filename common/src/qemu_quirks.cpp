#include "vscard/qemu_quirks.h"

namespace vscard {

namespace {

constexpr std::size_t kCcidHeaderSize = 10;
constexpr std::size_t kFullSpeedPacketSize = 64;

} // namespace

std::pair<Bytes, Bytes> qemuSafeResponse(ByteView response)
{
    Bytes whole(response.begin(), response.end());
    if (response.size() < 3 || (response.size() + kCcidHeaderSize) % kFullSpeedPacketSize != 0)
        return {std::move(whole), {}};
    const std::size_t dataLength = response.size() - 2;
    Bytes now(response.begin(), response.begin() + static_cast<std::ptrdiff_t>(dataLength - 1));
    now.push_back(0x61);
    now.push_back(0x01);
    Bytes tail(response.begin() + static_cast<std::ptrdiff_t>(dataLength - 1), response.end());
    return {std::move(now), std::move(tail)};
}

bool fetchesHeldTail(ByteView command)
{
    return command.size() >= 4 && command[1] == 0xC0 && command[2] == 0x00 && command[3] == 0x00;
}

} // namespace vscard
