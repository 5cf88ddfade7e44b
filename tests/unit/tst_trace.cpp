// Trace renderings: what a log shows of VSCard messages and APDUs, with PINs and secret
// responses masked unless --trace-secrets.
#include "hex_bytes.h"
#include "vscard/trace.h"
#include "vscard/vscard_wire.h"

#include <QtTest>

using namespace vscard;
using namespace vscard::trace;
using vscard::test::fromHex;

Q_DECLARE_METATYPE(vscard::Message)
Q_DECLARE_METATYPE(vscard::trace::Direction)

class TestTrace : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void hex_bytes_spaceSeparatedUppercase();
    void hexShort_overLimit_cutWithTotal();
    void hexDump_twoLines_offsetsHexAndAscii();
    void describeCommandApdu_verify_masksPin();
    void describeCommandApdu_changeReferenceData_masksBothPins();
    void describeCommandApdu_unparsableVerify_stillMasked();
    void maskedHex_verify_keepsHeaderOnly();
    void revealSecrets_verify_pinShown();
    void hexWithSecrets_overlappingRanges_oneMaskedRun();
    void hexWithSecrets_overLimit_cutWithTotal();
    void secretResponses_decipher_answerMaskedStatusShownNextShown();
    void secretResponses_getResponseChainAfterDecipher_maskedUntilItEnds();
    void secretResponses_otherCommandEndsChain_getResponseShown();
    void secretResponses_whichCommands_data();
    void secretResponses_whichCommands();
    void secretResponses_otherReader_notMasked();
    void secretResponses_cardRemoved_forgetsAwaitedAnswer();
    void secretResponses_revealSecrets_answerShown();
    void describeMessage_eachType_oneLine_data();
    void describeMessage_eachType_oneLine();
    void traceFilter_globs_laterRulesWin_data();
    void traceFilter_globs_laterRulesWin();

    void cleanup() { setRevealSecrets(false); }
};

namespace {

const auto h2c = Direction::HostToClient;
const auto c2h = Direction::ClientToHost;

// One message through a connection's tracker and into its trace line, as host_link does.
QString traced(SecretResponses& secrets, const Message& message, Direction direction)
{
    const Secrecy secrecy = observeMessage(secrets, message, direction);
    return QString::fromStdString(describeMessage(message, direction, secrecy));
}

Message apdu(std::uint32_t readerId, const char* hexBytes)
{
    return Message{MessageType::Apdu, readerId, fromHex(hexBytes)};
}

// PSO DECIPHER of an 8-byte cryptogram (padding indicator 00).
const char* const kDecipher = "002A808609 00 1122334455667788 00";

} // namespace

void TestTrace::hex_bytes_spaceSeparatedUppercase()
{
    QCOMPARE(QString::fromStdString(hex(fromHex("3b7a18"))), QString("3B 7A 18"));
    QCOMPARE(QString::fromStdString(hex({})), QString());
}

void TestTrace::hexShort_overLimit_cutWithTotal()
{
    QCOMPARE(QString::fromStdString(hexShort(fromHex("0102030405"), 3)),
             QString("01 02 03 ... (5 bytes)"));
    QCOMPARE(QString::fromStdString(hexShort(fromHex("010203"), 3)), QString("01 02 03"));
}

void TestTrace::hexDump_twoLines_offsetsHexAndAscii()
{
    const Bytes bytes = fromHex("56534344000000020000000041424344 5A");
    QCOMPARE(QString::fromStdString(hexDump(bytes)),
             QString("0000  56 53 43 44 00 00 00 02 00 00 00 00 41 42 43 44  VSCD........ABCD\n"
                     "0010  5A                                               Z\n"));
}

void TestTrace::describeCommandApdu_verify_masksPin()
{
    const std::string text = describeCommandApdu(fromHex("00200080083132333435363738"));
    QCOMPARE(QString::fromStdString(text),
             QString("VERIFY 00 20 00 80 (case 3S) Lc=8 data=<8 bytes masked>"));
}

void TestTrace::describeCommandApdu_changeReferenceData_masksBothPins()
{
    const std::string text =
        describeCommandApdu(fromHex("0024008010 31323334FFFFFFFF 35363738FFFFFFFF"));
    QVERIFY(text.find("<16 bytes masked>") != std::string::npos);
    QVERIFY(text.find("31") == std::string::npos);
}

void TestTrace::describeCommandApdu_unparsableVerify_stillMasked()
{
    // Lc says 8 but only 4 PIN bytes came: the error is shown, the PIN is not.
    const std::string text = describeCommandApdu(fromHex("002000800831323334"));
    QCOMPARE(QString::fromStdString(text),
             QString("unparsable command 00 20 00 80 08 ** ** ** ** (command APDU of 9 bytes: Lc "
                     "8 leaves 4 bytes for data and Le)"));
}

void TestTrace::maskedHex_verify_keepsHeaderOnly()
{
    QCOMPARE(QString::fromStdString(maskedHex(fromHex("002000800431323334"))),
             QString("00 20 00 80 04 ** ** ** **"));
    QCOMPARE(QString::fromStdString(maskedHex(fromHex("00A4040002 3F00"))),
             QString("00 A4 04 00 02 3F 00"));
}

void TestTrace::revealSecrets_verify_pinShown()
{
    setRevealSecrets(true);
    QVERIFY(revealSecrets());
    QCOMPARE(QString::fromStdString(describeCommandApdu(fromHex("0020008004 31323334"))),
             QString("VERIFY 00 20 00 80 (case 3S) Lc=4 data=31 32 33 34"));
    QCOMPARE(QString::fromStdString(maskedHex(fromHex("0020008004 31323334"))),
             QString("00 20 00 80 04 31 32 33 34"));
    setRevealSecrets(false);
    QCOMPARE(QString::fromStdString(describeCommandApdu(fromHex("0020008004 31323334"))),
             QString("VERIFY 00 20 00 80 (case 3S) Lc=4 data=<4 bytes masked>"));
}

void TestTrace::hexWithSecrets_overlappingRanges_oneMaskedRun()
{
    const Bytes bytes = fromHex("00 01 02 03 04 05 06 07");
    const ByteRange secret[] = {{5, 2}, {2, 4}};
    QCOMPARE(QString::fromStdString(hexWithSecrets(bytes, secret)),
             QString("00 01 <5 bytes masked> 07"));
    const ByteRange beyondTheEnd[] = {{6, 10}};
    QCOMPARE(QString::fromStdString(hexWithSecrets(bytes, beyondTheEnd)),
             QString("00 01 02 03 04 05 <2 bytes masked>"));
    setRevealSecrets(true);
    QCOMPARE(QString::fromStdString(hexWithSecrets(bytes, secret)),
             QString("00 01 02 03 04 05 06 07"));
}

void TestTrace::hexWithSecrets_overLimit_cutWithTotal()
{
    const ByteRange secret[] = {{1, 3}};
    QCOMPARE(QString::fromStdString(hexWithSecrets(fromHex("00 01 02 03 04 05"), secret, 3)),
             QString("00 <3 bytes masked> 04 ... (6 bytes)"));
}

void TestTrace::secretResponses_decipher_answerMaskedStatusShownNextShown()
{
    SecretResponses secrets;
    QCOMPARE(traced(secrets, apdu(0, kDecipher), h2c),
             QString("APDU reader 0, 15 bytes: PERFORM SECURITY OPERATION 00 2A 80 86 (case 4S) "
                     "Lc=9 Le=256 data=00 11 22 33 44 55 66 77 88"));
    QCOMPARE(traced(secrets, apdu(0, "C0FFEE C0FFEE 9000"), c2h),
             QString("APDU reader 0, 8 bytes: 9000 success, <6 bytes masked>"));
    QCOMPARE(traced(secrets, apdu(0, "00B0000002"), h2c),
             QString("APDU reader 0, 5 bytes: READ BINARY 00 B0 00 00 (case 2S) Le=2"));
    QCOMPARE(traced(secrets, apdu(0, "C0FF 9000"), c2h),
             QString("APDU reader 0, 4 bytes: 9000 success, 2 data bytes: C0 FF"));
}

void TestTrace::secretResponses_getResponseChainAfterDecipher_maskedUntilItEnds()
{
    SecretResponses secrets;
    observeMessage(secrets, apdu(0, kDecipher), h2c);
    QCOMPARE(traced(secrets, apdu(0, "C0FFEE 6104"), c2h),
             QString("APDU reader 0, 5 bytes: 6104 4 bytes available, <3 bytes masked>"));
    observeMessage(secrets, apdu(0, "00C0000004"), h2c);
    QCOMPARE(traced(secrets, apdu(0, "C0FF 6102"), c2h),
             QString("APDU reader 0, 4 bytes: 6102 2 bytes available, <2 bytes masked>"));
    observeMessage(secrets, apdu(0, "00C0000002"), h2c);
    QCOMPARE(traced(secrets, apdu(0, "EEEE 9000"), c2h),
             QString("APDU reader 0, 4 bytes: 9000 success, <2 bytes masked>"));
    // The chain is over: a GET RESPONSE now fetches something else.
    observeMessage(secrets, apdu(0, "00C0000002"), h2c);
    QCOMPARE(traced(secrets, apdu(0, "0102 9000"), c2h),
             QString("APDU reader 0, 4 bytes: 9000 success, 2 data bytes: 01 02"));
}

void TestTrace::secretResponses_otherCommandEndsChain_getResponseShown()
{
    SecretResponses secrets;
    observeMessage(secrets, apdu(0, kDecipher), h2c);
    QCOMPARE(observeMessage(secrets, apdu(0, "6110"), c2h), Secrecy::Secret);
    observeMessage(secrets, apdu(0, "00A4040002 3F00"), h2c);
    QCOMPARE(observeMessage(secrets, apdu(0, "6112"), c2h), Secrecy::Public);
    observeMessage(secrets, apdu(0, "00C0000012"), h2c);
    QCOMPARE(observeMessage(secrets, apdu(0, "0102 9000"), c2h), Secrecy::Public);
}

void TestTrace::secretResponses_whichCommands_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<bool>("secret");
    QTest::newRow("PSO DECIPHER 80 86") << "002A808603 00AABB 00" << true;
    QTest::newRow("PSO DECIPHER 80 84") << "002A808402 AABB" << true;
    QTest::newRow("PSO chained DECIPHER") << "102A808602 00AA" << true;
    QTest::newRow("PSO COMPUTE DIGITAL SIGNATURE") << "002A9E9A02 AABB 00" << false;
    QTest::newRow("PSO HASH") << "002A90A002 AABB" << false;
    QTest::newRow("CAC SIGN/DECRYPT") << "8042000002 AABB" << true;
    QTest::newRow("CAC SIGN/DECRYPT, more data") << "8042800002 AABB" << true;
    QTest::newRow("INS 42 in the interindustry class") << "0042000002 AABB" << false;
    QTest::newRow("PIV GENERAL AUTHENTICATE") << "00870794 04 7C028100 00" << true;
    QTest::newRow("PIV chained GENERAL AUTHENTICATE") << "10870794 02 7C02" << true;
    QTest::newRow("GET RESPONSE without a secret before") << "00C0000010" << false;
    QTest::newRow("SELECT") << "00A4040002 3F00" << false;
    QTest::newRow("header only") << "002A8086" << true;
    QTest::newRow("shorter than a header") << "002A80" << false;
}

void TestTrace::secretResponses_whichCommands()
{
    QFETCH(QString, command);
    QFETCH(bool, secret);
    SecretResponses secrets;
    secrets.command(3, fromHex(command));
    QCOMPARE(secrets.awaited(3), secret ? Secrecy::Secret : Secrecy::Public);
    QCOMPARE(secrets.response(3, fromHex("0102 9000")), secret ? Secrecy::Secret : Secrecy::Public);
    QCOMPARE(secrets.awaited(3), Secrecy::Public);
}

void TestTrace::secretResponses_otherReader_notMasked()
{
    SecretResponses secrets;
    observeMessage(secrets, apdu(0, kDecipher), h2c);
    observeMessage(secrets, apdu(1, "00B0000002"), h2c);
    QCOMPARE(traced(secrets, apdu(1, "C0FF 9000"), c2h),
             QString("APDU reader 1, 4 bytes: 9000 success, 2 data bytes: C0 FF"));
    QCOMPARE(traced(secrets, apdu(0, "C0FF 9000"), c2h),
             QString("APDU reader 0, 4 bytes: 9000 success, <2 bytes masked>"));
}

void TestTrace::secretResponses_cardRemoved_forgetsAwaitedAnswer()
{
    SecretResponses secrets;
    observeMessage(secrets, apdu(0, kDecipher), h2c);
    observeMessage(secrets, Message{MessageType::CardRemove, 0, {}}, c2h);
    QCOMPARE(secrets.awaited(0), Secrecy::Public);
}

void TestTrace::secretResponses_revealSecrets_answerShown()
{
    setRevealSecrets(true);
    SecretResponses secrets;
    observeMessage(secrets, apdu(0, kDecipher), h2c);
    QCOMPARE(traced(secrets, apdu(0, "C0FF 9000"), c2h),
             QString("APDU reader 0, 4 bytes: 9000 success, 2 data bytes: C0 FF"));
}

void TestTrace::describeMessage_eachType_oneLine_data()
{
    QTest::addColumn<Message>("message");
    QTest::addColumn<Direction>("direction");
    QTest::addColumn<QString>("text");

    QTest::newRow("Init")
        << Message{MessageType::Init, kUndefinedReaderId, fromHex("5653434400000002 00000003")}
        << h2c
        << "Init reader undefined, 12 bytes: version 0.0.2, capabilities 00000003 extended-apdu "
           "card-power";
    QTest::newRow("malformed Init")
        << Message{MessageType::Init, 0, fromHex("4141414100000002")} << c2h
        << "Init reader 0, 8 bytes: malformed: Init magic is 0x41414141, expected \"VSCD\"";
    QTest::newRow("Error") << Message{MessageType::Error, 0, fromHex("00000002")} << h2c
                           << "Error reader 0, 4 bytes: CANNOT_ADD_MORE_READERS (2)";
    QTest::newRow("ReaderAdd") << Message{MessageType::ReaderAdd, 0, fromHex("4341432100")} << c2h
                               << "ReaderAdd reader 0, 5 bytes: \"CAC!\"";
    QTest::newRow("ATR") << Message{MessageType::Atr, 1, fromHex("3B00")} << c2h
                         << "ATR reader 1, 2 bytes: 3B 00: direct convention, protocols T=0, "
                            "Fi/Di 11, 0 historical bytes";
    QTest::newRow("bad ATR") << Message{MessageType::Atr, 1, fromHex("3A00")} << c2h
                             << "ATR reader 1, 2 bytes: 3A 00 (ATR of 2 bytes: TS 3A is neither 3B "
                                "nor 3F)";
    QTest::newRow("command APDU") << Message{MessageType::Apdu, 0, fromHex("00A4040002 3F00")}
                                  << h2c
                                  << "APDU reader 0, 7 bytes: SELECT 00 A4 04 00 (case 3S) Lc=2 "
                                     "data=3F 00";
    QTest::newRow("VERIFY APDU") << Message{MessageType::Apdu, 0, fromHex("0020008004 31323334")}
                                 << h2c
                                 << "APDU reader 0, 9 bytes: VERIFY 00 20 00 80 (case 3S) Lc=4 "
                                    "data=<4 bytes masked>";
    QTest::newRow("response APDU") << Message{MessageType::Apdu, 0, fromHex("01026283")} << c2h
                                   << "APDU reader 0, 4 bytes: 6283 selected file deactivated, 2 "
                                      "data bytes: 01 02";
    QTest::newRow("CardRemove") << Message{MessageType::CardRemove, 2, {}} << c2h
                                << "CardRemove reader 2, 0 bytes";
    QTest::newRow("Flush") << Message{MessageType::Flush, 0, {}} << h2c
                           << "Flush reader 0, 0 bytes";
    QTest::newRow("PowerRequest") << Message{MessageType::PowerRequest, 0, fromHex("00000001")}
                                  << h2c << "PowerRequest reader 0, 4 bytes: cold-reset";
    QTest::newRow("PowerResponse to power off") << Message{MessageType::PowerResponse, 0, {}} << c2h
                                                << "PowerResponse reader 0, 0 bytes: done";
}

void TestTrace::describeMessage_eachType_oneLine()
{
    QFETCH(Message, message);
    QFETCH(Direction, direction);
    QFETCH(QString, text);
    QCOMPARE(QString::fromStdString(describeMessage(message, direction)), text);
}

void TestTrace::traceFilter_globs_laterRulesWin_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("category");
    QTest::addColumn<bool>("enabled");
    QTest::newRow("empty spec") << ""
                                << "vscard.apdu" << false;
    QTest::newRow("exact") << "vscard.apdu"
                           << "vscard.apdu" << true;
    QTest::newRow("glob") << "vscard.*"
                          << "vscard.ccid" << true;
    QTest::newRow("QEMU style") << "ccid_*"
                                << "ccid_apdu" << true;
    QTest::newRow("no match") << "ccid.*"
                              << "vscard.apdu" << false;
    QTest::newRow("excluded after glob") << "vscard.*, -vscard.io"
                                         << "vscard.io" << false;
    QTest::newRow("others still on") << "vscard.*,-vscard.io"
                                     << "vscard.apdu" << true;
    QTest::newRow("re-enabled later") << "-vscard.io,vscard.*"
                                      << "vscard.io" << true;
}

void TestTrace::traceFilter_globs_laterRulesWin()
{
    QFETCH(QString, spec);
    QFETCH(QString, category);
    QFETCH(bool, enabled);
    const TraceFilter filter(spec.toStdString());
    QCOMPARE(filter.enabled(category.toStdString()), enabled);
}

QTEST_APPLESS_MAIN(TestTrace)
#include "tst_trace.moc"
