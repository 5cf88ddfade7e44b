// The emulated CAC alone, applet by applet and instruction by instruction, against the bytes
// Debian's libcacard 2.8.0 was seen to answer (three certificates, the first 673 bytes long),
// and against the deliberate differences. The keys are a fake: NSS is the system tests' part.
#include "fake_card_keys.h"
#include "hex_bytes.h"
#include "vscard/cacard/cac_card.h"

#include <QtTest>

using namespace vscard;
using namespace vscard::cacard;
using vscard::test::concat;
using vscard::test::fromHex;

namespace {

using FakeKeys = vscard::test::FakeCardKeys;

QString hex(const Bytes& bytes)
{
    return QString::fromStdString(trace::hex(bytes));
}

// libcacard's CCC tag file for three certificates.
const char* const kCccTagFile =
    "34 00 F0 15 F1 01 F2 01 F3 10 F3 10 F3 10 F3 10 F3 10 F3 10 F3 10 F3 10 F3 10 F3 10 F3 10 "
    "F3 10 F3 10 F3 10 F4 01 F5 01 F6 11 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00";
// libcacard's CCC value file; bytes 9..22 are its fixed card id, ours comes from the keys.
const char* const kCccValueFile =
    "0A 01 A0 00 00 00 79 03 02 40 70 50 72 36 0E 00 00 58 BD 00 2C 19 B5 21 21 A0 00 00 00 79 "
    "01 02 FB 02 FB 00 00 00 00 00 00 A0 00 00 00 79 01 02 FE 02 FE 00 00 00 00 00 00 A0 00 00 "
    "00 79 01 02 FD 02 FD 00 00 00 00 00 00 A0 00 00 00 79 01 02 00 02 00 00 00 00 00 00 00 A0 "
    "00 00 00 79 01 02 01 02 01 00 00 00 00 00 00 A0 00 00 01 16 01 30 00 30 00 00 00 00 00 00 "
    "00 A0 00 00 01 16 01 60 10 30 00 00 00 00 00 00 00 A0 00 00 01 16 01 60 30 30 00 00 00 00 "
    "00 00 00 A0 00 00 01 16 01 90 00 30 00 00 00 00 00 00 00 A0 00 00 00 79 01 12 01 12 01 00 "
    "00 00 00 00 00 A0 00 00 00 79 01 12 02 12 02 00 00 00 00 00 00 A0 00 00 00 79 04 01 00 01 "
    "00 00 00 00 00 00 00 A0 00 00 00 79 04 01 01 01 01 00 00 00 00 00 00 A0 00 00 00 79 04 01 "
    "02 01 02 00 00 00 00 00 00 00 10 07 A0 00 00 00 79 03 00 00 00 00 00 00 00 00 00 00";

} // namespace

class TestCacCard : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void atr_isLibcacards();
    void select_everyAppletAid_answersFci_data();
    void select_everyAppletAid_answersFci();
    void select_errors_data();
    void select_errors();
    void select_withoutLe_buffersFciFor61xx();
    void select_failure_leavesNothingSelected();
    void noApplet_probesOfOtherDrivers_refused();
    void ccc_files_libcacardLayoutWithOwnCardId();
    void pki_properties_shortLongAnd6Cxx();
    void pki_certificateFiles_tagsAndValue();
    void getProperties_errors_data();
    void getProperties_errors();
    void readBuffer_errors_data();
    void readBuffer_errors();
    void sign_chainedBlock_rawResultAfterLogin();
    void sign_errors_data();
    void sign_errors();
    void verify_countsDownBlocksAndResets();
    void verify_status_asTheCardsStateSays();
    void getAcr_tables_libcacardsBytes();
    void getAcr_errors_data();
    void getAcr_errors();
    void getResponse_longAnswer_inChunks();
    void getData_gpAndMsft();
    void unknownInstructions_perApplet_data();
    void unknownInstructions_perApplet();
    void getChallenge_randomBytes();
    void passthrough_tokenDataObjects_splitIntoTagAndValueFiles();
    void channels_independentSelections();
    void reset_deselectsAndLogsOut();

private:
    QString send(const char* command) { return hex(card_->process(fromHex(command))); }
    QString sendBytes(const Bytes& command) { return hex(card_->process(command)); }
    Bytes readFile(const char* aid, std::uint8_t type);

    std::unique_ptr<CacCard> card_;
};

void TestCacCard::init()
{
    card_ = std::make_unique<CacCard>(std::make_unique<FakeKeys>(),
                                      std::move(PinRetryState::open(std::nullopt, "t", 3).value()));
}

Bytes TestCacCard::readFile(const char* aid, std::uint8_t type)
{
    card_->process(concat({fromHex("00A40400 07"), fromHex(aid), fromHex("00")}));
    Bytes head = card_->process(Bytes{0x00, 0x52, 0x00, 0x00, 0x02, type, 0x02, 0x02});
    const std::size_t length = head[0] | (head[1] << 8);
    Bytes content(head.begin(), head.begin() + 2);
    for (std::size_t offset = 2; offset < length + 2;) {
        const auto chunk =
            static_cast<std::uint8_t>(std::min<std::size_t>(240, length + 2 - offset));
        Bytes answer =
            card_->process(Bytes{0x00, 0x52, static_cast<std::uint8_t>(offset >> 8),
                                 static_cast<std::uint8_t>(offset), 0x02, type, chunk, chunk});
        content.insert(content.end(), answer.begin(), answer.end() - 2);
        offset += chunk;
    }
    return content;
}

void TestCacCard::atr_isLibcacards()
{
    QCOMPARE(hex(CacCard::atr()), QString("3B 7A 18 00 00 73 66 74 65 20 63 64 31 34 34"));
    QCOMPARE(card_->appletCount(), std::size_t{18}); // N + 15 for three certificates
}

void TestCacCard::select_everyAppletAid_answersFci_data()
{
    QTest::addColumn<QString>("aid");
    for (const char* aid :
         {"A0000000790100", "A0000000790101", "A0000000790102", "A0000000790300", "A00000011 6DB00",
          "A00000007902F0", "A00000007902F1", "A00000007902F2", "A00000007902FB", "A00000007902FE",
          "A00000007902FD", "A0000000790200", "A0000000790201", "A0000000791201", "A0000000791202",
          "A0000001163000", "A0000003974349445F0100"})
        QTest::newRow(aid) << QString(aid).remove(' ');
}

void TestCacCard::select_everyAppletAid_answersFci()
{
    QFETCH(QString, aid);
    const Bytes aidBytes = fromHex(aid.toLatin1().constData());
    Bytes command = fromHex("00A40400");
    command.push_back(static_cast<std::uint8_t>(aidBytes.size()));
    command.insert(command.end(), aidBytes.begin(), aidBytes.end());
    command.push_back(0x00);
    Bytes expected{0x6F, static_cast<std::uint8_t>(aidBytes.size() + 4), 0x84,
                   static_cast<std::uint8_t>(aidBytes.size())};
    expected.insert(expected.end(), aidBytes.begin(), aidBytes.end());
    expected.insert(expected.end(), {0xA5, 0x00, 0x90, 0x00});
    QCOMPARE(sendBytes(command), hex(expected));
}

void TestCacCard::select_errors_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("answer");
    QTest::newRow("fourth PKI applet") << "00A4040007A000000079010300"
                                       << "6A 82";
    QTest::newRow("PIV AID, OpenSC's probe") << "00A4040009A0000003080000100000"
                                             << "6A 82";
    QTest::newRow("non-standard ACA path") << "00A4040007A000000079100000"
                                           << "6A 82";
    QTest::newRow("partial AID") << "00A4040006A0000000790100"
                                 << "6A 82";
    QTest::newRow("select by file id") << "00A40000023F00"
                                       << "6A 81";
    QTest::newRow("GP card manager FCI")
        << "00A4040007A000000003000000"
        << "6F 19 84 08 A0 00 00 00 03 00 00 00 A5 0D 9F 6E 06 12 91 51 81 01 00 9F 65 01 FF 90 00";
    QTest::newRow("length mismatch") << "00A4040007A00000007901"
                                     << "67 00";
}

void TestCacCard::select_errors()
{
    QFETCH(QString, command);
    QFETCH(QString, answer);
    QCOMPARE(send(command.toLatin1().constData()), answer);
}

void TestCacCard::select_withoutLe_buffersFciFor61xx()
{
    QCOMPARE(send("00A4040C07A0000001 16DB00"), QString("61 0D"));
    QCOMPARE(send("00C000000D"), QString("6F 0B 84 07 A0 00 00 01 16 DB 00 A5 00 90 00"));
    QCOMPARE(send("00C000000D"), QString("6A 88")); // nothing left
}

void TestCacCard::select_failure_leavesNothingSelected()
{
    send("00A4040007A000000079010000");
    QCOMPARE(send("00A4040007A000000079099900"), QString("6A 82"));
    QCOMPARE(send("80560100FF"), QString("69 00"));
}

void TestCacCard::noApplet_probesOfOtherDrivers_refused()
{
    QCOMPARE(send("00CADF3005"), QString("69 00"));
    QCOMPARE(send("00CB3FFF035C017E00"), QString("69 00"));
    QCOMPARE(send("00B0000010"), QString("69 00"));
    QCOMPARE(send("84A4040007A0000000790100"), QString("68 82")); // secure messaging
    QCOMPARE(send("00A4"), QString("67 00"));
}

void TestCacCard::ccc_files_libcacardLayoutWithOwnCardId()
{
    QCOMPARE(hex(readFile("A0000001 16DB00", 0x01)), hex(fromHex(kCccTagFile)));
    Bytes expected = fromHex(kCccValueFile);
    std::copy(card_->cardId().begin(), card_->cardId().end(), expected.begin() + 9);
    QCOMPARE(hex(readFile("A0000001 16DB00", 0x02)), hex(expected));
    QVERIFY(hex(card_->cardId()) != QString("40 70 50 72 36 0E 00 00 58 BD 00 2C 19 B5"));
    // The CCC's properties advertise those two files (T 54 bytes, V 268).
    QCOMPARE(send("8056010017"),
             QString("01 05 10 02 06 02 03 40 01 01 50 0B 41 02 DB 00 42 05 00 36 00 0C 01 90 00"));
}

void TestCacCard::pki_properties_shortLongAnd6Cxx()
{
    send("00A4040007A000000079010000");
    QCOMPARE(send("00560100FF"), QString("6C 20")); // OpenSC's first try, Le FF
    QCOMPARE(send("0056010020"), QString("01 05 10 02 06 02 03 40 01 01 51 14 41 02 01 00 42 05 00 "
                                         "0C 00 A4 02 43 04 06 20 01 01 26 01 01 90 00"));
    QCOMPARE(send("00560100"), QString("61 20")); // no Le: buffered
    QCOMPARE(send("005640002C"), QString("01 05 10 02 06 02 03 40 01 01 51 14 41 02 01 00 42 05 00 "
                                         "0C 00 A4 02 43 04 06 20 01 01 26 01 01 39 01 00 3A 07 A0 "
                                         "00 00 00 79 03 00 90 00"));
    QCOMPARE(send("005602000201400A"), QString("01 05 10 02 06 02 03 40 01 01 90 00"));
}

void TestCacCard::pki_certificateFiles_tagsAndValue()
{
    QCOMPARE(hex(readFile("A0000000790100", 0x01)), QString("0A 00 71 01 70 FF A1 02 72 00 FE 00"));
    const Bytes value = readFile("A0000000790100", 0x02);
    QCOMPARE(value.size(), std::size_t{676});
    QCOMPARE(hex(Bytes(value.begin(), value.begin() + 3)), QString("A2 02 00"));
    FakeKeys keys;
    QVERIFY(Bytes(value.begin() + 3, value.end()) == keys.certificate(0));
    // The third certificate, 300 bytes: the three-byte length form too.
    QCOMPARE(hex(readFile("A0000000790102", 0x01)), QString("0A 00 71 01 70 FF 2C 01 72 00 FE 00"));
}

void TestCacCard::getProperties_errors_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("answer");
    QTest::newRow("P2 01") << "0056010100"
                           << "6A 86";
    QTest::newRow("P1 00, GSC-IS 2.0") << "0056000000"
                                       << "6A 86";
    QTest::newRow("P1 41") << "0056410000"
                           << "6A 86";
    QTest::newRow("P1 01 with data") << "00560100 0101"
                                     << "69 84";
    QTest::newRow("P1 02 without tags") << "0056020000"
                                        << "69 84";
    QTest::newRow("P1 02 unknown tag") << "00560200 0139"
                                       << "6A 88";
}

void TestCacCard::getProperties_errors()
{
    QFETCH(QString, command);
    QFETCH(QString, answer);
    send("00A4040007A000000079010000");
    QCOMPARE(send(command.toLatin1().constData()), answer);
}

void TestCacCard::readBuffer_errors_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("answer");
    QTest::newRow("no data") << "0052000002"
                             << "69 84";
    QTest::newRow("three data bytes") << "0052000003010200"
                                      << "69 84";
    QTest::newRow("buffer type 03") << "00520000020302"
                                    << "69 84";
    QTest::newRow("offset past the end") << "00520300020102"
                                         << "6A 86";
    QTest::newRow("offset at the end") << "00520036020102"
                                       << "90 00";
}

void TestCacCard::readBuffer_errors()
{
    QFETCH(QString, command);
    QFETCH(QString, answer);
    send("00A4040007A000000116DB0000");
    QCOMPARE(send(command.toLatin1().constData()), answer);
}

void TestCacCard::sign_chainedBlock_rawResultAfterLogin()
{
    send("00A4040007A000000079010100");
    QCOMPARE(send("002000000831323334353637 38"), QString("90 00"));
    Bytes block(256);
    for (std::size_t i = 0; i < block.size(); ++i)
        block[i] = static_cast<std::uint8_t>(i);
    Bytes first = fromHex("00428000F0");
    first.insert(first.end(), block.begin(), block.begin() + 240);
    QCOMPARE(sendBytes(first), QString("90 00"));
    Bytes last = fromHex("0042000010");
    last.insert(last.end(), block.begin() + 240, block.end());
    QCOMPARE(sendBytes(last), QString("61 00")); // 256 bytes wait
    const Bytes answer = card_->process(fromHex("00C0000000"));
    QCOMPARE(answer.size(), std::size_t{258});
    QVERIFY(Bytes(answer.begin(), answer.end() - 2) == Bytes(block.rbegin(), block.rend()));
    QCOMPARE(hex(Bytes(answer.end() - 2, answer.end())), QString("90 00"));
    // One extended APDU with Le 0000 gets it all at once.
    Bytes extended = fromHex("00420000000100");
    extended.insert(extended.end(), block.begin(), block.end());
    extended.insert(extended.end(), {0x00, 0x00});
    QCOMPARE(card_->process(extended).size(), std::size_t{258});
}

void TestCacCard::sign_errors_data()
{
    QTest::addColumn<bool>("login");
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("answer");
    QTest::newRow("not logged in") << false << "0042000002 0102"
                                   << "69 85";
    QTest::newRow("wrong length") << true << "0042000002 0102"
                                  << "69 84";
    QTest::newRow("P1 81") << true << "0042810002 0102"
                           << "6A 86";
    QTest::newRow("P2 01") << true << "0042000102 0102"
                           << "6A 86";
    QTest::newRow("UPDATE BUFFER") << true << "0058000002 0102"
                                   << "69 85";
}

void TestCacCard::sign_errors()
{
    QFETCH(bool, login);
    QFETCH(QString, command);
    QFETCH(QString, answer);
    send("00A4040007A000000079010000");
    if (login)
        send("002000000831323334353637 38");
    QCOMPARE(send(command.toLatin1().constData()), answer);
}

void TestCacCard::verify_countsDownBlocksAndResets()
{
    QCOMPARE(send("00200000"), QString("63 C3"));
    QCOMPARE(send("0020000008 3131313131313131"), QString("63 C2"));
    QCOMPARE(send("00200000"), QString("63 C2"));
    QCOMPARE(send("0020000004 31323334"), QString("63 C1"));
    QCOMPARE(send("0020000008 31323334 35363738"), QString("90 00"));
    QCOMPARE(send("00200000"), QString("90 00"));
    QVERIFY(card_->loggedIn());
    QCOMPARE(card_->pinState().remaining(), 3u);
    // A wrong PIN logs out.
    QCOMPARE(send("0020000008 3131313131313131"), QString("63 C2"));
    QVERIFY(!card_->loggedIn());
    QCOMPARE(send("0020000008 3131313131313131"), QString("63 C1"));
    QCOMPARE(send("0020000008 3131313131313131"), QString("69 83"));
    QCOMPARE(send("0020000008 31323334 35363738"), QString("69 83"));
    QCOMPARE(send("00200000"), QString("69 83"));
    QCOMPARE(send("0020008008 31323334 35363738"), QString("6A 00"));
}

void TestCacCard::verify_status_asTheCardsStateSays()
{
    // ISO 7816-4: 63Cx only while a verification is needed; libcacard's own tests agree.
    auto withKeys = [](bool needsPin, bool countsOwnTries) {
        auto keys = std::make_unique<FakeKeys>();
        keys->needsPin = needsPin;
        keys->countsOwnTries = countsOwnTries;
        return std::make_unique<CacCard>(
            std::move(keys), std::move(PinRetryState::open(std::nullopt, "t", 3).value()));
    };
    // A database without a password: verified from the start.
    card_ = withKeys(false, true);
    QCOMPARE(send("00200000"), QString("90 00"));
    // A hardware token: its own counter is unknown, until Windows' minidriver has read the
    // Microsoft applet's object and expects a count: then ours.
    card_ = withKeys(true, false);
    QCOMPARE(send("00200000"), QString("6A 88"));
    QCOMPARE(send("0020000008 3131313131313131"), QString("63 C2"));
    QCOMPARE(send("00200000"), QString("6A 88"));
    send("00A404000BA0000003974349445F010000");
    send("80CA7F6800");
    QCOMPARE(send("00200000"), QString("63 C2"));
    QCOMPARE(send("0020000008 31323334 35363738"), QString("90 00"));
    QCOMPARE(send("00200000"), QString("90 00"));
}

void TestCacCard::getAcr_tables_libcacardsBytes()
{
    send("00A4040007A000000079030000");
    QCOMPARE(
        send("804C000000"),
        QString("01 05 10 02 06 02 02 A1 01 0B A0 03 00 00 00 A0 03 01 01 00 A0 03 02 00 1F A0 "
                "05 06 06 00 00 01 A0 05 04 04 1F 00 01 A0 07 08 03 00 00 02 00 00 A0 05 09 02 "
                "00 00 01 A0 07 0A 03 00 00 02 00 00 A0 05 0B 02 00 00 01 A0 03 10 00 1E A0 03 "
                "11 00 1D 90 00"));
    QCOMPARE(send("804C010001 0A00"),
             QString("01 05 10 02 06 02 02 A0 07 0A 03 00 00 02 00 00 90 00"));
    QCOMPARE(
        send("804C110007 A000000079010000"),
        QString("01 05 10 02 06 02 02 80 16 61 02 82 0B 01 00 58 00 04 52 00 00 42 00 06 82 05 "
                "FF FF 20 00 10 90 00"));
    QCOMPARE(send("804C110007 A000000116DB0000"), QString("01 05 10 02 06 02 02 90 00"));
    QCOMPARE(send("804C120002 DB0000"),
             QString("01 05 10 02 06 02 02 82 08 DB 00 58 00 04 52 00 00 90 00"));
    QCOMPARE(send("804C120002 010000"),
             QString("01 05 10 02 06 02 02 82 0B 01 00 58 00 04 52 00 00 42 00 06 90 00"));
    QCOMPARE(
        send("804C200000"),
        QString("01 05 10 02 06 02 02 91 01 03 90 0A 1E 92 07 1E 00 00 00 07 00 00 90 0A 1D 92 "
                "07 1D 00 00 00 07 00 00 90 03 00 92 00 90 00"));
    QCOMPARE(send("804C100000"), QString("61 00")); // 478 bytes
    const Bytes part1 = card_->process(fromHex("80C0000000"));
    QCOMPARE(hex(Bytes(part1.end() - 2, part1.end())), QString("61 DE"));
    const Bytes part2 = card_->process(fromHex("80C00000DE"));
    QCOMPARE(part1.size() - 2 + part2.size() - 2, std::size_t{478});
    QCOMPARE(hex(Bytes(part1.begin(), part1.begin() + 12)),
             QString("01 05 10 02 06 02 02 81 01 10 80 16"));
    QCOMPARE(hex(Bytes(part2.end() - 4, part2.end())), QString("00 10 90 00"));
    // Service table: 12 + N entries of 10 bytes.
    QCOMPARE(card_->process(fromHex("804C610000")).size(), std::size_t{150 + 2});
}

void TestCacCard::getAcr_errors_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("answer");
    QTest::newRow("P2 01") << "804C000100"
                           << "6A 86";
    QTest::newRow("P1 22") << "804C220000"
                           << "69 00";
    QTest::newRow("P1 00 with data") << "804C000001 0000"
                                     << "69 84";
    QTest::newRow("unknown ACRID") << "804C010001 0F00"
                                   << "6A 88";
    QTest::newRow("unknown AID") << "804C110007 A00000007909 9900"
                                 << "6A 88";
    QTest::newRow("unknown COID") << "804C120002 123400"
                                  << "6A 80";
    QTest::newRow("READ BUFFER in the ACA") << "0052000002 0102"
                                            << "6D 00";
}

void TestCacCard::getAcr_errors()
{
    QFETCH(QString, command);
    QFETCH(QString, answer);
    send("00A4040007A000000079030000");
    QCOMPARE(send(command.toLatin1().constData()), answer);
}

void TestCacCard::getResponse_longAnswer_inChunks()
{
    send("00A4040007A000000079030000");
    QCOMPARE(send("804C100000"), QString("61 00")); // 478 bytes wait
    Bytes chunk = card_->process(fromHex("00C0000010"));
    QCOMPARE(chunk.size(), std::size_t{18});
    QCOMPARE(hex(Bytes(chunk.end() - 2, chunk.end())), QString("61 00")); // 462 left
    chunk = card_->process(fromHex("00C0000000"));
    QCOMPARE(chunk.size(), std::size_t{258});
    QCOMPARE(hex(Bytes(chunk.end() - 2, chunk.end())), QString("61 CE")); // 206 left
    chunk = card_->process(fromHex("00C00000CE"));
    QCOMPARE(chunk.size(), std::size_t{208});
    QCOMPARE(hex(Bytes(chunk.end() - 2, chunk.end())), QString("90 00"));
    QCOMPARE(send("00C0000000"), QString("6A 88"));
    // Any other command drops what was waiting.
    QCOMPARE(send("804C100000"), QString("61 00"));
    send("8056010000");
    QCOMPARE(send("00C0000000"), QString("6A 88"));
}

void TestCacCard::getData_gpAndMsft()
{
    send("00A4040007A000000003000000");
    const Bytes cplc = card_->process(fromHex("80CA9F7F00"));
    QCOMPARE(cplc.size(), std::size_t{47});
    FakeKeys keys;
    const Bytes serial = keys.sha256(keys.certificate(0));
    QVERIFY(std::equal(serial.begin(), serial.begin() + 6, cplc.begin() + 15));
    QCOMPARE(send("80CA123400"), QString("6A 88"));
    QCOMPARE(send("8056010000"), QString("69 00")); // not a CAC applet
    send("00A404000BA0000003974349445F010000");
    QCOMPARE(send("80CA7F6800"), QString("30 1D 02 01 00 16 04 4D 53 46 54 30 12 04 10 E2 80 E9 D2 "
                                         "51 88 87 4F 81 D6 4F 25 4E 38 00 1D 90 00"));
}

void TestCacCard::unknownInstructions_perApplet_data()
{
    QTest::addColumn<QString>("aid");
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("answer");
    QTest::newRow("GET ACR in a PKI applet") << "A0000000790100"
                                             << "804C000000"
                                             << "6D 00";
    QTest::newRow("GET CERTIFICATE (CAC 1)") << "A0000000790100"
                                             << "8036000000"
                                             << "6D 00";
    QTest::newRow("UPDATE BUFFER in the CCC") << "A000000116DB00"
                                              << "0058000002 0102"
                                              << "69 00";
    QTest::newRow("UPDATE BUFFER in the ACA") << "A0000000790300"
                                              << "0058000002 0102"
                                              << "6D 00";
    QTest::newRow("SELECT object in ACF") << "A0000001163000"
                                          << "00A4020002 6010"
                                          << "90 00";
    QTest::newRow("SELECT missing object") << "A00000007902F0"
                                           << "00A4020002 02F0"
                                           << "6A 82";
    QTest::newRow("SELECT object, bad Lc") << "A0000000790100"
                                           << "00A4020001 01"
                                           << "69 84";
}

void TestCacCard::unknownInstructions_perApplet()
{
    QFETCH(QString, aid);
    QFETCH(QString, command);
    QFETCH(QString, answer);
    const Bytes aidBytes = fromHex(aid.toLatin1().constData());
    Bytes select = fromHex("00A40400");
    select.push_back(static_cast<std::uint8_t>(aidBytes.size()));
    select.insert(select.end(), aidBytes.begin(), aidBytes.end());
    card_->process(select);
    QCOMPARE(send(command.toLatin1().constData()), answer);
}

void TestCacCard::getChallenge_randomBytes()
{
    QCOMPARE(send("0084000008"), QString("5A 5A 5A 5A 5A 5A 5A 5A 90 00"));
    QCOMPARE(send("00840000"), QString("67 00"));
}

void TestCacCard::channels_independentSelections()
{
    send("00A4040007A000000079010000");
    send("01A4040007A000000116DB0000");
    QCOMPARE(send("0056010020").right(5), QString("90 00"));   // channel 0: the PKI applet
    QCOMPARE(send("0156010017").left(8), QString("01 05 10")); // channel 1: the CCC
    QCOMPARE(send("01560100FF"), QString("6C 17"));
    QCOMPARE(send("015601000A"), QString("61 17")); // Le too small: buffered
}

void TestCacCard::reset_deselectsAndLogsOut()
{
    send("00A4040007A000000079010000");
    send("002000000831323334353637 38");
    QVERIFY(card_->loggedIn());
    card_->reset();
    QVERIFY(!card_->loggedIn());
    QCOMPARE(send("0056010020"), QString("69 00"));
    QCOMPARE(send("00200000"), QString("63 C3"));
}

void TestCacCard::passthrough_tokenDataObjects_splitIntoTagAndValueFiles()
{
    auto keys = std::make_unique<FakeKeys>();
    // First name, last name, then a member cut short: libcacard keeps what parses.
    keys->dataObjects["Person Instance"] =
        fromHex("01 05 4D617269 65 02 06 5475726E6572 03 FF 2C01 00");
    card_ = std::make_unique<CacCard>(std::move(keys),
                                      std::move(PinRetryState::open(std::nullopt, "t", 3).value()));
    QCOMPARE(hex(readFile("A0000000790200", 0x01)), QString("04 00 01 05 02 06"));
    QCOMPARE(hex(readFile("A0000000790200", 0x02)),
             QString("0B 00 4D 61 72 69 65 54 75 72 6E 65 72"));
    // No Personnel object on the token: empty files, as before.
    QCOMPARE(hex(readFile("A0000000790201", 0x01)), QString("00 00"));
    QCOMPARE(hex(readFile("A0000000790201", 0x02)), QString("00 00"));
}

QTEST_APPLESS_MAIN(TestCacCard)
#include "tst_cac_card.moc"
