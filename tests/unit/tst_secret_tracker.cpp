// What traces and --pcap captures show of CCID traffic: PINs in XfrBlock and Secure masked, and
// the answer to a secret-answering command (DECIPHER and the like) masked on its slot, T=1
// blocks included, the status word visible; everything shown with --trace-secrets.
#include "hex_bytes.h"
#include "vscard/ccid/ccid_wire.h"
#include "vscard/ccid/secret_tracker.h"
#include "vscard/ccid/t1_card_side.h"
#include "vscard/ccid/usbmon_capture.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace vscard::ccid;
using vscard::Bytes;
using vscard::ByteView;
using vscard::test::fromHex;

class TestSecretTracker : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void describe_xfrBlockVerify_pinMasked();
    void describe_t1BlockVerify_pinMasked();
    void describe_secureVerify_pinBlockMasked();
    void describe_secureModify_maskedAfterFixedFields();
    void describe_secureContinuation_maskedWhole();
    void describe_revealSecrets_pinShown();
    void tracker_decipherAnswer_maskedStatusShown_nextShown();
    void tracker_otherSlot_notMasked();
    void tracker_timeExtension_answerStillMasked();
    void tracker_chainedDataBlocks_maskedUntilTheLast();
    void tracker_failedCommand_nextAnswerShown();
    void tracker_t0GetResponseChain_maskedUntilItEnds();
    void tracker_t1ChainedAnswer_maskedStatusShown();
    void tracker_t1ChainedVerify_everyBlockMasked();
    void capture_pinAndDecipherAnswer_masked();
    void capture_revealSecrets_bytesAsTheyAre();

    void cleanup() { vscard::trace::setRevealSecrets(false); }
};

namespace {

constexpr auto kXfrBlock = static_cast<std::uint8_t>(MessageType::XfrBlock);
constexpr auto kDataBlock = static_cast<std::uint8_t>(MessageType::DataBlock);

// PSO DECIPHER of an 8-byte cryptogram (padding indicator 00).
const char* const kDecipher = "002A808609 00 1122334455667788 00";
// A T=1-only ATR: TD1 names T=1, TCK follows.
const char* const kT1Atr = "3B 80 01 81";

Bytes command(std::uint8_t type, std::uint8_t slot, const Bytes& data,
              std::array<std::uint8_t, 3> specific = {})
{
    return encode(Message{type, slot, 1, specific, data});
}

Bytes reply(std::uint8_t slot, const Bytes& data, CommandStatus status = CommandStatus::Ok)
{
    return encode(
        Message{kDataBlock, slot, 1, {statusByte(IccStatus::Active, status), 0, 0}, data});
}

Bytes t1Block(std::uint8_t pcb, const char* information)
{
    return T1CardSide::makeBlock(pcb, fromHex(information), false);
}

// How many data bytes the ranges mask (they do not overlap in these tests).
std::size_t maskedCount(const SecretRanges& secret)
{
    std::size_t count = 0;
    for (const auto& range : secret)
        count += range.length;
    return count;
}

QString described(ByteView message, const SecretRanges& secret)
{
    return QString::fromStdString(describeWire(message, secret));
}

// The Secure abData of a PIN verification: bPINOperation 00, 14 bytes of fixed fields (bTimeOut,
// formats, wPINMaxExtraDigit, ..., bTeoPrologue), then the VERIFY template with its PIN block.
const char* const kSecureVerify = "00 00 82 04 00 0804 02 01 0904 00 000000 0020008008 "
                                  "3132333435363738";

Message secure(Bytes data, std::array<std::uint8_t, 3> specific = {})
{
    return Message{static_cast<std::uint8_t>(MessageType::Secure), 0, 2, specific, std::move(data)};
}

SecretTracker poweredTpduSlot(const char* atr)
{
    SecretTracker tracker(ExchangeLevel::Tpdu);
    tracker.observe(command(static_cast<std::uint8_t>(MessageType::IccPowerOn), 0, {}));
    tracker.observe(reply(0, fromHex(atr)));
    return tracker;
}

} // namespace

void TestSecretTracker::describe_xfrBlockVerify_pinMasked()
{
    const Message verify{kXfrBlock, 0, 7, {}, fromHex("0020008004 31323334")};
    QCOMPARE(QString::fromStdString(describe(verify)),
             QString("PC_to_RDR_XfrBlock slot 0 seq 7 [00 00 00] data 9: 00 20 00 80 04 <4 bytes "
                     "masked>"));
}

void TestSecretTracker::describe_t1BlockVerify_pinMasked()
{
    const Message verify{kXfrBlock, 0, 7, {}, t1Block(0x00, "0020008004 31323334")};
    // The LRC is the XOR of the PIN's bytes with the rest: as secret as they are.
    QCOMPARE(QString::fromStdString(describe(verify)),
             QString("PC_to_RDR_XfrBlock slot 0 seq 7 [00 00 00] data 13: 00 00 09 00 20 00 80 "
                     "04 <5 bytes masked>"));
}

void TestSecretTracker::describe_secureVerify_pinBlockMasked()
{
    const Message verify = secure(fromHex(kSecureVerify));
    QCOMPARE(QString::fromStdString(describe(verify)),
             QString("PC_to_RDR_Secure slot 0 seq 2 [00 00 00] data 28: 00 00 82 04 00 08 04 02 "
                     "01 09 04 00 00 00 00 00 20 00 80 08 <8 bytes masked>"));
    SecretTracker tracker(ExchangeLevel::Apdu);
    const Bytes wire = encode(verify);
    QCOMPARE(described(wire, tracker.observe(wire)), QString::fromStdString(describe(verify)));
}

void TestSecretTracker::describe_secureModify_maskedAfterFixedFields()
{
    // bPINOperation 01, 14 bytes up to bMsgIndex1, bMsgIndex2 and 3, bTeoPrologue, the template.
    const Message modify = secure(fromHex("01 00 82 04 00 00 08 0804 03 02 03 0904 00 01 02 000000 "
                                          "0024000010 31323334FFFFFFFF35363738FFFFFFFF"));
    QVERIFY(describe(modify).ends_with(
        "data 41: 01 00 82 04 00 00 08 08 04 03 02 03 09 04 00 <26 bytes masked>"));
}

void TestSecretTracker::describe_secureContinuation_maskedWhole()
{
    // wLevelParameter 0002: abData continues an APDU, every byte of it may be PIN.
    const Message continuation = secure(fromHex("31323334"), {0, 0x02, 0x00});
    QVERIFY(describe(continuation).ends_with("data 4: <4 bytes masked>"));
}

void TestSecretTracker::describe_revealSecrets_pinShown()
{
    vscard::trace::setRevealSecrets(true);
    const Message verify{kXfrBlock, 0, 7, {}, fromHex("0020008004 31323334")};
    QVERIFY(describe(verify).ends_with("data 9: 00 20 00 80 04 31 32 33 34"));
}

void TestSecretTracker::tracker_decipherAnswer_maskedStatusShown_nextShown()
{
    SecretTracker tracker(ExchangeLevel::Apdu);
    QVERIFY(tracker.observe(command(kXfrBlock, 0, fromHex(kDecipher))).empty());
    const Bytes answer = reply(0, fromHex("C0FFEE 9000"));
    QCOMPARE(described(answer, tracker.observe(answer)),
             QString("RDR_to_PC_DataBlock slot 0 seq 1 active ok data 5: <3 bytes masked> 90 00"));
    QVERIFY(tracker.observe(command(kXfrBlock, 0, fromHex("00B0000002"))).empty());
    const Bytes next = reply(0, fromHex("C0FF 9000"));
    QCOMPARE(described(next, tracker.observe(next)),
             QString("RDR_to_PC_DataBlock slot 0 seq 1 active ok data 4: C0 FF 90 00"));
}

void TestSecretTracker::tracker_otherSlot_notMasked()
{
    SecretTracker tracker(ExchangeLevel::Apdu);
    tracker.observe(command(kXfrBlock, 0, fromHex(kDecipher)));
    tracker.observe(command(kXfrBlock, 1, fromHex("00B0000002")));
    QVERIFY(tracker.observe(reply(1, fromHex("C0FF 9000"))).empty());
    QCOMPARE(maskedCount(tracker.observe(reply(0, fromHex("C0FF 9000")))), std::size_t{2});
}

void TestSecretTracker::tracker_timeExtension_answerStillMasked()
{
    SecretTracker tracker(ExchangeLevel::Apdu);
    tracker.observe(command(kXfrBlock, 0, fromHex(kDecipher)));
    QVERIFY(tracker.observe(reply(0, {}, CommandStatus::TimeExtension)).empty());
    const Bytes answer = reply(0, fromHex("C0FFEE 9000"));
    QCOMPARE(described(answer, tracker.observe(answer)),
             QString("RDR_to_PC_DataBlock slot 0 seq 1 active ok data 5: <3 bytes masked> 90 00"));
}

void TestSecretTracker::tracker_chainedDataBlocks_maskedUntilTheLast()
{
    SecretTracker tracker(ExchangeLevel::Apdu);
    tracker.observe(command(kXfrBlock, 0, fromHex(kDecipher)));
    const auto part = [](std::uint8_t chain, const char* data) {
        return encode(Message{kDataBlock, 0, 1, {0, 0, chain}, fromHex(data)});
    };
    QCOMPARE(maskedCount(tracker.observe(part(0x01, "C0FFEE"))), std::size_t{3}); // begins
    tracker.observe(command(kXfrBlock, 0, {}, {0, 0x10, 0x00}));                  // "go on", empty
    QCOMPARE(maskedCount(tracker.observe(part(0x03, "C0FFEE"))), std::size_t{3}); // continues
    tracker.observe(command(kXfrBlock, 0, {}, {0, 0x10, 0x00}));
    QCOMPARE(maskedCount(tracker.observe(part(0x02, "C0FF 9000"))), std::size_t{2}); // ends
    tracker.observe(command(kXfrBlock, 0, fromHex("00B0000002")));
    QVERIFY(tracker.observe(part(0x00, "C0FF 9000")).empty());
}

void TestSecretTracker::tracker_failedCommand_nextAnswerShown()
{
    SecretTracker tracker(ExchangeLevel::Apdu);
    tracker.observe(command(kXfrBlock, 0, fromHex(kDecipher)));
    tracker.observe(reply(0, {}, CommandStatus::Failed)); // ICC_MUTE: the card left
    tracker.observe(command(kXfrBlock, 0, fromHex("00B0000002")));
    QVERIFY(tracker.observe(reply(0, fromHex("C0FF 9000"))).empty());
}

void TestSecretTracker::tracker_t0GetResponseChain_maskedUntilItEnds()
{
    SecretTracker tracker = poweredTpduSlot("3B 00");
    tracker.observe(command(kXfrBlock, 0, fromHex("002A808609 00 1122334455667788")));
    QVERIFY(tracker.observe(reply(0, fromHex("6104"))).empty()); // nothing but a status word
    tracker.observe(command(kXfrBlock, 0, fromHex("00C0000004")));
    const Bytes answer = reply(0, fromHex("C0FFEEEE 9000"));
    QCOMPARE(described(answer, tracker.observe(answer)),
             QString("RDR_to_PC_DataBlock slot 0 seq 1 active ok data 6: <4 bytes masked> 90 00"));
    tracker.observe(command(kXfrBlock, 0, fromHex("00C0000002")));
    QVERIFY(tracker.observe(reply(0, fromHex("0102 9000"))).empty());
}

void TestSecretTracker::tracker_t1ChainedAnswer_maskedStatusShown()
{
    SecretTracker tracker = poweredTpduSlot(kT1Atr);
    QVERIFY(tracker.observe(command(kXfrBlock, 0, t1Block(0x00, kDecipher))).empty());
    // The card chains its answer (M bit): the first block holds plaintext only.
    const Bytes first = reply(0, t1Block(0x20, "C0FFEEEE"));
    QCOMPARE(described(first, tracker.observe(first)),
             QString("RDR_to_PC_DataBlock slot 0 seq 1 active ok data 8: 00 20 04 <5 bytes "
                     "masked>"));
    QVERIFY(tracker.observe(command(kXfrBlock, 0, t1Block(0x90, ""))).empty()); // R-block
    const Bytes last = reply(0, t1Block(0x40, "C0FF 9000"));
    QCOMPARE(described(last, tracker.observe(last)),
             QString("RDR_to_PC_DataBlock slot 0 seq 1 active ok data 8: 00 40 04 <2 bytes "
                     "masked> 90 00 <1 byte masked>"));
    // The next command's answer is no secret.
    tracker.observe(command(kXfrBlock, 0, t1Block(0x40, "00B0000002")));
    QVERIFY(tracker.observe(reply(0, t1Block(0x00, "0102 9000"))).empty());
}

void TestSecretTracker::tracker_t1ChainedVerify_everyBlockMasked()
{
    SecretTracker tracker = poweredTpduSlot(kT1Atr);
    // I(1, more): the first block holds the header and the first PIN bytes.
    const Bytes first = command(kXfrBlock, 0, t1Block(0x60, "0020008008 3132"));
    QCOMPARE(described(first, tracker.observe(first)),
             QString("PC_to_RDR_XfrBlock slot 0 seq 1 [00 00 00] data 11: 00 60 07 00 20 00 80 08 "
                     "<3 bytes masked>"));
    tracker.observe(reply(0, t1Block(0x80, ""))); // the card asks for more: R(0)
    // I(0): the rest of the PIN, no header of its own.
    const Bytes second = command(kXfrBlock, 0, t1Block(0x00, "333435363738"));
    QCOMPARE(described(second, tracker.observe(second)),
             QString("PC_to_RDR_XfrBlock slot 0 seq 1 [00 00 00] data 10: 00 00 06 <7 bytes "
                     "masked>"));
    // Read as an APDU too, I(0, more) looks like VERIFY: masked under both readings.
    const Bytes ambiguous = command(kXfrBlock, 0, t1Block(0x20, "0020008004 31323334"));
    const std::string text = describeWire(ambiguous, tracker.observe(ambiguous));
    QVERIFY2(text.find("31") == std::string::npos, text.c_str());
}

void TestSecretTracker::capture_pinAndDecipherAnswer_masked()
{
    QTemporaryDir directory;
    const QString path = directory.filePath("ccid.pcap");
    {
        auto capture = UsbmonCapture::create(path.toStdString());
        QVERIFY(capture);
        ClassDescriptor descriptor;
        descriptor.features = kApduLevelFeatures;
        const CaptureTap tap(capture->get(), descriptor);
        tap.command(command(kXfrBlock, 0, fromHex("0020008004 31323334")));
        tap.reply(reply(0, fromHex("9000")));
        tap.command(command(kXfrBlock, 0, fromHex(kDecipher)));
        tap.reply(reply(0, fromHex("C0FFEE 9000")));
        tap.command(encode(secure(fromHex(kSecureVerify))));
        tap.command(command(kXfrBlock, 0, fromHex("00B0000002")));
        tap.reply(reply(0, fromHex("B0B1 9000")));
    }
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.contains(QByteArray::fromHex("0020008004 2A2A2A2A")));
    QVERIFY(!bytes.contains(QByteArray::fromHex("31323334")));
    QVERIFY(bytes.contains(QByteArray::fromHex("2A2A2A 9000")));
    QVERIFY(!bytes.contains(QByteArray::fromHex("C0FFEE")));
    QVERIFY(bytes.contains(QByteArray::fromHex("0020008008 2A2A2A2A2A2A2A2A")));
    QVERIFY(bytes.contains(QByteArray::fromHex("B0B1 9000"))); // the next answer as it is
}

void TestSecretTracker::capture_revealSecrets_bytesAsTheyAre()
{
    vscard::trace::setRevealSecrets(true);
    QTemporaryDir directory;
    const QString path = directory.filePath("ccid.pcap");
    {
        auto capture = UsbmonCapture::create(path.toStdString());
        QVERIFY(capture);
        const CaptureTap tap(capture->get(), ClassDescriptor{});
        tap.command(command(kXfrBlock, 0, fromHex("0020008004 31323334")));
        tap.reply(reply(0, fromHex("9000")));
        tap.command(command(kXfrBlock, 0, fromHex(kDecipher)));
        tap.reply(reply(0, fromHex("C0FFEE 9000")));
    }
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.contains(QByteArray::fromHex("0020008004 31323334")));
    QVERIFY(bytes.contains(QByteArray::fromHex("C0FFEE 9000")));
}

QTEST_APPLESS_MAIN(TestSecretTracker)
#include "tst_secret_tracker.moc"
