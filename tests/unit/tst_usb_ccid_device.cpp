// UsbCcidDevice alone, URB by URB: what tst_usbip_system cannot provoke through a well-behaved
// host (a stalled bulk-out and its CLEAR_FEATURE, coalesced card events, URBs before
// SET_CONFIGURATION, a command split over URBs, non-ASCII strings).
#include "hex_bytes.h"
#include "vscard/ccid/usb_ccid_device.h"

#include <QtTest>

#include <map>

using namespace vscard;
using namespace vscard::ccid;
using vscard::test::fromHex;

namespace {

// A card that answers every APDU with 90 00 and powers up with a fixed ATR at once.
class InstantCard : public CardPort {
public:
    bool acceptsExtendedApdu() const override { return true; }
    bool forwardsPower() const override { return false; }
    void transmit(Bytes, Completion done) override { done(Bytes{0x90, 0x00}); }
    void power(PowerAction, Completion done) override { done(Bytes{0x3B, 0x00}); }
};

struct Harness {
    std::map<std::uint32_t, usbip::SubmitReply> completed;
    std::vector<usbip::UnlinkReply> unlinked;
    std::vector<std::string> logs;
    std::vector<QString> bulkMessages; // hex, both ways, as traces see them
    std::uint32_t nextSeqnum = 1;
    std::unique_ptr<UsbCcidDevice> device;

    explicit Harness(UsbIdentity identity = {})
    {
        UsbCcidDevice::Output output;
        output.completed = [this](const usbip::SubmitReply& reply, std::uint32_t) {
            if (completed.count(reply.seqnum))
                QFAIL("an URB completed twice");
            completed[reply.seqnum] = reply;
        };
        output.unlinked = [this](const usbip::UnlinkReply& reply) { unlinked.push_back(reply); };
        output.log = [this](const std::string& line) { logs.push_back(line); };
        output.bulkMessage = [this](ByteView message) {
            bulkMessages.push_back(QString::fromStdString(trace::hex(message)));
        };
        device = std::make_unique<UsbCcidDevice>(std::move(identity), DeviceConfig{}, output);
    }
    std::uint32_t control(std::uint8_t type, std::uint8_t request, std::uint16_t value,
                          std::uint16_t index, std::uint16_t length)
    {
        usbip::Submit urb;
        urb.seqnum = nextSeqnum++;
        urb.direction = (type & 0x80) ? usbip::kDirIn : usbip::kDirOut;
        urb.transferLength = length;
        urb.setup = usbip::setupPacket(type, request, value, index, length);
        device->submit(urb);
        return urb.seqnum;
    }
    std::uint32_t out(const Bytes& data)
    {
        usbip::Submit urb;
        urb.seqnum = nextSeqnum++;
        urb.endpoint = 2;
        urb.data = data;
        urb.transferLength = static_cast<std::uint32_t>(data.size());
        device->submit(urb);
        return urb.seqnum;
    }
    std::uint32_t in(std::uint32_t endpoint, std::uint32_t length)
    {
        usbip::Submit urb;
        urb.seqnum = nextSeqnum++;
        urb.direction = usbip::kDirIn;
        urb.endpoint = endpoint;
        urb.transferLength = length;
        device->submit(urb);
        return urb.seqnum;
    }
    std::int32_t status(std::uint32_t seqnum) const { return completed.at(seqnum).status; }
    QString data(std::uint32_t seqnum) const
    {
        return QString::fromStdString(trace::hex(completed.at(seqnum).data));
    }
};

} // namespace

class TestUsbCcidDevice : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void beforeSetConfiguration_dataEndpointsStall();
    void oversizedCommand_stallsBulkOut_untilClearFeature();
    void commandSplitOverUrbs_isOneCommand();
    void bulkMessages_whole_evenWhenUrbsCutThem();
    void cardEvents_waitingForTheHost_coalesce();
    void strings_areUtf16();
};

void TestUsbCcidDevice::beforeSetConfiguration_dataEndpointsStall()
{
    Harness harness;
    const auto bulk = harness.in(2, 64);
    const auto interrupt = harness.in(3, 8);
    QCOMPARE(harness.status(bulk), usbip::kEpipe);
    QCOMPARE(harness.status(interrupt), usbip::kEpipe);
    QCOMPARE(harness.status(harness.control(0x00, 0x09, 1, 0, 0)), 0);
    QCOMPARE(harness.data(harness.control(0x80, 0x08, 0, 0, 1)), QString("01"));
    // Configuration 2 does not exist.
    QCOMPARE(harness.status(harness.control(0x00, 0x09, 2, 0, 0)), usbip::kEpipe);
}

void TestUsbCcidDevice::oversizedCommand_stallsBulkOut_untilClearFeature()
{
    Harness harness;
    harness.control(0x00, 0x09, 1, 0, 0);
    // An XfrBlock header announcing 16 MiB, over dwMaxCCIDMessageLength.
    const auto big = harness.out(fromHex("6F 00 00 00 01 00 01 00 00 00"));
    QCOMPARE(harness.status(big), usbip::kEpipe);
    QVERIFY(!harness.logs.empty());
    QVERIFY(QString::fromStdString(harness.logs.back()).contains("endpoint stalled"));
    const auto powerOn = fromHex("62 00 00 00 00 00 01 00 00 00");
    QCOMPARE(harness.status(harness.out(powerOn)), usbip::kEpipe);
    // GET_STATUS of the endpoint says halted; CLEAR_FEATURE(ENDPOINT_HALT) clears it.
    QCOMPARE(harness.data(harness.control(0x82, 0x00, 0, 0x02, 2)), QString("01 00"));
    QCOMPARE(harness.status(harness.control(0x02, 0x01, 0, 0x02, 0)), 0);
    QCOMPARE(harness.data(harness.control(0x82, 0x00, 0, 0x02, 2)), QString("00 00"));
    const auto sent = harness.out(powerOn);
    QCOMPARE(harness.status(sent), 0);
    QCOMPARE(harness.completed.at(sent).actualLength, 10u);
    const auto reply = harness.in(2, 64);
    // The command reached the model: a DataBlock, failed, no card (ICC_MUTE).
    QCOMPARE(harness.data(reply), QString("80 00 00 00 00 00 01 42 FE 00"));
}

void TestUsbCcidDevice::commandSplitOverUrbs_isOneCommand()
{
    Harness harness;
    harness.control(0x00, 0x09, 1, 0, 0);
    harness.device->ccid().insertCard(0, std::make_shared<InstantCard>(), Bytes{0x3B, 0x00});
    const auto waiting = harness.in(2, 65556);
    QVERIFY(!harness.completed.count(waiting));
    harness.out(fromHex("62 00 00 00"));
    QVERIFY(!harness.completed.count(waiting)); // half a header: nothing to do yet
    harness.out(fromHex("00 00 07 00 00 00"));
    QCOMPARE(harness.data(waiting), QString("80 02 00 00 00 00 07 00 00 00 3B 00"));
}

void TestUsbCcidDevice::bulkMessages_whole_evenWhenUrbsCutThem()
{
    Harness harness;
    harness.control(0x00, 0x09, 1, 0, 0);
    harness.device->ccid().insertCard(0, std::make_shared<InstantCard>(), Bytes{0x3B, 0x00});
    harness.out(fromHex("62 00 00 00"));
    QVERIFY(harness.bulkMessages.empty());
    harness.out(fromHex("00 00 07 00 00 00"));
    // The reply leaves in two IN URBs; a trace still sees it once, whole.
    QCOMPARE(harness.data(harness.in(2, 8)), QString("80 02 00 00 00 00 07 00"));
    QCOMPARE(harness.data(harness.in(2, 8)), QString("00 00 3B 00"));
    QCOMPARE(harness.bulkMessages, (std::vector<QString>{"62 00 00 00 00 00 07 00 00 00",
                                                         "80 02 00 00 00 00 07 00 00 00 3B 00"}));
}

void TestUsbCcidDevice::cardEvents_waitingForTheHost_coalesce()
{
    Harness harness;
    harness.control(0x00, 0x09, 1, 0, 0); // queues the current state: empty, unchanged
    harness.device->ccid().insertCard(0, std::make_shared<InstantCard>(), Bytes{0x3B, 0x00});
    harness.device->ccid().removeCard(0);
    harness.device->ccid().insertCard(0, std::make_shared<InstantCard>(), Bytes{0x3B, 0x00});
    // One message for the lot: present now, changed since the host last heard.
    QCOMPARE(harness.data(harness.in(3, 8)), QString("50 03"));
    const auto next = harness.in(3, 8);
    QVERIFY(!harness.completed.count(next));
    harness.device->unlink({100, 0, 0, 0, next});
    QCOMPARE(harness.unlinked.size(), std::size_t{1});
    QCOMPARE(harness.unlinked[0].status, usbip::kEconnreset);
    harness.device->ccid().removeCard(0);
    QVERIFY(!harness.completed.count(next)); // an unlinked URB is never completed
    QCOMPARE(harness.data(harness.in(3, 8)), QString("50 02"));
}

void TestUsbCcidDevice::strings_areUtf16()
{
    UsbIdentity identity;
    identity.interfaceName = "Zo\xC3\xAB"; // "Zoë"
    Harness harness(identity);
    QCOMPARE(harness.data(harness.control(0x80, 0x06, 0x0304, 0x0409, 255)),
             QString("08 03 5A 00 6F 00 EB 00"));
    QCOMPARE(harness.data(harness.control(0x80, 0x06, 0x0300, 0, 255)), QString("04 03 09 04"));
    // No serial number: no string 3, and the device descriptor's iSerialNumber is 0.
    QCOMPARE(harness.status(harness.control(0x80, 0x06, 0x0303, 0x0409, 255)), usbip::kEpipe);
    QCOMPARE(harness.data(harness.control(0x80, 0x06, 0x0100, 0, 18)).right(5), QString("00 01"));
}

QTEST_GUILESS_MAIN(TestUsbCcidDevice)
#include "tst_usb_ccid_device.moc"
