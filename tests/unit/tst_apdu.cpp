// ISO 7816-4 command and response APDUs: the four cases, short and extended, and status words.
#include "hex_bytes.h"
#include "vscard/apdu.h"

#include <QtTest>

using namespace vscard;
using vscard::test::concat;
using vscard::test::fromHex;

Q_DECLARE_METATYPE(vscard::ApduCase)

class TestApdu : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parse_wellFormedCommand_fieldsMatch_data();
    void parse_wellFormedCommand_fieldsMatch();
    void parse_malformedCommand_reportsError_data();
    void parse_malformedCommand_reportsError();
    void construct_fieldsBeyondShort_encodesExtended_data();
    void construct_fieldsBeyondShort_encodesExtended();
    void construct_tooLarge_throws();
    void isChained_classByte_followsIso7816_data();
    void isChained_classByte_followsIso7816();
    void responseParse_statusAndData_split();
    void responseParse_oneByte_isError();
    void statusWord_describe_namesMeaning_data();
    void statusWord_describe_namesMeaning();
    void instructionCarriesSecret_pinInstructions_only();
};

void TestApdu::parse_wellFormedCommand_fieldsMatch_data()
{
    QTest::addColumn<Bytes>("bytes");
    QTest::addColumn<ApduCase>("apduCase");
    QTest::addColumn<bool>("extended");
    QTest::addColumn<int>("nc");
    QTest::addColumn<int>("ne");

    const Bytes data256(256, 0xA5);
    QTest::newRow("case 1") << fromHex("00A40400") << ApduCase::Case1 << false << 0 << 0;
    QTest::newRow("case 2S, Le 00 means 256")
        << fromHex("00B0000000") << ApduCase::Case2 << false << 0 << 256;
    QTest::newRow("case 2S, GET RESPONSE 16")
        << fromHex("00C0000010") << ApduCase::Case2 << false << 0 << 16;
    QTest::newRow("case 3S, VERIFY")
        << fromHex("002000800831323334FFFFFFFF") << ApduCase::Case3 << false << 8 << 0;
    QTest::newRow("case 4S, SELECT with Le 00")
        << fromHex("00A4040007A000000079010000") << ApduCase::Case4 << false << 7 << 256;
    QTest::newRow("case 2E, Le 0000 means 65536")
        << fromHex("00B00000000000") << ApduCase::Case2 << true << 0 << 65536;
    QTest::newRow("case 2E, Le 256")
        << fromHex("00B00000000100") << ApduCase::Case2 << true << 0 << 256;
    QTest::newRow("case 3E, 256 data bytes")
        << concat({fromHex("002A9E9A000100"), data256}) << ApduCase::Case3 << true << 256 << 0;
    QTest::newRow("case 3E, 3 data bytes that would fit short")
        << fromHex("002A9E9A000003010203") << ApduCase::Case3 << true << 3 << 0;
    QTest::newRow("case 4E, 256 data bytes, Le 0000")
        << concat({fromHex("002A9E9A000100"), data256, fromHex("0000")}) << ApduCase::Case4 << true
        << 256 << 65536;
    QTest::newRow("case 4S, CAC SIGN with proprietary class")
        << fromHex("80428000040102030400") << ApduCase::Case4 << false << 4 << 256;
}

void TestApdu::parse_wellFormedCommand_fieldsMatch()
{
    QFETCH(Bytes, bytes);
    QFETCH(ApduCase, apduCase);
    QFETCH(bool, extended);
    QFETCH(int, nc);
    QFETCH(int, ne);
    const auto apdu = CommandApdu::parse(bytes);
    QVERIFY2(apdu.ok(), apdu ? "" : apdu.error().message.c_str());
    QCOMPARE(apdu->cla(), bytes[0]);
    QCOMPARE(apdu->ins(), bytes[1]);
    QCOMPARE(apdu->p1(), bytes[2]);
    QCOMPARE(apdu->p2(), bytes[3]);
    QCOMPARE(apdu->apduCase(), apduCase);
    QCOMPARE(apdu->isExtended(), extended);
    QCOMPARE(apdu->nc(), std::size_t(nc));
    QCOMPARE(apdu->ne(), std::uint32_t(ne));
    // Encoding what was parsed gives the same bytes back.
    QCOMPARE(apdu->encode(), bytes);
}

void TestApdu::parse_malformedCommand_reportsError_data()
{
    QTest::addColumn<Bytes>("bytes");
    QTest::addColumn<QString>("message");
    QTest::newRow("3 bytes") << fromHex("00A404")
                             << "command APDU of 3 bytes: shorter than the 4-byte header";
    QTest::newRow("empty") << Bytes{} << "command APDU of 0 bytes: shorter than the 4-byte header";
    QTest::newRow("short Lc larger than the data")
        << fromHex("00A404000501 02")
        << "command APDU of 7 bytes: Lc 5 leaves 2 bytes for data and Le";
    QTest::newRow("short Lc with 2 trailing bytes")
        << fromHex("00A40400020102 0000")
        << "command APDU of 9 bytes: Lc 2 leaves 4 bytes for data and Le";
    QTest::newRow("extended marker with one byte")
        << fromHex("00B0000000 01")
        << "command APDU of 6 bytes: extended length field is truncated";
    QTest::newRow("extended Lc of zero")
        << fromHex("00D60000 000000 01") << "command APDU of 8 bytes: extended Lc is zero";
    QTest::newRow("extended Lc larger than the data")
        << fromHex("00D60000 000010 0102")
        << "command APDU of 9 bytes: extended Lc 16 leaves 2 bytes for data and Le";
}

void TestApdu::parse_malformedCommand_reportsError()
{
    QFETCH(Bytes, bytes);
    QFETCH(QString, message);
    const auto apdu = CommandApdu::parse(bytes);
    QVERIFY(!apdu.ok());
    QCOMPARE(QString::fromStdString(apdu.error().message), message);
}

void TestApdu::construct_fieldsBeyondShort_encodesExtended_data()
{
    QTest::addColumn<int>("nc");
    QTest::addColumn<int>("ne");
    QTest::addColumn<Bytes>("prefix"); // everything before the data
    QTest::addColumn<Bytes>("suffix"); // everything after the data

    QTest::newRow("255 data, Le 256: short")
        << 255 << 256 << fromHex("80420000FF") << fromHex("00");
    QTest::newRow("256 data: extended") << 256 << 0 << fromHex("80420000000100") << Bytes{};
    QTest::newRow("no data, Ne 257: extended") << 0 << 257 << fromHex("80420000000101") << Bytes{};
    QTest::newRow("no data, Ne 65536: extended 0000")
        << 0 << 65536 << fromHex("80420000000000") << Bytes{};
    QTest::newRow("1 data, Ne 65536: both fields extended")
        << 1 << 65536 << fromHex("80420000000001") << fromHex("0000");
}

void TestApdu::construct_fieldsBeyondShort_encodesExtended()
{
    QFETCH(int, nc);
    QFETCH(int, ne);
    QFETCH(Bytes, prefix);
    QFETCH(Bytes, suffix);
    const Bytes data(static_cast<std::size_t>(nc), 0x11);
    const CommandApdu apdu(0x80, 0x42, 0x00, 0x00, data, static_cast<std::uint32_t>(ne));
    QCOMPARE(apdu.encode(), concat({prefix, data, suffix}));
    const auto reparsed = CommandApdu::parse(apdu.encode());
    QVERIFY(reparsed.ok());
    QVERIFY(*reparsed == apdu);
}

void TestApdu::construct_tooLarge_throws()
{
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, CommandApdu(0, 0xD6, 0, 0, Bytes(65536, 0)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, CommandApdu(0, 0xB0, 0, 0, {}, 65537));
}

void TestApdu::isChained_classByte_followsIso7816_data()
{
    QTest::addColumn<int>("cla");
    QTest::addColumn<bool>("chained");
    QTest::newRow("00") << 0x00 << false;
    QTest::newRow("10 first interindustry, chaining") << 0x10 << true;
    QTest::newRow("0C secure messaging, no chaining") << 0x0C << false;
    QTest::newRow("1C secure messaging and chaining") << 0x1C << true;
    QTest::newRow("50 further interindustry, chaining") << 0x50 << true;
    QTest::newRow("40 further interindustry") << 0x40 << false;
    QTest::newRow("80 proprietary") << 0x80 << false;
    QTest::newRow("90 proprietary, bit 5 is the card's") << 0x90 << false;
}

void TestApdu::isChained_classByte_followsIso7816()
{
    QFETCH(int, cla);
    QFETCH(bool, chained);
    const CommandApdu apdu(static_cast<std::uint8_t>(cla), 0xDB, 0x3F, 0xFF, {1, 2, 3});
    QCOMPARE(apdu.isChained(), chained);
}

void TestApdu::responseParse_statusAndData_split()
{
    const auto response = ResponseApdu::parse(fromHex("0102036110"));
    QVERIFY(response.ok());
    QCOMPARE(response->data(), fromHex("010203"));
    QCOMPARE(response->status().value(), std::uint16_t{0x6110});
    QVERIFY(response->status().hasMoreData());
    QCOMPARE(response->encode(), fromHex("0102036110"));

    const auto bare = ResponseApdu::parse(fromHex("9000"));
    QVERIFY(bare.ok() && bare->data().empty() && bare->status().isSuccess());
}

void TestApdu::responseParse_oneByte_isError()
{
    const auto response = ResponseApdu::parse(fromHex("90"));
    QVERIFY(!response.ok());
    QCOMPARE(QString::fromStdString(response.error().message),
             QString("response APDU of 1 bytes has no status word"));
}

void TestApdu::statusWord_describe_namesMeaning_data()
{
    QTest::addColumn<int>("value");
    QTest::addColumn<QString>("text");
    QTest::newRow("9000") << 0x9000 << "9000 success";
    QTest::newRow("6100") << 0x6100 << "6100 256 bytes available";
    QTest::newRow("6120") << 0x6120 << "6120 32 bytes available";
    QTest::newRow("6C10") << 0x6C10 << "6C10 wrong Le, exactly 16 bytes available";
    QTest::newRow("63C2") << 0x63C2 << "63C2 verification failed, 2 tries left";
    QTest::newRow("6983") << 0x6983 << "6983 authentication method blocked";
    QTest::newRow("6700") << 0x6700 << "6700 wrong length";
    QTest::newRow("6A82") << 0x6A82 << "6A82 file or application not found";
    QTest::newRow("6D00") << 0x6D00 << "6D00 instruction not supported";
    QTest::newRow("6A89 falls back to its family") << 0x6A89 << "6A89 wrong parameters P1-P2";
    QTest::newRow("9F10 proprietary success") << 0x9F10 << "9F10 proprietary success";
    QTest::newRow("1234") << 0x1234 << "1234 unknown status";
}

void TestApdu::statusWord_describe_namesMeaning()
{
    QFETCH(int, value);
    QFETCH(QString, text);
    QCOMPARE(QString::fromStdString(StatusWord(static_cast<std::uint16_t>(value)).describe()),
             text);
}

void TestApdu::instructionCarriesSecret_pinInstructions_only()
{
    // The PIN commands, and the YubiKey PIV's key import and management key.
    for (std::uint8_t ins : {0x20, 0x21, 0x24, 0x25, 0x2C, 0x2D, 0xFE, 0xFF})
        QVERIFY2(instructionCarriesSecret(ins), qPrintable(QString::number(ins, 16)));
    for (std::uint8_t ins : {0xA4, 0xB0, 0xC0, 0x42, 0x2A, 0x88, 0x47, 0xDB, 0xF7})
        QVERIFY2(!instructionCarriesSecret(ins), qPrintable(QString::number(ins, 16)));
}

QTEST_APPLESS_MAIN(TestApdu)
#include "tst_apdu.moc"
