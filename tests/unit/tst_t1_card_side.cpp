// The card's side of T=1, against the exact blocks libccid (OpenCT's T=1 code) sends.
#include "hex_bytes.h"
#include "vscard/ccid/t1_card_side.h"

#include <QtTest>

using vscard::Bytes;
using vscard::ccid::T1CardSide;
using vscard::test::fromHex;

class TestT1CardSide : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void ifsRequest_libccidNegotiation_answeredExactly();
    void iBlock_singleCommand_apduThenResponseBlock();
    void iBlock_chainedCommand_acknowledgedThenAssembled();
    void response_longerThanIfsd_chainedOnRBlocks();
    void rBlock_repeatingOurSequence_retransmitsLastBlock();
    void block_wrongEdc_rBlockEdcError();
    void block_wrongSequence_rBlockOtherError();
    void resynch_request_resetsSequences();
    void crc_blocks_checkedAndProduced();
};

void TestT1CardSide::ifsRequest_libccidNegotiation_answeredExactly()
{
    T1CardSide t1;
    t1.reset(false);
    const auto step = t1.onBlock(fromHex("00C101FE3E"));
    QVERIFY(step.reply && !step.apdu);
    QCOMPARE(*step.reply, fromHex("00E101FE1E"));
    QCOMPARE(t1.ifsd(), std::size_t{254});
}

void TestT1CardSide::iBlock_singleCommand_apduThenResponseBlock()
{
    T1CardSide t1;
    t1.reset(false);
    const auto step = t1.onBlock(fromHex("00000500A4040000A5"));
    QVERIFY(step.apdu && !step.reply);
    QCOMPARE(*step.apdu, fromHex("00A4040000"));
    QCOMPARE(t1.responseBlock(fromHex("9000")), fromHex("0000029000 92"));
    // The host's next I-block carries N(S) 1; our next block N(S) 1 (PCB 40).
    const Bytes next = T1CardSide::makeBlock(0x40, fromHex("00B0000002"), false);
    const auto second = t1.onBlock(next);
    QVERIFY(second.apdu);
    QCOMPARE(t1.responseBlock(fromHex("01029000"))[1], std::uint8_t{0x40});
}

void TestT1CardSide::iBlock_chainedCommand_acknowledgedThenAssembled()
{
    T1CardSide t1;
    t1.reset(false);
    const auto first = t1.onBlock(T1CardSide::makeBlock(0x20, fromHex("80420000"), false));
    QVERIFY(first.reply);
    QCOMPARE(*first.reply, T1CardSide::makeBlock(0x90, {}, false)); // R-block, N(R) 1
    const auto last = t1.onBlock(T1CardSide::makeBlock(0x40, fromHex("0401020304"), false));
    QVERIFY(last.apdu);
    QCOMPARE(*last.apdu, fromHex("804200000401020304"));
}

void TestT1CardSide::response_longerThanIfsd_chainedOnRBlocks()
{
    T1CardSide t1;
    t1.reset(false); // IFSD 32
    QVERIFY(t1.onBlock(T1CardSide::makeBlock(0x00, fromHex("00B0000028"), false)).apdu);
    Bytes response(42, 0x5A); // 40 data bytes and 90 00
    response[40] = 0x90;
    response[41] = 0x00;
    const Bytes first = t1.responseBlock(response);
    QCOMPARE(first[1], std::uint8_t{0x20}); // N(S) 0, more data
    QCOMPARE(first[2], std::uint8_t{32});
    const auto second = t1.onBlock(T1CardSide::makeBlock(0x90, {}, false)); // R, N(R) 1
    QVERIFY(second.reply);
    QCOMPARE((*second.reply)[1], std::uint8_t{0x40}); // N(S) 1, last
    QCOMPARE((*second.reply)[2], std::uint8_t{10});
    QCOMPARE(Bytes(second.reply->begin() + 3, second.reply->end() - 1),
             Bytes(response.begin() + 32, response.end()));
}

void TestT1CardSide::rBlock_repeatingOurSequence_retransmitsLastBlock()
{
    T1CardSide t1;
    t1.reset(false);
    t1.onBlock(fromHex("00000500A4040000A5"));
    const Bytes sent = t1.responseBlock(fromHex("9000"));
    const auto again = t1.onBlock(T1CardSide::makeBlock(0x80, {}, false)); // R, N(R) 0
    QVERIFY(again.reply);
    QCOMPARE(*again.reply, sent);
}

void TestT1CardSide::block_wrongEdc_rBlockEdcError()
{
    T1CardSide t1;
    t1.reset(false);
    const auto step = t1.onBlock(fromHex("00000500A4040000A6"));
    QVERIFY(step.reply && !step.apdu);
    QCOMPARE(*step.reply, T1CardSide::makeBlock(0x81, {}, false));
}

void TestT1CardSide::block_wrongSequence_rBlockOtherError()
{
    T1CardSide t1;
    t1.reset(false);
    const auto step = t1.onBlock(T1CardSide::makeBlock(0x40, fromHex("00A40400"), false));
    QVERIFY(step.reply && !step.apdu);
    QCOMPARE(*step.reply, T1CardSide::makeBlock(0x82, {}, false));
}

void TestT1CardSide::resynch_request_resetsSequences()
{
    T1CardSide t1;
    t1.reset(false);
    t1.onBlock(fromHex("00000500A4040000A5"));
    t1.responseBlock(fromHex("9000"));
    const auto step = t1.onBlock(T1CardSide::makeBlock(0xC0, {}, false));
    QCOMPARE(*step.reply, T1CardSide::makeBlock(0xE0, {}, false));
    QVERIFY(t1.onBlock(fromHex("00000500A4040000A5")).apdu); // N(S) 0 is expected again
}

void TestT1CardSide::crc_blocks_checkedAndProduced()
{
    // CRC-16 of "00 00 02 90 00" as OpenCT computes it (0x8408, start FFFF), high byte first.
    QCOMPARE(T1CardSide::edc(fromHex("0000029000"), true).size(), std::size_t{2});
    T1CardSide t1;
    t1.reset(true);
    const Bytes command = T1CardSide::makeBlock(0x00, fromHex("00A4040000"), true);
    const auto step = t1.onBlock(command);
    QVERIFY(step.apdu);
    const Bytes response = t1.responseBlock(fromHex("9000"));
    QCOMPARE(response.size(), std::size_t{3 + 2 + 2});
    QCOMPARE(Bytes(response.end() - 2, response.end()),
             T1CardSide::edc(Bytes(response.begin(), response.end() - 2), true));
    // An LRC block is refused when CRC is in force.
    QVERIFY(t1.onBlock(fromHex("00400500B0000002F7")).reply);
}

QTEST_APPLESS_MAIN(TestT1CardSide)
#include "tst_t1_card_side.moc"
