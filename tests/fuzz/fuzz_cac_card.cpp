// APDU sequences into the emulated CAC: each input is a series of commands (a length byte,
// then the command), sent to one card; every answer must end in a status word and stay within
// what a response can hold.
#include "fake_card_keys.h"
#include "vscard/cacard/cac_card.h"

#include <cstdlib>

using namespace vscard;
using namespace vscard::cacard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto pin = PinRetryState::open(std::nullopt, "fuzz", 3);
    CacCard card(std::make_unique<vscard::test::FakeCardKeys>(
                     std::initializer_list<std::size_t>{400, 20, 254}, "1234", 1024),
                 std::move(pin).value());
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
