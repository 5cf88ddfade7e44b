#include "test_card_responder.h"

#include "vscard/apdu.h"

#include <algorithm>

namespace vscard::test {

namespace {

constexpr std::uint8_t kGetResponse = 0xC0;

Bytes withStatus(Bytes data, std::uint8_t sw1, std::uint8_t sw2)
{
    data.push_back(sw1);
    data.push_back(sw2);
    return data;
}

} // namespace

Bytes TestCardResponder::respond(ByteView bytes)
{
    const auto command = CommandApdu::parse(bytes);
    if (!command)
        return {0x67, 0x00};
    if (command->ins() == kGetResponse) {
        if (pending_.empty())
            return {0x69, 0x85};
        const std::size_t count = std::min<std::size_t>(
            pending_.size(), command->ne() == 0 ? pending_.size() : command->ne());
        Bytes data(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
        if (pending_.empty())
            return withStatus(std::move(data), 0x90, 0x00);
        return withStatus(std::move(data), 0x61,
                          static_cast<std::uint8_t>(std::min<std::size_t>(pending_.size(), 256)));
    }
    pending_.clear();
    switch (command->apduCase()) {
    case ApduCase::Case1: return {0x90, 0x00};
    case ApduCase::Case2: {
        Bytes data(command->ne());
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = static_cast<std::uint8_t>(command->ins() + i);
        return withStatus(std::move(data), 0x90, 0x00);
    }
    case ApduCase::Case3:
        pending_ = command->data();
        return {0x61, static_cast<std::uint8_t>(std::min<std::size_t>(pending_.size(), 256))};
    case ApduCase::Case4: {
        Bytes data = command->data();
        data.resize(std::min<std::size_t>(data.size(), command->ne()));
        return withStatus(std::move(data), 0x90, 0x00);
    }
    }
    return {0x6F, 0x00};
}

} // namespace vscard::test
