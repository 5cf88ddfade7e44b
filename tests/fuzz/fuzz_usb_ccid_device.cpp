// The USB face of the CCID reader on what an importer sends once it has imported a reader:
// URBs decoded by the USB/IP parser, fed to UsbCcidDevice with a card that answers at once.
// Whatever the URBs, the device keeps USB's promises: an URB completes at most once, an IN
// URB never gets more than it asked for, an unlinked URB never completes.
#include "vscard/ccid/usb_ccid_device.h"

#include <cstdlib>
#include <map>
#include <set>

using namespace vscard;
using namespace vscard::ccid;

namespace {

class InstantCard : public CardPort {
public:
    bool acceptsExtendedApdu() const override { return true; }
    bool forwardsPower() const override { return true; }
    void transmit(Bytes command, Completion done) override
    {
        // Echo the command, longer than most URBs, then 90 00.
        command.push_back(0x90);
        command.push_back(0x00);
        done(std::move(command));
    }
    void power(PowerAction, Completion done) override { done(Bytes{0x3B, 0x02, 0x14, 0x50}); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::set<std::uint32_t> completed;
    std::set<std::uint32_t> unlinked;
    std::map<std::uint32_t, std::uint32_t> inLengths;
    UsbCcidDevice::Output output;
    output.completed = [&](const usbip::SubmitReply& reply, std::uint32_t direction) {
        if (!completed.insert(reply.seqnum).second || unlinked.count(reply.seqnum))
            std::abort();
        if (direction == usbip::kDirIn && reply.data.size() > inLengths[reply.seqnum])
            std::abort();
    };
    output.unlinked = [&](const usbip::UnlinkReply&) {};
    output.log = [](const std::string&) {};
    UsbIdentity identity;
    identity.interfaceName = "fuzz";
    UsbCcidDevice device(identity, DeviceConfig{}, output);
    device.ccid().insertCard(0, std::make_shared<InstantCard>(), Bytes{0x3B, 0x00});

    usbip::ServerDecoder decoder;
    decoder.setImported();
    decoder.feed(ByteView(data, size));
    int steps = 0;
    while (auto next = decoder.next()) {
        if (!*next || ++steps > 256)
            break;
        if (auto* urb = std::get_if<usbip::Submit>(&**next)) {
            if (completed.count(urb->seqnum) || inLengths.count(urb->seqnum))
                continue; // a host never reuses a number still in flight
            inLengths[urb->seqnum] = urb->transferLength;
            device.submit(std::move(*urb));
        } else if (auto* unlink = std::get_if<usbip::Unlink>(&**next)) {
            // Only an URB in flight can be unlinked; it must then never complete.
            if (inLengths.count(unlink->unlinkSeqnum) && !completed.count(unlink->unlinkSeqnum))
                unlinked.insert(unlink->unlinkSeqnum);
            device.unlink(*unlink);
        }
        if (steps % 16 == 0)
            device.ccid().pulse();
    }
    return 0;
}
