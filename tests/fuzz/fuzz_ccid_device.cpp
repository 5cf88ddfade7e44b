// The CCID device model fed arbitrary PC_to_RDR messages (a USB/IP guest will send it
// anything) with card events, answers, failures and time-extension pulses mixed in. Beyond
// "no crash": every reply is a well-formed RDR_to_PC message and every interrupt a
// NotifySlotChange.
#include "vscard/ccid/ccid_device.h"

#include <cstdlib>
#include <deque>

using namespace vscard;
using namespace vscard::ccid;

namespace {

class InstantCard : public CardPort {
public:
    bool extended = false;
    bool power_ = false;
    std::deque<Completion> waiting;

    bool acceptsExtendedApdu() const override { return extended; }
    bool forwardsPower() const override { return power_; }
    void transmit(Bytes command, Completion done) override
    {
        (void)command;
        waiting.push_back(std::move(done));
    }
    void power(PowerAction, Completion done) override { waiting.push_back(std::move(done)); }
};

const Bytes kAtrs[] = {
    {0x3B, 0x7A, 0x18, 0x00, 0x00, 0x73, 0x66, 0x74, 0x65, 0x20, 0x63, 0x64, 0x31, 0x34, 0x34},
    {0x3B, 0x85, 0x81, 0x31, 0xFE, 0x45, 0x76, 0x73, 0x63, 0x72, 0x64, 0xFE},
    {0x3F, 0x00},
    {0x3B, 0xFF}, // malformed: the model must cope with what a client sends
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    DeviceConfig config;
    config.slotCount = static_cast<std::uint8_t>(1 + data[0] % 4);
    config.maxMessageSize = (data[0] & 0x10) ? 271 : kMaxMessageSize;
    config.level = (data[0] & 0x20) ? ExchangeLevel::Tpdu : ExchangeLevel::Apdu;
    CcidDevice::Output output;
    output.bulkIn = [](const Bytes& reply) {
        const auto parsed = parseMessage(reply);
        if (!parsed || parsed->type < 0x80 || parsed->type > 0x84)
            std::abort();
    };
    output.interrupt = [](const Bytes& notification) {
        if (notification.empty() || notification[0] != 0x50)
            std::abort();
    };
    CcidDevice device(config, output);
    std::vector<std::shared_ptr<InstantCard>> cards;

    ByteView stream(data + 1, size - 1);
    while (stream.size() >= 2) {
        const std::uint8_t control = stream[0];
        stream = stream.subspan(1);
        const std::uint8_t slot = control & 0x03;
        switch (control >> 5) {
        case 0: { // insert a card
            auto card = std::make_shared<InstantCard>();
            card->extended = control & 0x04;
            card->power_ = control & 0x08;
            cards.push_back(card);
            device.insertCard(slot, card, kAtrs[(control >> 3) & 0x03]);
            break;
        }
        case 1: device.removeCard(slot); break;
        case 2: // the oldest waiting card operation completes, successfully or not
            for (auto& card : cards) {
                if (card->waiting.empty())
                    continue;
                auto done = std::move(card->waiting.front());
                card->waiting.pop_front();
                if (control & 0x10)
                    done(Bytes{0x90, 0x00});
                else
                    done(vscard::fail(std::string("card failed")));
                break;
            }
            break;
        case 3: device.pulse(); break;
        default: { // a command: the next bytes, as long as the header says (bounded)
            if (stream.size() < ccid::kHeaderSize)
                return 0;
            const std::size_t announced = announcedLength(stream);
            const std::size_t length =
                ccid::kHeaderSize +
                std::min<std::size_t>(announced, stream.size() - ccid::kHeaderSize);
            device.handleCommand(stream.first(length));
            stream = stream.subspan(length);
            break;
        }
        }
    }
    return 0;
}
