// APDU sequences into the emulated CAC: each input is a series of commands (a length byte,
// then the command), sent to one card; every answer must end in a status word and stay within
// what a response can hold.
#include "vscard/cacard/cac_card.h"

#include <cstdlib>

using namespace vscard;
using namespace vscard::cacard;

namespace {

class FuzzKeys : public CardKeys {
public:
    std::size_t certificateCount() const override { return 3; }
    const Bytes& certificate(std::size_t index) const override { return certificates_.at(index); }
    std::size_t keyBits(std::size_t) const override { return 1024; }
    Bytes sha256(ByteView data) const override
    {
        return Bytes(32, static_cast<std::uint8_t>(data.size()));
    }
    Bytes random(std::size_t count) const override { return Bytes(count, 0x42); }
    PinCheck login(std::string_view pin) override
    {
        loggedIn_ = pin == "1234";
        return loggedIn_ ? PinCheck::Accepted : PinCheck::Rejected;
    }
    void logout() override { loggedIn_ = false; }
    bool loggedIn() const override { return loggedIn_; }
    Result<Bytes, std::string> rsaPrivate(std::size_t, ByteView input) override
    {
        return Bytes(input.begin(), input.end());
    }

private:
    std::vector<Bytes> certificates_{Bytes(400, 0x30), Bytes(20, 0x31), Bytes(254, 0x32)};
    bool loggedIn_ = false;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto pin = PinRetryState::open(std::nullopt, "fuzz", 3);
    CacCard card(std::make_unique<FuzzKeys>(), std::move(pin).value());
    for (std::size_t offset = 0; offset < size;) {
        const std::size_t length = std::min<std::size_t>(data[offset], size - offset - 1);
        if (data[offset] == 0xFF) {
            card.reset();
            ++offset;
            continue;
        }
        const Bytes answer = card.process(ByteView(data + offset + 1, length));
        if (answer.size() < 2 || answer.size() > 65536 + 2)
            std::abort();
        offset += 1 + length;
    }
    return 0;
}
