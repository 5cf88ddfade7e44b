// server-ccid --usbip, judged from the outside: Debian's `usbip list -r` lists the readers, and
// a USB/IP importer speaking as vhci-hcd does drives CCID through URBs (descriptors, class
// requests, bulk transfers cut to the URB's size, unlink, card events on the interrupt
// endpoint), one importer per reader, released when it leaves, unplugged when its reader does;
// bad input drops only the connection that sent it.
#include "guest_vm.h"
#include "hex_bytes.h"
#include "pcsc_rig.h"
#include "usbip_importer.h"

#include "vscard/ccid/ccid_wire.h"

#include <QtTest>

using vscard::Bytes;
using vscard::test::UsbipImporter;
namespace usbip = vscard::usbip;

namespace {

const QString kAtr = vscard::test::kCacAtr;

QString hex(const Bytes& bytes)
{
    return QString::fromStdString(vscard::trace::hex(bytes));
}

Bytes ccidCommand(std::uint8_t type, std::uint8_t seq, const Bytes& data = {})
{
    vscard::ccid::Message message;
    message.type = type;
    message.seq = seq;
    message.data = data;
    return vscard::ccid::encode(message);
}

} // namespace

class TestUsbip : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void usbipList_showsEveryReader();
    void importer_readsDescriptorsAndClassRequests();
    void importer_exchangesApdus_inUrbsNoLongerThanAsked();
    void extendedApdu_passesWhole();
    void unlink_cancelsTheWaitingUrbOnly();
    void cardEvents_reachTheInterruptEndpoint();
    void oneImporterPerReader_releasedWhenItLeaves();
    void readerLeaving_unplugsItsImporter();
    void badInput_dropsOnlyThatConnection_data();
    void badInput_dropsOnlyThatConnection();

private:
    // A command on the scripted client's stdin, written out now: the importer's waits do not
    // run the event loop that would.
    void tell(const char* command)
    {
        client_->write(QByteArray(command) + "\n");
        client_->waitForBytesWritten(1000);
    }
    // Imports 1-1 and configures it, as the USB core does before a driver binds.
    bool importAndConfigure(UsbipImporter& importer, const std::string& busId = "1-1");

    std::unique_ptr<vscard::test::PcscRig> rig_;
    QProcess* client_ = nullptr;
    quint16 port_ = 0;
};

void TestUsbip::init()
{
    port_ = vscard::test::freeLoopbackPort();
    rig_ = std::make_unique<vscard::test::PcscRig>();
    rig_->extraServerArguments = {"--usbip", QStringLiteral("tcp:127.0.0.1:%1").arg(port_)};
    QVERIFY2(rig_->startServer(), qPrintable(rig_->error()));
    client_ = rig_->startClient({"--reader", "Alpha=" + kAtr, "--reader", "Beta=" + kAtr});
    QVERIFY(vscard::test::waitReady(client_));
}

void TestUsbip::cleanup()
{
    rig_.reset(); // checks the logs for sanitizer reports as it stops everything
}

bool TestUsbip::importAndConfigure(UsbipImporter& importer, const std::string& busId)
{
    return importer.connectTo(port_) && importer.import(busId) &&
           importer.control(0x00, 0x09, 1, 0, 0).has_value(); // SET_CONFIGURATION 1
}

void TestUsbip::usbipList_showsEveryReader()
{
    const auto result =
        rig_->run("usbip", {"--tcp-port", QString::number(port_), "list", "-r", "127.0.0.1"});
    QVERIFY2(result.exitCode == 0, qPrintable(result.output));
    for (const QString& line : {QString("1-1: "), QString("1-2: "), QString("(08e6:4433)"),
                                QString("/sys/devices/vscard/usb1/1-1"), QString("(0b/00/00)")})
        QVERIFY2(result.output.contains(line), qPrintable(line + " in:\n" + result.output));
    QVERIFY2(!result.output.contains("1-3:"), qPrintable(result.output));
}

void TestUsbip::importer_readsDescriptorsAndClassRequests()
{
    UsbipImporter importer;
    QVERIFY(importer.connectTo(port_));
    const auto device = importer.import("1-2");
    QVERIFY(device);
    QCOMPARE(device->busId, std::string("1-2"));
    QCOMPARE(device->vendorId, std::uint16_t{0x08E6});
    QCOMPARE(device->productId, std::uint16_t{0x4433});
    QCOMPARE(device->speed, usbip::kSpeedFull);

    // The USB core reads 8 bytes of the device descriptor first, then all of it.
    const auto head = importer.control(0x80, 0x06, 0x0100, 0, 8);
    QVERIFY(head);
    QCOMPARE(hex(*head), QString("12 01 10 01 00 00 00 40"));
    const auto deviceDescriptor = importer.control(0x80, 0x06, 0x0100, 0, 18);
    QVERIFY(deviceDescriptor);
    QCOMPARE(hex(*deviceDescriptor),
             QString("12 01 10 01 00 00 00 40 E6 08 33 44 00 01 01 02 03 01"));
    const auto configuration = importer.control(0x80, 0x06, 0x0200, 0, 255);
    QVERIFY(configuration);
    // 9 configuration + 9 interface + 54 CCID + 3 x 7 endpoints.
    QCOMPARE(configuration->size(), std::size_t{93});
    QCOMPARE(hex(Bytes(configuration->begin() + 9, configuration->begin() + 18)),
             QString("09 04 00 00 03 0B 00 00 04"));
    QCOMPARE((*configuration)[18], std::uint8_t{0x36});
    QCOMPARE((*configuration)[19], std::uint8_t{0x21});
    // dwFeatures: APDU level with extended APDUs; bPINSupport 0: no PIN pad is claimed.
    QCOMPARE(hex(Bytes(configuration->begin() + 18 + 40, configuration->begin() + 18 + 44)),
             QString("BA 04 04 00"));
    QCOMPARE((*configuration)[18 + 52], std::uint8_t{0});
    // The interface string is the reader's name: pcscd shows it in the PC/SC reader name.
    const auto name = importer.control(0x80, 0x06, 0x0304, 0x0409, 255);
    QVERIFY(name);
    QCOMPARE(hex(*name), QString("0A 03 42 00 65 00 74 00 61 00")); // "Beta"
    const auto serial = importer.control(0x80, 0x06, 0x0303, 0x0409, 255);
    QVERIFY(serial);
    QCOMPARE(serial->size(), std::size_t{2 + 2 * 10}); // "vscard-1-2"

    QVERIFY(importer.control(0x00, 0x09, 1, 0, 0));
    QCOMPARE(hex(*importer.control(0x80, 0x08, 0, 0, 1)), QString("01"));
    // The CCID class requests Windows' usbccid.sys sends.
    QCOMPARE(hex(*importer.control(0xA1, 0x02, 0, 0, 64)), QString("A0 0F 00 00")); // 4000 kHz
    QCOMPARE(hex(*importer.control(0xA1, 0x03, 0, 0, 64)), QString("00 2A 00 00")); // 10752 bps
    QVERIFY(importer.control(0x21, 0x01, 0x0500, 0, 0)); // ABORT slot 0 seq 5
    // What the reader does not know stalls: a device qualifier, an unknown class request.
    const auto qualifier = importer.reply(importer.submitControl(0x80, 0x06, 0x0600, 0, 10));
    QVERIFY(qualifier);
    QCOMPARE(qualifier->status, usbip::kEpipe);
    const auto unknown = importer.reply(importer.submitControl(0xA1, 0x7F, 0, 0, 4));
    QVERIFY(unknown);
    QCOMPARE(unknown->status, usbip::kEpipe);
}

void TestUsbip::importer_exchangesApdus_inUrbsNoLongerThanAsked()
{
    UsbipImporter importer;
    QVERIFY(importAndConfigure(importer));
    const auto powered = importer.ccid(ccidCommand(0x62, 1));
    QVERIFY(powered);
    // DataBlock, slot 0, seq 1, status 0: the ATR.
    QCOMPARE(hex(*powered), hex(ccidCommand(0x80, 1, vscard::test::fromHex(kAtr))));
    // Case 2: the test card answers INS, INS+1, ... then 90 00.
    const auto answer =
        importer.ccid(ccidCommand(0x6F, 2, vscard::test::fromHex("00 B0 00 00 04")));
    QVERIFY(answer);
    QCOMPARE(hex(Bytes(answer->begin() + 10, answer->end())), QString("B0 B1 B2 B3 90 00"));

    // The same exchange read 7 bytes per URB: the 16-byte reply comes in three URBs.
    const auto sent = importer.reply(
        importer.submitOut(0x02, ccidCommand(0x6F, 3, vscard::test::fromHex("00 B0 00 00 04"))));
    QVERIFY(sent && sent->status == 0);
    QCOMPARE(sent->actualLength, 15u);
    std::vector<std::size_t> sizes;
    Bytes whole;
    while (whole.size() < 16) {
        const auto part = importer.reply(importer.submitIn(0x82, 7));
        QVERIFY(part && part->status == 0);
        QVERIFY(part->data.size() <= 7);
        sizes.push_back(part->data.size());
        whole.insert(whole.end(), part->data.begin(), part->data.end());
    }
    QCOMPARE(sizes, (std::vector<std::size_t>{7, 7, 2}));
    QCOMPARE(hex(Bytes(whole.begin() + 10, whole.end())), QString("B0 B1 B2 B3 90 00"));
}

// APDU level with extended APDUs: a 300-byte command and a 300-byte answer, each one CCID
// message, for a client that announces extended APDUs.
void TestUsbip::extendedApdu_passesWhole()
{
    QProcess* extended = rig_->startClient({"--extended", "--reader", "Gamma=" + kAtr});
    QVERIFY(vscard::test::waitReady(extended));
    UsbipImporter importer;
    QVERIFY(importAndConfigure(importer, "1-3"));
    QVERIFY(importer.ccid(ccidCommand(0x62, 1)));
    Bytes data(300);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i);
    const Bytes apdu = vscard::test::concat(
        {vscard::test::fromHex("00 D6 00 00 00 01 2C"), data, vscard::test::fromHex("01 2C")});
    const auto answer = importer.ccid(ccidCommand(0x6F, 2, apdu));
    QVERIFY(answer);
    QCOMPARE(answer->size(), std::size_t{10 + 302});
    QCOMPARE(Bytes(answer->begin() + 10, answer->end() - 2), data);
    QCOMPARE(hex(Bytes(answer->end() - 2, answer->end())), QString("90 00"));
}

void TestUsbip::unlink_cancelsTheWaitingUrbOnly()
{
    UsbipImporter importer;
    QVERIFY(importAndConfigure(importer));
    // libccid's read timing out: a bulk-in URB waits with nothing to read, then is unlinked.
    const auto waiting = importer.submitIn(0x82, 65556);
    QVERIFY(!importer.reply(waiting, 500));
    const auto unlinked = importer.unlinkReply(importer.unlink(waiting));
    QVERIFY(unlinked);
    QCOMPARE(unlinked->status, usbip::kEconnreset);
    // Unlinking what already completed says so with 0.
    const auto done = importer.submitControl(0x80, 0x08, 0, 0, 1);
    QVERIFY(importer.reply(done));
    const auto late = importer.unlinkReply(importer.unlink(done));
    QVERIFY(late);
    QCOMPARE(late->status, 0);
    // The next answer goes to the next URB, never to the unlinked one.
    const auto answer = importer.ccid(ccidCommand(0x62, 9));
    QVERIFY(answer);
    QCOMPARE((*answer)[6], std::uint8_t{9});
    QVERIFY(!importer.reply(waiting, 300));
}

void TestUsbip::cardEvents_reachTheInterruptEndpoint()
{
    UsbipImporter importer;
    QVERIFY(importAndConfigure(importer));
    // After SET_CONFIGURATION the host learns what the slot holds: present, changed.
    const auto first = importer.reply(importer.submitIn(0x83, 8));
    QVERIFY(first && first->status == 0);
    QCOMPARE(hex(first->data), QString("50 03"));

    const auto removal = importer.submitIn(0x83, 8);
    QVERIFY(!importer.reply(removal, 300)); // nothing happens until the card moves
    tell("remove 0");
    const auto removed = importer.reply(removal);
    QVERIFY(removed && removed->status == 0);
    QCOMPARE(hex(removed->data), QString("50 02"));
    // The slot status says the same.
    const auto status = importer.ccid(ccidCommand(0x65, 4));
    QVERIFY(status);
    QCOMPARE((*status)[7] & 0x03, 2); // no ICC present

    tell("insert 0");
    const auto inserted = importer.reply(importer.submitIn(0x83, 8));
    QVERIFY(inserted && inserted->status == 0);
    QCOMPARE(hex(inserted->data), QString("50 03"));
    const auto powered = importer.ccid(ccidCommand(0x62, 5));
    QVERIFY(powered);
    QCOMPARE(hex(Bytes(powered->begin() + 10, powered->end())), hex(vscard::test::fromHex(kAtr)));
}

void TestUsbip::oneImporterPerReader_releasedWhenItLeaves()
{
    UsbipImporter first;
    QVERIFY(importAndConfigure(first));
    UsbipImporter second;
    QVERIFY(second.connectTo(port_));
    QVERIFY(!second.import("1-1")); // held by the first
    QVERIFY(second.waitForClose());
    // An imported reader is not offered to others.
    UsbipImporter lister;
    QVERIFY(lister.connectTo(port_));
    const auto listed = lister.deviceList();
    QVERIFY(listed);
    QCOMPARE(listed->size(), std::size_t{1});
    QCOMPARE(listed->front().busId, std::string("1-2"));
    QCOMPARE(listed->front().interfaces.size(), std::size_t{1});
    QCOMPARE(listed->front().interfaces[0].interfaceClass, std::uint8_t{0x0B});

    first.close();
    QTRY_VERIFY_WITH_TIMEOUT(rig_->serverLog().contains("reader 1-1 is free"), 10000);
    UsbipImporter third;
    QVERIFY(importAndConfigure(third));
    const auto powered = third.ccid(ccidCommand(0x62, 1));
    QVERIFY(powered);
    QCOMPARE(hex(Bytes(powered->begin() + 10, powered->end())), hex(vscard::test::fromHex(kAtr)));
    // A bus ID that names no reader is refused.
    UsbipImporter stray;
    QVERIFY(stray.connectTo(port_));
    QVERIFY(!stray.import("1-9"));
}

void TestUsbip::readerLeaving_unplugsItsImporter()
{
    UsbipImporter importer;
    QVERIFY(importAndConfigure(importer));
    const auto waiting = importer.submitIn(0x82, 65556);
    tell("quit");
    QVERIFY(importer.waitForClose());
    QVERIFY(!importer.reply(waiting, 100));
    QVERIFY2(rig_->serverLog().contains("left the server: unplugged"),
             qPrintable(rig_->serverLog()));
}

void TestUsbip::badInput_dropsOnlyThatConnection_data()
{
    QTest::addColumn<bool>("imported");
    QTest::addColumn<QString>("bytes");
    QTest::addColumn<QString>("logged");
    QTest::newRow("unknown operation") << false << "01 11 80 99 00 00 00 00"
                                       << "unknown USB/IP operation 0x8099";
    QTest::newRow("URB before any import")
        << false << "00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00"
        << "USB/IP version";
    QTest::newRow("OUT data over 64 KiB")
        << true
        << "00 00 00 01 00 00 00 07 00 01 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 10 00 "
           "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
        << "bytes of OUT data";
    QTest::newRow("isochronous URB")
        << true
        << "00 00 00 01 00 00 00 07 00 01 00 01 00 00 00 01 00 00 00 03 00 00 00 00 00 00 00 "
           "08 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00"
        << "isochronous";
}

void TestUsbip::badInput_dropsOnlyThatConnection()
{
    QFETCH(bool, imported);
    QFETCH(QString, bytes);
    QFETCH(QString, logged);
    // A healthy importer of the other reader, busy when the bad input comes.
    UsbipImporter healthy;
    QVERIFY(importAndConfigure(healthy, "1-2"));
    QVERIFY(healthy.ccid(ccidCommand(0x62, 1)));
    UsbipImporter bad;
    if (imported)
        QVERIFY(importAndConfigure(bad));
    else
        QVERIFY(bad.connectTo(port_));
    bad.writeRaw(vscard::test::fromHex(bytes));
    QVERIFY(bad.waitForClose());
    QVERIFY2(rig_->serverLog().contains(logged), qPrintable(rig_->serverLog()));
    QVERIFY(rig_->serverLog().contains("connection dropped"));
    // The healthy importer goes on; the bad one's reader is free again.
    const auto answer = healthy.ccid(ccidCommand(0x6F, 2, vscard::test::fromHex("00 B0 00 00 02")));
    QVERIFY(answer);
    QCOMPARE(hex(Bytes(answer->begin() + 10, answer->end())), QString("B0 B1 90 00"));
    UsbipImporter next;
    QVERIFY(importAndConfigure(next));
}

QTEST_GUILESS_MAIN(TestUsbip)
#include "tst_usbip_system.moc"
