// The USB/IP wire format, byte for byte as Linux's usbip tools and vhci-hcd speak it
// (Documentation/usb/usbip_protocol.rst), and the decoders' refusals.
#include "hex_bytes.h"
#include "vscard/ccid/usbip_wire.h"

#include <QtTest>

using namespace vscard;
using namespace vscard::usbip;

namespace {

QString hex(const Bytes& bytes)
{
    return QString::fromStdString(trace::hex(bytes));
}

Bytes fromHex(const QString& text)
{
    return vscard::test::fromHex(text.toLatin1().constData());
}

Device reader()
{
    Device device;
    device.path = "/sys/devices/vscard/usb1/1-1";
    device.busId = "1-1";
    device.busNumber = 1;
    device.deviceNumber = 2;
    device.vendorId = 0x1D6B;
    device.productId = 0x0104;
    device.bcdDevice = 0x0100;
    device.interfaces = {{0x0B, 0x00, 0x00}};
    return device;
}

template <typename T, typename Decoder>
T single(Decoder& decoder)
{
    auto next = decoder.next();
    if (!next || !*next)
        qFatal("no item: %s", next ? (*next).error().message.c_str() : "incomplete");
    return std::get<T>(**next);
}

} // namespace

class TestUsbipWire : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void devlist_requestAndReply_bytes();
    void import_requestAndReply_roundTrip();
    void submit_out_bytesAndDecoding();
    void submit_in_replyCarriesData();
    void unlink_bytesAndReply();
    void serverDecoder_byteByByte_sameItems();
    void serverDecoder_refuses_data();
    void serverDecoder_refuses();
    void serverDecoder_takesLargeInUrbs();
};

void TestUsbipWire::devlist_requestAndReply_bytes()
{
    QCOMPARE(hex(encodeDevlistRequest()), QString("01 11 80 05 00 00 00 00"));
    const Bytes reply = encodeDevlistReply({reader()});
    QCOMPARE(reply.size(), std::size_t{8 + 4 + 312 + 4});
    QCOMPARE(hex(Bytes(reply.begin(), reply.begin() + 12)),
             QString("01 11 00 05 00 00 00 00 00 00 00 01"));
    // After path and busid: busnum 1, devnum 2, speed full, ids, bcdDevice, classes, config
    // value 1, one configuration, one interface; then the interface: class 0B (smart card).
    QCOMPARE(hex(Bytes(reply.begin() + 12 + 288, reply.end())),
             QString("00 00 00 01 00 00 00 02 00 00 00 02 1D 6B 01 04 01 00 00 00 00 01 01 01 "
                     "0B 00 00 00"));
    ClientDecoder decoder;
    decoder.expectDevlist();
    decoder.feed(reply);
    const auto devices = single<DevlistReply>(decoder).devices;
    QCOMPARE(devices.size(), std::size_t{1});
    QVERIFY(devices[0] == reader());
}

void TestUsbipWire::import_requestAndReply_roundTrip()
{
    const Bytes request = encodeImportRequest("1-1");
    QCOMPARE(request.size(), std::size_t{40});
    QCOMPARE(hex(Bytes(request.begin(), request.begin() + 12)),
             QString("01 11 80 03 00 00 00 00 31 2D 31 00"));
    ServerDecoder server;
    server.feed(request);
    QCOMPARE(single<ImportRequest>(server).busId, std::string("1-1"));

    ClientDecoder client;
    client.expectImport();
    client.feed(encodeImportReply(reader()));
    auto imported = single<ImportReply>(client).device;
    QVERIFY(imported.has_value());
    Device expected = reader();
    expected.interfaces.clear(); // OP_REP_IMPORT carries no interface list
    QVERIFY(*imported == expected);
    client.expectImport();
    client.feed(encodeImportReply(std::nullopt));
    QCOMPARE(hex(encodeImportReply(std::nullopt)), QString("01 11 00 03 00 00 00 01"));
    QVERIFY(!single<ImportReply>(client).device);
}

void TestUsbipWire::submit_out_bytesAndDecoding()
{
    Submit submit;
    submit.seqnum = 7;
    submit.devid = 0x00010002;
    submit.direction = kDirOut;
    submit.endpoint = 2;
    submit.transferLength = 3;
    submit.data = {0x62, 0x00, 0x00};
    const Bytes bytes = encodeSubmit(submit);
    QCOMPARE(hex(bytes), QString("00 00 00 01 00 00 00 07 00 01 00 02 00 00 00 00 00 00 00 02 "
                                 "00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00 "
                                 "00 00 00 00 00 00 00 00 62 00 00"));
    ServerDecoder server;
    server.setImported();
    server.feed(bytes);
    QVERIFY(single<Submit>(server) == submit);
    QVERIFY(!server.next());
}

void TestUsbipWire::submit_in_replyCarriesData()
{
    SubmitReply reply{9, 0, 0, {0x80, 0x02, 0x00}};
    const Bytes bytes = encodeSubmitReply(reply, kDirIn);
    QCOMPARE(hex(Bytes(bytes.begin(), bytes.begin() + 28)),
             QString("00 00 00 03 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                     "00 00 00 03"));
    QCOMPARE(bytes.size(), std::size_t{48 + 3});
    ClientDecoder client;
    client.submitted(9, kDirIn);
    client.feed(bytes);
    const SubmitReply decoded = single<SubmitReply>(client);
    QCOMPARE(decoded.actualLength, 3u);
    QCOMPARE(hex(decoded.data), QString("80 02 00"));
    // An OUT reply says how much went out and carries nothing.
    const Bytes out = encodeSubmitReply(SubmitReply{10, 0, 12, {}}, kDirOut);
    QCOMPARE(out.size(), std::size_t{48});
    QCOMPARE(hex(Bytes(out.begin() + 24, out.begin() + 28)), QString("00 00 00 0C"));
    client.submitted(10, kDirOut);
    client.feed(out);
    const SubmitReply outDecoded = single<SubmitReply>(client);
    QCOMPARE(outDecoded.actualLength, 12u);
    QVERIFY(outDecoded.data.empty());
    // A stalled URB: the status, no data.
    const Bytes stalled = encodeSubmitReply(SubmitReply{11, kEpipe, 0, {1, 2}}, kDirIn);
    QCOMPARE(stalled.size(), std::size_t{48});
    QCOMPARE(hex(Bytes(stalled.begin() + 20, stalled.begin() + 28)),
             QString("FF FF FF E0 00 00 00 00"));
}

void TestUsbipWire::unlink_bytesAndReply()
{
    const Unlink unlink{12, 0x00010002, kDirIn, 1, 9};
    const Bytes bytes = encodeUnlink(unlink);
    QCOMPARE(bytes.size(), kUrbHeaderSize);
    QCOMPARE(hex(Bytes(bytes.begin(), bytes.begin() + 24)),
             QString("00 00 00 02 00 00 00 0C 00 01 00 02 00 00 00 01 00 00 00 01 00 00 00 09"));
    ServerDecoder server;
    server.setImported();
    server.feed(bytes);
    QVERIFY(single<Unlink>(server) == unlink);
    ClientDecoder client;
    client.feed(encodeUnlinkReply(UnlinkReply{12, kEconnreset}));
    const UnlinkReply reply = single<UnlinkReply>(client);
    QCOMPARE(reply.seqnum, 12u);
    QCOMPARE(reply.status, kEconnreset);
}

void TestUsbipWire::serverDecoder_byteByByte_sameItems()
{
    Submit submit;
    submit.seqnum = 1;
    submit.direction = kDirOut;
    submit.endpoint = 2;
    submit.transferLength = 10;
    submit.data = Bytes(10, 0xAB);
    const Bytes stream = encodeSubmit(submit);
    ServerDecoder server;
    server.setImported();
    for (std::size_t i = 0; i + 1 < stream.size(); ++i) {
        server.feed(ByteView(&stream[i], 1));
        QVERIFY(!server.next());
    }
    server.feed(ByteView(&stream.back(), 1));
    QVERIFY(single<Submit>(server) == submit);
}

void TestUsbipWire::serverDecoder_refuses_data()
{
    QTest::addColumn<bool>("imported");
    QTest::addColumn<QString>("bytes");
    QTest::addColumn<QString>("message");
    QTest::newRow("old version") << false << "01 06 80 05 00 00 00 00"
                                 << "USB/IP version 1.6";
    QTest::newRow("unknown operation") << false << "01 11 80 99 00 00 00 00"
                                       << "unknown USB/IP operation 0x8099";
    const QString tail = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ";
    QTest::newRow("unknown command") << true << "00 00 00 09 " + tail + tail + "00 00 00 00"
                                     << "unknown USB/IP command 9";
    QTest::newRow("bad direction")
        << true
        << "00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 05 00 00 00 02 " + tail +
               "00 00 00 00 00 00 00 00"
        << "direction 5";
    QTest::newRow("oversized")
        << true
        << "00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 00 00 10 00 "
           "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
        << "1048576 bytes";
    QTest::newRow("isochronous")
        << true
        << "00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 "
           "00 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 00"
        << "isochronous";
}

void TestUsbipWire::serverDecoder_refuses()
{
    QFETCH(bool, imported);
    QFETCH(QString, bytes);
    QFETCH(QString, message);
    ServerDecoder server;
    if (imported)
        server.setImported();
    server.feed(fromHex(bytes));
    const auto next = server.next();
    QVERIFY(next.has_value());
    QVERIFY(!*next);
    QVERIFY2(QString::fromStdString((*next).error().message).contains(message),
             (*next).error().message.c_str());
    QVERIFY(!server.next()); // nothing after a framing error
}

// libccid reads bulk-in with room for 65556 bytes: an IN URB's length is no data to hold.
void TestUsbipWire::serverDecoder_takesLargeInUrbs()
{
    Submit submit;
    submit.seqnum = 7;
    submit.direction = kDirIn;
    submit.endpoint = 2;
    submit.transferLength = 65556;
    ServerDecoder server;
    server.setImported();
    server.feed(encodeSubmit(submit));
    QVERIFY(single<Submit>(server) == submit);
}

QTEST_GUILESS_MAIN(TestUsbipWire)
#include "tst_usbip_wire.moc"
