// What the card side does about QEMU 7.2's usb-ccid: a response whose CCID message would be a
// multiple of 64 bytes leaves one data byte and its status for a GET RESPONSE.
#include "vscard/qemu_quirks.h"

#include <QtTest>

using namespace vscard;

class TestQemuQuirks : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void lengthsThatFillWholePackets_areSplit_data();
    void lengthsThatFillWholePackets_areSplit();
    void otherLengths_goAsTheyAre_data();
    void otherLengths_goAsTheyAre();
    void getResponse_fetchesTheTail();
};

void TestQemuQuirks::lengthsThatFillWholePackets_areSplit_data()
{
    QTest::addColumn<int>("length");
    for (int length : {54, 118, 182, 246, 310, 374})
        QTest::newRow(qPrintable(QString::number(length))) << length;
}

void TestQemuQuirks::lengthsThatFillWholePackets_areSplit()
{
    QFETCH(int, length);
    Bytes response(static_cast<std::size_t>(length));
    for (int i = 0; i < length - 2; ++i)
        response[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    response[response.size() - 2] = 0x90;
    response[response.size() - 1] = 0x00;
    const auto [first, tail] = qemuSafeResponse(response);
    QCOMPARE(first.size(), response.size() - 1);
    QVERIFY((first.size() + 10) % 64 != 0);
    QCOMPARE(first[first.size() - 2], std::uint8_t{0x61});
    QCOMPARE(first[first.size() - 1], std::uint8_t{0x01});
    QVERIFY(std::equal(first.begin(), first.end() - 2, response.begin()));
    // The tail: the last data byte and the real status, 3 bytes, for GET RESPONSE Le=1.
    QCOMPARE(tail, (Bytes{static_cast<std::uint8_t>(length - 3), 0x90, 0x00}));
}

void TestQemuQuirks::otherLengths_goAsTheyAre_data()
{
    QTest::addColumn<int>("length");
    for (int length : {2, 3, 53, 55, 64, 117, 256, 258})
        QTest::newRow(qPrintable(QString::number(length))) << length;
}

void TestQemuQuirks::otherLengths_goAsTheyAre()
{
    QFETCH(int, length);
    const Bytes response(static_cast<std::size_t>(length), 0x42);
    const auto [first, tail] = qemuSafeResponse(response);
    QCOMPARE(first, response);
    QVERIFY(tail.empty());
}

void TestQemuQuirks::getResponse_fetchesTheTail()
{
    QVERIFY(fetchesHeldTail(Bytes{0x00, 0xC0, 0x00, 0x00, 0x01}));
    QVERIFY(fetchesHeldTail(Bytes{0x80, 0xC0, 0x00, 0x00, 0x00}));
    QVERIFY(!fetchesHeldTail(Bytes{0x00, 0xC0, 0x01, 0x00, 0x01}));
    QVERIFY(!fetchesHeldTail(Bytes{0x00, 0xB0, 0x00, 0x00, 0x01}));
    QVERIFY(!fetchesHeldTail(Bytes{0x00, 0xC0}));
}

QTEST_GUILESS_MAIN(TestQemuQuirks)
#include "tst_qemu_quirks.moc"
