// The emulated PIV card alone, instruction by instruction, with the status words of SP 800-73-4
// Part 2's tables and of the YubiKey extensions, on real NSS keys (in memory, or in a state
// directory for the tests of what survives a restart).
#include "hex_bytes.h"
#include "piv/piv_crypto.h"
#include "piv/piv_defaults.h"
#include "piv/piv_state.h"
#include "vscard/atr.h"
#include "vscard/cacard/ber_tlv.h"
#include "vscard/cacard/piv_card.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace vscard;
using namespace vscard::cacard;
using vscard::test::concat;
using vscard::test::fromHex;

namespace {

QString hex(const Bytes& bytes)
{
    return QString::fromStdString(trace::hex(bytes));
}

std::uint16_t sw(const Bytes& answer)
{
    return answer.size() < 2 ? 0 : readBigEndian16(answer, answer.size() - 2);
}

Bytes data(Bytes answer)
{
    answer.resize(answer.size() - 2);
    return answer;
}

const Bytes kDefaultKey = fromHex("010203040506070801020304050607080102030405060708");

// PIN 123456 as VERIFY carries it.
Bytes padded(const char* value)
{
    Bytes out(value, value + std::strlen(value));
    out.resize(8, 0xFF);
    return out;
}

Bytes command(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
              const Bytes& body = {}, std::uint32_t ne = 0)
{
    return CommandApdu(cla, ins, p1, p2, body, ne).encode();
}

} // namespace

class TestPivCard : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void atr_offersT1_historicalBytesNamePiv();
    void select_pivAidWholeOrTruncated_answersPropertyTemplate_data();
    void select_pivAidWholeOrTruncated_answersPropertyTemplate();
    void select_errors_data();
    void select_errors();
    void getData_factoryObjects_chuidCccDiscovery();
    void getData_errors_data();
    void getData_errors();
    void verify_countsDownBlocksAndReportsStatus();
    void verify_errors_data();
    void verify_errors();
    void verify_puk_checkedAndCounted();
    void verify_resetSecurityStatus_logsOut();
    void changeReferenceData_pinAndPuk();
    void resetRetryCounter_pukSetsNewPin();
    void management_mutualAuthentication_allowsPutData();
    void management_wrongWitness_refused();
    void management_externalAuthentication();
    void management_challengeWithAlgorithm00_isOpenscsRandom();
    void management_errors_data();
    void management_errors();
    void putData_errors_data();
    void putData_errors();
    void putData_chainedObject_readBackThroughGetResponse();
    void generate_eachAlgorithm_answersPublicKeyAndMetadata_data();
    void generate_eachAlgorithm_answersPublicKeyAndMetadata();
    void generate_errors_data();
    void generate_errors();
    void sign_ecdsaAndRsa_needPinAsPolicySays();
    void sign_errors_data();
    void sign_errors();
    void ecdh_twoCards_agree();
    void version_serial_metadataOfPinPukAndManagementKey();
    void setManagementKey_aes_thenAuthenticatesWithIt();
    void setPinRetries_needsManagementKeyAndPin();
    void resetApplication_onlyWhenPinAndPukBlocked_thenFactoryCard();
    void cardReset_forgetsPinAndManagementAuthentication();
    void attest_generatedKey_signedByTheCardsAttestationKey();
    void import_ecc_publicPointDerived_signs();
    void import_errors_data();
    void import_errors();
    void transport_errors_data();
    void transport_errors();
    void state_survivesReopen_andIsLocked();
    void stateFile_roundTrips_andRefusesWhatItDidNotWrite();

private:
    Bytes send(const Bytes& apdu) { return card_->process(apdu); }
    Bytes send(const char* hexText) { return card_->process(fromHex(hexText)); }
    // GET RESPONSE until the whole answer is in.
    Bytes sendAll(const Bytes& apdu);
    void authenticate(PivCard& card, const Bytes& key = kDefaultKey, std::uint8_t algorithm = 3);
    void verifyPin(PivCard& card, const char* pin = "123456");
    Bytes generate(PivCard& card, std::uint8_t slot, std::uint8_t algorithm);

    std::unique_ptr<PivCard> card_;
};

void TestPivCard::init()
{
    auto card = PivCard::open({});
    QVERIFY2(card.ok(), card ? "" : card.error().c_str());
    card_ = std::move(card).value();
}

Bytes TestPivCard::sendAll(const Bytes& apdu)
{
    Bytes answer = send(apdu);
    Bytes all;
    while (answer.size() >= 2 && answer[answer.size() - 2] == 0x61) {
        all.insert(all.end(), answer.begin(), answer.end() - 2);
        answer = send("00 C0 00 00 00");
    }
    all.insert(all.end(), answer.begin(), answer.end());
    return all;
}

void TestPivCard::authenticate(PivCard& card, const Bytes& key, std::uint8_t algorithm)
{
    const auto alg = static_cast<piv::Algorithm>(algorithm);
    const Bytes first = card.process(command(0, 0x87, algorithm, 0x9B, fromHex("7C 02 80 00")));
    QCOMPARE(sw(first), 0x9000);
    const std::size_t block = piv::symmetricBlockBytes(alg);
    QCOMPARE(first.size(), 4 + block + 2);
    const Bytes sealed(first.begin() + 4, first.begin() + 4 + static_cast<long>(block));
    const auto witness = piv::blockDecrypt(alg, key, sealed);
    QVERIFY(witness.ok());
    const Bytes challenge(block, 0x5A);
    Bytes members;
    appendBerTlv(members, 0x80, *witness);
    appendBerTlv(members, 0x81, challenge);
    const Bytes second =
        card.process(command(0, 0x87, algorithm, 0x9B, encodeBerTlv(0x7C, members)));
    QCOMPARE(sw(second), 0x9000);
    const auto expected = piv::blockEncrypt(alg, key, challenge);
    QCOMPARE(hex(data(second)), hex(encodeBerTlv(0x7C, encodeBerTlv(0x82, *expected))));
}

void TestPivCard::verifyPin(PivCard& card, const char* pin)
{
    QCOMPARE(sw(card.process(command(0, 0x20, 0, 0x80, padded(pin)))), 0x9000);
}

Bytes TestPivCard::generate(PivCard& card, std::uint8_t slot, std::uint8_t algorithm)
{
    Bytes answer = card.process(
        command(0, 0x47, 0, slot, encodeBerTlv(0xAC, encodeBerTlv(0x80, Bytes{algorithm})), 256));
    Bytes all;
    while (answer.size() >= 2 && answer[answer.size() - 2] == 0x61) {
        all.insert(all.end(), answer.begin(), answer.end() - 2);
        answer = card.process(fromHex("00 C0 00 00 00"));
    }
    all.insert(all.end(), answer.begin(), answer.end());
    return all;
}

void TestPivCard::atr_offersT1_historicalBytesNamePiv()
{
    const auto atr = Atr::parse(PivCard::atr());
    QVERIFY2(atr.ok(), atr ? "" : atr.error().message.c_str());
    QVERIFY(atr->offersProtocol(1));
    // Compact-TLV historical bytes naming the PIV application: OpenSC's quirk-free type.
    QCOMPARE(hex(PivCard::atr()), QString("3B 8B 80 01 80 F9 A0 00 00 03 08 00 00 10 00 C8"));
    QCOMPARE(card_->typeName(), std::string_view("PIV"));
}

void TestPivCard::select_pivAidWholeOrTruncated_answersPropertyTemplate_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::newRow("whole AID") << "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00";
    QTest::newRow("OpenSC's 9 bytes") << "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00";
    QTest::newRow("yubico-piv-tool's 5 bytes") << "00 A4 04 00 05 A0 00 00 03 08";
}

void TestPivCard::select_pivAidWholeOrTruncated_answersPropertyTemplate()
{
    QFETCH(QString, apdu);
    const Bytes answer = send(fromHex(apdu));
    QCOMPARE(sw(answer), 0x9000);
    auto outer = parseBerTlvs(data(answer));
    QVERIFY(outer.ok());
    QCOMPARE(outer->size(), 1u);
    QCOMPARE(outer->front().tag, 0x61u);
    auto members = parseBerTlvs(outer->front().value);
    QVERIFY(members.ok());
    QCOMPARE(hex(findBerTlv(*members, 0x4F)->value), QString("00 00 10 00 01 00"));
    QCOMPARE(hex(findBerTlv(*members, 0x79)->value), QString("4F 05 A0 00 00 03 08"));
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(findBerTlv(*members, 0x50)->value.data()),
                        int(findBerTlv(*members, 0x50)->value.size())),
             QByteArray("vscard PIV"));
    const QString algorithms = hex(findBerTlv(*members, 0xAC)->value);
    for (const char* id : {"80 01 03", "80 01 07", "80 01 11", "80 01 14", "80 01 0C"})
        QVERIFY2(algorithms.contains(id), qPrintable(algorithms));
}

void TestPivCard::select_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("the CAC's AID") << "00 A4 04 00 07 A0 00 00 00 79 01 00" << 0x6A82;
    QTest::newRow("4 bytes of the PIV AID") << "00 A4 04 00 04 A0 00 00 03" << 0x6A82;
    QTest::newRow("AID too long") << "00 A4 04 00 0C A0 00 00 03 08 00 00 10 00 01 00 00" << 0x6A82;
    QTest::newRow("select by file id") << "00 A4 00 00 02 3F 00" << 0x6A82;
    QTest::newRow("P2 not first occurrence") << "00 A4 04 02 05 A0 00 00 03 08" << 0x6A86;
}

void TestPivCard::select_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
    // The PIV application stays selected: its data is still there.
    QCOMPARE(sw(send("00 CB 3F FF 05 5C 03 5F C1 02 00")), 0x9000);
}

void TestPivCard::getData_factoryObjects_chuidCccDiscovery()
{
    const Bytes chuid = sendAll(fromHex("00 CB 3F FF 05 5C 03 5F C1 02 00"));
    QCOMPARE(sw(chuid), 0x9000);
    auto wrapped = parseBerTlvs(data(chuid));
    QVERIFY(wrapped.ok());
    QCOMPARE(wrapped->front().tag, 0x53u);
    auto members = parseBerTlvs(wrapped->front().value);
    QVERIFY(members.ok());
    QCOMPARE(findBerTlv(*members, 0x30)->value.size(), 25u); // FASC-N
    QCOMPARE(findBerTlv(*members, 0x34)->value.size(), 16u); // GUID
    QCOMPARE(hex(findBerTlv(*members, 0x35)->value), QString("32 30 33 35 31 32 33 31"));
    QVERIFY(findBerTlv(*members, 0x3E));
    QVERIFY(findBerTlv(*members, 0xFE));

    const Bytes ccc = sendAll(fromHex("00 CB 3F FF 05 5C 03 5F C1 07 00"));
    QCOMPARE(sw(ccc), 0x9000);
    QVERIFY(hex(ccc).startsWith("53 33 F0 15 A0 00 00 01 16"));

    const Bytes discovery = send("00 CB 3F FF 03 5C 01 7E 00");
    QCOMPARE(hex(discovery),
             QString("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00 90 00"));
    // Key history of a card without retired keys: none on card, none off card.
    QCOMPARE(hex(send("00 CB 3F FF 05 5C 03 5F C1 0C 00")),
             QString("53 08 C1 01 00 C2 01 00 FE 00 90 00"));

    // Another card: another GUID.
    auto other = PivCard::open({});
    QVERIFY(other.ok());
    const Bytes otherChuid = (*other)->process(fromHex("00 CB 3F FF 05 5C 03 5F C1 02 00"));
    QVERIFY(otherChuid != chuid);
    QVERIFY((*other)->serialNumber() != card_->serialNumber());
}

void TestPivCard::getData_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("wrong P1 P2") << "00 CB 3F FE 05 5C 03 5F C1 02 00" << 0x6A86;
    QTest::newRow("no tag list") << "00 CB 3F FF 05 5D 03 5F C1 02 00" << 0x6A80;
    QTest::newRow("truncated tag list") << "00 CB 3F FF 04 5C 03 5F C1 00" << 0x6A80;
    QTest::newRow("bytes after the tag list") << "00 CB 3F FF 06 5C 03 5F C1 02 00 00" << 0x6A80;
    QTest::newRow("unknown object") << "00 CB 3F FF 05 5C 03 5F C1 7F 00" << 0x6A82;
    QTest::newRow("empty certificate slot") << "00 CB 3F FF 05 5C 03 5F C1 05 00" << 0x6A82;
    QTest::newRow("printed information needs the PIN")
        << "00 CB 3F FF 05 5C 03 5F C1 09 00" << 0x6982;
    QTest::newRow("facial image needs the PIN") << "00 CB 3F FF 05 5C 03 5F C1 08 00" << 0x6982;
}

void TestPivCard::getData_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
}

void TestPivCard::verify_countsDownBlocksAndReportsStatus()
{
    QCOMPARE(hex(send("00 20 00 80 00")), QString("63 C3"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, padded("654321")))), QString("63 C2"));
    QCOMPARE(hex(send("00 20 00 80 00")), QString("63 C2"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, padded("123456")))), QString("90 00"));
    QVERIFY(card_->loggedIn());
    QCOMPARE(hex(send("00 20 00 80 00")), QString("90 00"));
    QCOMPARE(hex(send("00 20 00 80")), QString("90 00")); // case 1 as well as case 2
    // A right PIN restored the count; three wrong ones block, all FF counts as wrong.
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, padded("000000")))), QString("63 C2"));
    QVERIFY(!card_->loggedIn());
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, Bytes(8, 0xFF)))), QString("63 C1"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, padded("1234567")))), QString("69 83"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, padded("123456")))), QString("69 83"));
    QCOMPARE(hex(send("00 20 00 80 00")), QString("69 83"));
}

void TestPivCard::verify_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("global PIN") << "00 20 00 00 08 31 32 33 34 35 36 FF FF" << 0x6A88;
    QTest::newRow("P1 neither 00 nor FF") << "00 20 01 80 08 31 32 33 34 35 36 FF FF" << 0x6A86;
    QTest::newRow("seven bytes") << "00 20 00 80 07 31 32 33 34 35 36 FF" << 0x6A80;
    QTest::newRow("nine bytes") << "00 20 00 80 09 31 32 33 34 35 36 FF FF FF" << 0x6A80;
}

void TestPivCard::verify_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
    QCOMPARE(hex(send("00 20 00 80 00")), QString("63 C3")); // no try was spent
}

void TestPivCard::verify_puk_checkedAndCounted()
{
    // OpenSC's security officer login: a VERIFY of the PUK, counted like the PIN.
    QCOMPARE(hex(send("00 20 00 81 00")), QString("63 C3"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x81, padded("11111111")))), QString("63 C2"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x81, padded("12345678")))), QString("90 00"));
    QCOMPARE(hex(send("00 20 00 81 00")), QString("63 C3")); // restored, and grants nothing
    QVERIFY(!card_->loggedIn());
    for (int i = 0; i < 3; ++i)
        send(command(0, 0x20, 0, 0x81, padded("11111111")));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x81, padded("12345678")))), QString("69 83"));
    QCOMPARE(sw(send(command(0, 0x2C, 0, 0x80, concat({padded("12345678"), padded("654321")})))),
             0x6983);
}

void TestPivCard::verify_resetSecurityStatus_logsOut()
{
    verifyPin(*card_);
    QCOMPARE(hex(send("00 20 FF 80")), QString("90 00"));
    QVERIFY(!card_->loggedIn());
    QCOMPARE(hex(send("00 20 00 80 00")), QString("63 C3"));
}

void TestPivCard::changeReferenceData_pinAndPuk()
{
    QCOMPARE(hex(send(command(0, 0x24, 0, 0x80, concat({padded("111111"), padded("22222222")})))),
             QString("63 C2"));
    QCOMPARE(hex(send(command(0, 0x24, 0, 0x80, concat({padded("123456"), padded("22222222")})))),
             QString("90 00"));
    QCOMPARE(hex(send(command(0, 0x20, 0, 0x80, padded("123456")))), QString("63 C2"));
    verifyPin(*card_, "22222222");
    QCOMPARE(hex(send(command(0, 0x24, 0, 0x81, concat({padded("12345678"), padded("87654321")})))),
             QString("90 00"));
    QCOMPARE(sw(send(command(0, 0x24, 0, 0x82, concat({padded("123456"), padded("654321")})))),
             0x6A88);
    QCOMPARE(sw(send(command(0, 0x24, 1, 0x80, concat({padded("123456"), padded("654321")})))),
             0x6A86);
    QCOMPARE(sw(send(command(0, 0x24, 0, 0x80, padded("22222222")))), 0x6A80);
    QCOMPARE(sw(send(command(0, 0x24, 0, 0x80, concat({padded("22222222"), padded("123")})))),
             0x6A80);
}

void TestPivCard::resetRetryCounter_pukSetsNewPin()
{
    for (int i = 0; i < 3; ++i)
        send(command(0, 0x20, 0, 0x80, padded("000000")));
    QCOMPARE(hex(send("00 20 00 80 00")), QString("69 83"));
    QCOMPARE(hex(send(command(0, 0x2C, 0, 0x80, concat({padded("00000000"), padded("654321")})))),
             QString("63 C2"));
    QCOMPARE(hex(send(command(0, 0x2C, 0, 0x80, concat({padded("12345678"), padded("654321")})))),
             QString("90 00"));
    QCOMPARE(hex(send("00 20 00 80 00")), QString("63 C3"));
    verifyPin(*card_, "654321");
    QCOMPARE(sw(send(command(0, 0x2C, 0, 0x81, concat({padded("12345678"), padded("654321")})))),
             0x6A88);
    // Three wrong PUKs block the PUK too.
    for (int i = 0; i < 3; ++i)
        send(command(0, 0x2C, 0, 0x80, concat({padded("00000000"), padded("654321")})));
    QCOMPARE(hex(send(command(0, 0x2C, 0, 0x80, concat({padded("12345678"), padded("654321")})))),
             QString("69 83"));
}

void TestPivCard::management_mutualAuthentication_allowsPutData()
{
    const Bytes put = fromHex("00 DB 3F FF 0A 5C 03 5F C1 09 53 03 01 01 41");
    QCOMPARE(sw(send(put)), 0x6982);
    authenticate(*card_);
    QCOMPARE(sw(send(put)), 0x9000);
    verifyPin(*card_);
    QCOMPARE(hex(send("00 CB 3F FF 05 5C 03 5F C1 09 00")), QString("53 03 01 01 41 90 00"));
}

void TestPivCard::management_wrongWitness_refused()
{
    QCOMPARE(sw(send(command(0, 0x87, 3, 0x9B, fromHex("7C 02 80 00")))), 0x9000);
    QCOMPARE(sw(send(command(0, 0x87, 3, 0x9B,
                             fromHex("7C 14 80 08 00 00 00 00 00 00 00 00 81 08 11 11 11 11 11 "
                                     "11 11 11")))),
             0x6982);
    QCOMPARE(sw(send("00 DB 3F FF 0A 5C 03 5F C1 09 53 03 01 01 41")), 0x6982);
    // The witness is used once: its right decryption after a wrong one is too late.
    QCOMPARE(sw(send(command(0, 0x87, 3, 0x9B,
                             fromHex("7C 14 80 08 00 00 00 00 00 00 00 00 81 08 11 11 11 11 11 "
                                     "11 11 11")))),
             0x6985);
}

void TestPivCard::management_externalAuthentication()
{
    const Bytes first = send(command(0, 0x87, 3, 0x9B, fromHex("7C 02 81 00")));
    QCOMPARE(sw(first), 0x9000);
    QVERIFY(hex(first).startsWith("7C 0A 81 08"));
    const Bytes challenge(first.begin() + 4, first.begin() + 12);
    const auto response = piv::blockEncrypt(piv::Algorithm::TripleDes, kDefaultKey, challenge);
    QVERIFY(response.ok());
    QCOMPARE(
        hex(send(command(0, 0x87, 3, 0x9B, encodeBerTlv(0x7C, encodeBerTlv(0x82, *response))))),
        QString("90 00"));
    QCOMPARE(sw(send("00 DB 3F FF 0A 5C 03 5F C1 09 53 03 01 01 41")), 0x9000);
}

void TestPivCard::management_challengeWithAlgorithm00_isOpenscsRandom()
{
    QSet<QString> seen;
    for (int i = 0; i < 3; ++i) {
        const Bytes answer = send("00 87 00 9B 04 7C 02 81 00 00");
        QCOMPARE(sw(answer), 0x9000);
        QVERIFY(hex(answer).startsWith("7C 0A 81 08"));
        seen.insert(hex(answer));
    }
    QCOMPARE(seen.size(), 3);
}

void TestPivCard::management_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("AES for a 3DES key") << "00 87 08 9B 04 7C 02 80 00" << 0x6A86;
    QTest::newRow("no 7C template") << "00 87 03 9B 04 7D 02 80 00" << 0x6A80;
    QTest::newRow("7C template cut short") << "00 87 03 9B 04 7C 05 80 00" << 0x6A80;
    QTest::newRow("response without a challenge") << "00 87 03 9B 0C 7C 0A 82 08 01 02 03 04 05 "
                                                     "06 07 08"
                                                  << 0x6985;
    QTest::newRow("empty template") << "00 87 03 9B 02 7C 00" << 0x6A80;
    QTest::newRow("algorithm 00 for a witness") << "00 87 00 9B 04 7C 02 80 00" << 0x6A86;
    QTest::newRow("unknown key reference") << "00 87 07 9F 06 7C 04 82 00 81 00" << 0x6A86;
    QTest::newRow("empty key slot") << "00 87 11 9A 06 7C 04 82 00 81 00" << 0x6A88;
}

void TestPivCard::management_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
}

void TestPivCard::putData_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("wrong P1 P2") << "00 DB 3F FE 0A 5C 03 5F C1 09 53 03 01 01 41" << 0x6A86;
    QTest::newRow("no 53") << "00 DB 3F FF 05 5C 03 5F C1 09" << 0x6A80;
    QTest::newRow("unknown object") << "00 DB 3F FF 0A 5C 03 5F C2 09 53 03 01 01 41" << 0x6A80;
    QTest::newRow("value cut short") << "00 DB 3F FF 0A 5C 03 5F C1 09 53 05 01 01 41" << 0x6A80;
    QTest::newRow("indefinite length") << "00 DB 3F FF 0A 5C 03 5F C1 09 53 80 01 01 41" << 0x6A80;
    QTest::newRow("four-byte length")
        << "00 DB 3F FF 0C 5C 03 5F C1 09 53 84 00 00 00 01 41" << 0x6A80;
    QTest::newRow("a stray member")
        << "00 DB 3F FF 0D 5C 03 5F C1 09 53 03 01 01 41 99 01 00" << 0x6A80;
}

void TestPivCard::putData_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    authenticate(*card_);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
}

void TestPivCard::putData_chainedObject_readBackThroughGetResponse()
{
    authenticate(*card_);
    Bytes certificate(1200);
    for (std::size_t i = 0; i < certificate.size(); ++i)
        certificate[i] = static_cast<std::uint8_t>(i * 7);
    Bytes object = fromHex("5C 03 5F C1 05");
    appendBerTlv(object, 0x53, encodeBerTlv(0x70, certificate));
    // 255-byte links with CLA 10, as yubico-piv-tool sends them; 9000 after each.
    for (std::size_t offset = 0; offset < object.size(); offset += 255) {
        const std::size_t length = std::min<std::size_t>(255, object.size() - offset);
        const bool last = offset + length == object.size();
        const Bytes link(object.begin() + long(offset), object.begin() + long(offset + length));
        QCOMPARE(hex(send(command(last ? 0x00 : 0x10, 0xDB, 0x3F, 0xFF, link))), QString("90 00"));
    }
    const Bytes first = send("00 CB 3F FF 05 5C 03 5F C1 05 00");
    QCOMPARE(first.size(), 258u);
    QCOMPARE(first[256], 0x61);
    const Bytes all = sendAll(fromHex("00 CB 3F FF 05 5C 03 5F C1 05 00"));
    QCOMPARE(sw(all), 0x9000);
    QCOMPARE(hex(data(all)), hex(encodeBerTlv(0x53, encodeBerTlv(0x70, certificate))));
    // An extended Le takes it at once.
    const Bytes extended = send(command(0, 0xCB, 0x3F, 0xFF, fromHex("5C 03 5F C1 05"), 65536));
    QCOMPARE(hex(extended), hex(all));
    // An object too large for the card.
    Bytes huge = fromHex("5C 03 5F C1 05");
    appendBerTlv(huge, 0x53, Bytes(4000, 0x42));
    for (std::size_t offset = 0; offset < huge.size(); offset += 255) {
        const std::size_t length = std::min<std::size_t>(255, huge.size() - offset);
        const bool last = offset + length == huge.size();
        const Bytes answer =
            send(command(last ? 0x00 : 0x10, 0xDB, 0x3F, 0xFF,
                         Bytes(huge.begin() + long(offset), huge.begin() + long(offset + length))));
        QCOMPARE(sw(answer), last ? 0x6A84 : 0x9000);
    }
    // Deleting with an empty 53.
    QCOMPARE(sw(send("00 DB 3F FF 07 5C 03 5F C1 05 53 00")), 0x9000);
    QCOMPARE(sw(send("00 CB 3F FF 05 5C 03 5F C1 05 00")), 0x6A82);
}

void TestPivCard::generate_eachAlgorithm_answersPublicKeyAndMetadata_data()
{
    QTest::addColumn<int>("slot");
    QTest::addColumn<int>("algorithm");
    QTest::addColumn<int>("modulusOrPointBytes");
    QTest::newRow("9A P-256") << 0x9A << 0x11 << 65;
    QTest::newRow("9C P-384") << 0x9C << 0x14 << 97;
    QTest::newRow("9D RSA-2048") << 0x9D << 0x07 << 256;
    QTest::newRow("9E RSA-1024") << 0x9E << 0x06 << 128;
    QTest::newRow("retired 82 RSA-3072") << 0x82 << 0x05 << 384;
}

void TestPivCard::generate_eachAlgorithm_answersPublicKeyAndMetadata()
{
    QFETCH(int, slot);
    QFETCH(int, algorithm);
    QFETCH(int, modulusOrPointBytes);
    authenticate(*card_);
    const Bytes answer = generate(*card_, std::uint8_t(slot), std::uint8_t(algorithm));
    QCOMPARE(sw(answer), 0x9000);
    auto outer = parseBerTlvs(data(answer));
    QVERIFY(outer.ok());
    QCOMPARE(outer->front().tag, 0x7F49u);
    auto members = parseBerTlvs(outer->front().value);
    QVERIFY(members.ok());
    if (algorithm == 0x11 || algorithm == 0x14) {
        QCOMPARE(int(findBerTlv(*members, 0x86)->value.size()), modulusOrPointBytes);
        QCOMPARE(findBerTlv(*members, 0x86)->value[0], 0x04);
    } else {
        QCOMPARE(int(findBerTlv(*members, 0x81)->value.size()), modulusOrPointBytes);
        QCOMPARE(hex(findBerTlv(*members, 0x82)->value), QString("01 00 01"));
    }
    // GET METADATA: algorithm, policies (the slot's defaults), generated, the same key.
    const Bytes metadata = sendAll(command(0, 0xF7, 0, std::uint8_t(slot)));
    QCOMPARE(sw(metadata), 0x9000);
    auto meta = parseBerTlvs(data(metadata));
    QVERIFY(meta.ok());
    QCOMPARE(findBerTlv(*meta, 0x01)->value, Bytes{std::uint8_t(algorithm)});
    const std::uint8_t pinPolicy = slot == 0x9C ? 3 : slot == 0x9E ? 1 : 2;
    QCOMPARE(hex(findBerTlv(*meta, 0x02)->value), hex(Bytes{pinPolicy, 1}));
    QCOMPARE(hex(findBerTlv(*meta, 0x03)->value), QString("01"));
    QCOMPARE(hex(findBerTlv(*meta, 0x04)->value), hex(outer->front().value));
    QCOMPARE(card_->keyCount(), 1u);
}

void TestPivCard::generate_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("unknown algorithm") << "00 47 00 9A 05 AC 03 80 01 99" << 0x6A80;
    QTest::newRow("symmetric algorithm") << "00 47 00 9A 05 AC 03 80 01 03" << 0x6A80;
    QTest::newRow("no algorithm") << "00 47 00 9A 05 AC 03 81 01 11" << 0x6A80;
    QTest::newRow("no AC template") << "00 47 00 9A 05 AD 03 80 01 11" << 0x6A80;
    QTest::newRow("PIN policy out of range") << "00 47 00 9A 08 AC 06 80 01 11 AA 01 07" << 0x6A80;
    QTest::newRow("management key slot") << "00 47 00 9B 05 AC 03 80 01 11" << 0x6A86;
    QTest::newRow("attestation slot") << "00 47 00 F9 05 AC 03 80 01 11" << 0x6A86;
    QTest::newRow("P1 not 00") << "00 47 01 9A 05 AC 03 80 01 11" << 0x6A86;
}

void TestPivCard::generate_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send("00 47 00 9A 05 AC 03 80 01 11")), 0x6982); // not authenticated
    authenticate(*card_);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
}

void TestPivCard::sign_ecdsaAndRsa_needPinAsPolicySays()
{
    authenticate(*card_);
    QCOMPARE(sw(generate(*card_, 0x9A, 0x11)), 0x9000);
    QCOMPARE(sw(generate(*card_, 0x9C, 0x07)), 0x9000);
    QCOMPARE(sw(generate(*card_, 0x9E, 0x11)), 0x9000);
    Bytes digest(32, 0xAB);
    Bytes ecdsa;
    appendBerTlv(ecdsa, 0x82, {});
    appendBerTlv(ecdsa, 0x81, digest);
    const Bytes signWith9A = command(0, 0x87, 0x11, 0x9A, encodeBerTlv(0x7C, ecdsa));
    QCOMPARE(sw(send(signWith9A)), 0x6982); // PIN once: not yet
    // 9E's PIN policy is never.
    const Bytes cardAuthentication = send(command(0, 0x87, 0x11, 0x9E, encodeBerTlv(0x7C, ecdsa)));
    QCOMPARE(sw(cardAuthentication), 0x9000);
    verifyPin(*card_);
    for (int i = 0; i < 2; ++i) { // once is enough for 9A, however many signatures
        const Bytes answer = send(signWith9A);
        QCOMPARE(sw(answer), 0x9000);
        auto outer = parseBerTlvs(data(answer));
        QVERIFY(outer.ok());
        auto members = parseBerTlvs(outer->front().value);
        QVERIFY(members.ok());
        QCOMPARE(findBerTlv(*members, 0x82)->value[0], 0x30); // a DER SEQUENCE of r and s
    }
    // 9C: PIN always, a VERIFY since its last use (OpenSC verifies right before each). An
    // RSA block of the modulus's size; the VERIFY before the 9A signatures still counts.
    Bytes block(256, 0xFF);
    block[0] = 0x00;
    block[1] = 0x01;
    block[200] = 0x00;
    Bytes rsa;
    appendBerTlv(rsa, 0x82, {});
    appendBerTlv(rsa, 0x81, block);
    const Bytes signWith9C = command(0, 0x87, 0x07, 0x9C, encodeBerTlv(0x7C, rsa), 256);
    const Bytes signature = sendAll(signWith9C);
    QCOMPARE(sw(signature), 0x9000);
    QVERIFY(hex(signature).startsWith("7C 82 01 04 82 82 01 00"));
    QCOMPARE(sw(send(signWith9C)), 0x6982);
    verifyPin(*card_);
    QCOMPARE(sw(sendAll(signWith9C)), 0x9000);
    QCOMPARE(sw(send(signWith9C)), 0x6982);
}

void TestPivCard::sign_errors_data()
{
    QTest::addColumn<QString>("body");
    QTest::addColumn<int>("p1");
    QTest::addColumn<int>("expected");
    QTest::newRow("algorithm not the key's") << "7C 06 82 00 81 02 01 02" << 0x14 << 0x6A86;
    QTest::newRow("no response request") << "7C 04 81 02 01 02" << 0x11 << 0x6A80;
    QTest::newRow("response not empty") << "7C 07 82 01 00 81 02 01 02" << 0x11 << 0x6A80;
    QTest::newRow("both challenge and exponentiation")
        << "7C 08 82 00 81 02 01 02 85 00" << 0x11 << 0x6A80;
    QTest::newRow("empty digest") << "7C 04 82 00 81 00" << 0x11 << 0x6A80;
    QTest::newRow("digest too long")
        << "7C 45 82 00 81 41 " + QString("00 ").repeated(65) << 0x11 << 0x6A80;
    QTest::newRow("point not on the curve")
        << "7C 45 82 00 85 41 04 " + QString("01 ").repeated(64) << 0x11 << 0x6A80;
    QTest::newRow("compressed point")
        << "7C 25 82 00 85 21 02 " + QString("01 ").repeated(32) << 0x11 << 0x6A80;
}

void TestPivCard::sign_errors()
{
    QFETCH(QString, body);
    QFETCH(int, p1);
    QFETCH(int, expected);
    authenticate(*card_);
    QCOMPARE(sw(generate(*card_, 0x9A, 0x11)), 0x9000);
    verifyPin(*card_);
    QCOMPARE(sw(send(command(0, 0x87, std::uint8_t(p1), 0x9A, fromHex(body)))), expected);
}

void TestPivCard::ecdh_twoCards_agree()
{
    auto other = PivCard::open({});
    QVERIFY(other.ok());
    PivCard& second = **other;
    authenticate(*card_);
    authenticate(second);
    const Bytes first = generate(*card_, 0x9D, 0x11);
    const Bytes secondKey = generate(second, 0x9D, 0x11);
    const Bytes firstPoint(first.begin() + 5, first.end() - 2);
    const Bytes secondPoint(secondKey.begin() + 5, secondKey.end() - 2);
    QCOMPARE(firstPoint.size(), 65u);
    verifyPin(*card_);
    verifyPin(second);
    Bytes toFirst;
    appendBerTlv(toFirst, 0x82, {});
    appendBerTlv(toFirst, 0x85, secondPoint);
    Bytes toSecond;
    appendBerTlv(toSecond, 0x82, {});
    appendBerTlv(toSecond, 0x85, firstPoint);
    const Bytes a = card_->process(command(0, 0x87, 0x11, 0x9D, encodeBerTlv(0x7C, toFirst)));
    const Bytes b = second.process(command(0, 0x87, 0x11, 0x9D, encodeBerTlv(0x7C, toSecond)));
    QCOMPARE(sw(a), 0x9000);
    QVERIFY(hex(a).startsWith("7C 22 82 20"));
    QCOMPARE(hex(a), hex(b));
}

void TestPivCard::version_serial_metadataOfPinPukAndManagementKey()
{
    QCOMPARE(hex(send("00 FD 00 00 00")), QString("05 04 03 90 00"));
    const Bytes serial = send("00 F8 00 00 00");
    QCOMPARE(sw(serial), 0x9000);
    QCOMPARE(readBigEndian32(serial, 0), card_->serialNumber());
    QCOMPARE(QString::fromStdString(card_->serial()), QString::number(card_->serialNumber()));
    QCOMPARE(hex(send("00 F7 00 80 00")), QString("01 01 FF 05 01 01 06 02 03 03 90 00"));
    QCOMPARE(hex(send("00 F7 00 81 00")), QString("01 01 FF 05 01 01 06 02 03 03 90 00"));
    QCOMPARE(hex(send("00 F7 00 9B 00")), QString("01 01 03 02 02 01 01 05 01 01 90 00"));
    QVERIFY(card_->usesDefaultManagementKey());
    send(command(0, 0x20, 0, 0x80, padded("000000")));
    send(command(0, 0x24, 0, 0x81, concat({padded("12345678"), padded("11223344")})));
    QCOMPARE(hex(send("00 F7 00 80 00")), QString("01 01 FF 05 01 01 06 02 03 02 90 00"));
    QCOMPARE(hex(send("00 F7 00 81 00")), QString("01 01 FF 05 01 00 06 02 03 03 90 00"));
    QCOMPARE(sw(send("00 F7 00 9A 00")), 0x6A88); // an empty slot
    QCOMPARE(sw(send("00 F7 00 42 00")), 0x6A86);
}

void TestPivCard::setManagementKey_aes_thenAuthenticatesWithIt()
{
    const Bytes aesKey = fromHex("00112233445566778899AABBCCDDEEFF");
    const Bytes body = concat({fromHex("08 9B 10"), aesKey});
    QCOMPARE(sw(send(command(0, 0xFF, 0xFF, 0xFF, body))), 0x6982);
    authenticate(*card_);
    QCOMPARE(sw(send(command(0, 0xFF, 0xFF, 0xFF, fromHex("08 9B 18 00 01")))), 0x6A80);
    QCOMPARE(sw(send(command(0, 0xFF, 0xFF, 0xFF, concat({fromHex("08 9B 0F"), aesKey})))), 0x6A80);
    QCOMPARE(sw(send(command(0, 0xFF, 0xFF, 0xFD, body))), 0x6A86);
    QCOMPARE(sw(send(command(0, 0xFF, 0xFF, 0xFE, body))), 0x9000); // touch: kept as metadata
    QVERIFY(!card_->usesDefaultManagementKey());
    QCOMPARE(hex(send("00 F7 00 9B 00")), QString("01 01 08 02 02 01 02 05 01 00 90 00"));
    card_->reset();
    QCOMPARE(sw(send("00 87 03 9B 04 7C 02 80 00")), 0x6A86);
    authenticate(*card_, aesKey, 0x08);
}

void TestPivCard::setPinRetries_needsManagementKeyAndPin()
{
    QCOMPARE(sw(send("00 FA 05 06")), 0x6982);
    authenticate(*card_);
    QCOMPARE(sw(send("00 FA 05 06")), 0x6982); // the PIN too
    verifyPin(*card_);
    QCOMPARE(sw(send("00 FA 00 06")), 0x6A86);
    QCOMPARE(sw(send("00 FA 05 10")), 0x6A86);
    QCOMPARE(sw(send("00 FA 05 06")), 0x9000);
    QCOMPARE(hex(send("00 F7 00 80 00")), QString("01 01 FF 05 01 01 06 02 05 05 90 00"));
    QCOMPARE(hex(send("00 F7 00 81 00")), QString("01 01 FF 05 01 01 06 02 06 06 90 00"));
}

void TestPivCard::resetApplication_onlyWhenPinAndPukBlocked_thenFactoryCard()
{
    authenticate(*card_);
    QCOMPARE(sw(generate(*card_, 0x9A, 0x11)), 0x9000);
    const Bytes chuid = send("00 CB 3F FF 05 5C 03 5F C1 02 00");
    QCOMPARE(sw(send("00 FB 00 00")), 0x6985);
    for (int i = 0; i < 3; ++i)
        send(command(0, 0x20, 0, 0x80, padded("000000")));
    QCOMPARE(sw(send("00 FB 00 00")), 0x6985); // the PUK still works
    for (int i = 0; i < 3; ++i)
        send(command(0, 0x2C, 0, 0x80, concat({padded("00000000"), padded("654321")})));
    QCOMPARE(sw(send("00 FB 00 00")), 0x9000);
    verifyPin(*card_);
    QCOMPARE(sw(send("00 F7 00 9A 00")), 0x6A88);
    QCOMPARE(card_->keyCount(), 0u);
    const Bytes newChuid = send("00 CB 3F FF 05 5C 03 5F C1 02 00");
    QCOMPARE(sw(newChuid), 0x9000);
    QVERIFY(newChuid != chuid); // a new GUID
    authenticate(*card_);       // the factory management key again
}

void TestPivCard::cardReset_forgetsPinAndManagementAuthentication()
{
    authenticate(*card_);
    verifyPin(*card_);
    card_->reset();
    QVERIFY(!card_->loggedIn());
    QCOMPARE(hex(send("00 20 00 80 00")), QString("63 C3"));
    QCOMPARE(sw(send("00 DB 3F FF 0A 5C 03 5F C1 09 53 03 01 01 41")), 0x6982);
}

void TestPivCard::attest_generatedKey_signedByTheCardsAttestationKey()
{
    // The attestation certificate is there from the start, readable by anyone.
    const Bytes authority = sendAll(fromHex("00 CB 3F FF 05 5C 03 5F FF 01 00"));
    QCOMPARE(sw(authority), 0x9000);
    QVERIFY(hex(authority).startsWith("53 82"));
    QCOMPARE(sw(send("00 F9 9A 00 00")), 0x6A88); // nothing to attest yet
    authenticate(*card_);
    QCOMPARE(sw(generate(*card_, 0x9A, 0x11)), 0x9000);
    const Bytes certificate = sendAll(fromHex("00 F9 9A 00 00"));
    QCOMPARE(sw(certificate), 0x9000);
    QVERIFY(hex(certificate).startsWith("30 82"));
    // It names the card's serial and carries the slot's policies (PIN once, touch never).
    const QString text = hex(certificate);
    QVERIFY(text.contains("2B 06 01 04 01 82 C4 0A 03 08 04 02 02 01"));
    QVERIFY(text.contains("2B 06 01 04 01 82 C4 0A 03 03 04 03 05 04 03"));
    QCOMPARE(sw(send("00 F9 9B 00 00")), 0x6A86);
    QCOMPARE(sw(send("00 F9 F9 00 00")), 0x6A86);
    QCOMPARE(sw(send("00 F9 9A 01 00")), 0x6A86);
    // GENERATE and RESET leave the attestation key alone; it is no key of the user's.
    QCOMPARE(card_->keyCount(), 1u);
}

void TestPivCard::import_ecc_publicPointDerived_signs()
{
    authenticate(*card_);
    // The scalar 1: its public point is the curve's generator (SEC 2's G for P-256).
    const Bytes one = concat({Bytes(31, 0x00), Bytes{0x01}});
    QCOMPARE(hex(send(command(0, 0xFE, 0x11, 0x9A,
                              concat({fromHex("06 20"), one, fromHex("AA 01 03")})))),
             QString("90 00"));
    const Bytes metadata = sendAll(fromHex("00 F7 00 9A 00"));
    QCOMPARE(sw(metadata), 0x9000);
    QVERIFY2(hex(metadata).contains("86 41 04 6B 17 D1 F2 E1 2C 42 47 F8 BC E6 E5 63 A4 40 F2 "
                                    "77 03 7D 81 2D EB 33 A0 F4 A1 39 45 D8 98 C2 96 4F E3 42 "
                                    "E2 FE 1A 7F 9B 8E E7 EB 4A 7C 0F 9E 16 2B CE 33 57 6B 31 "
                                    "5E CE CB B6 40 68 37 BF 51 F5"),
             qPrintable(hex(metadata)));
    QVERIFY(hex(metadata).contains("02 02 03 01")); // PIN always, as imported; touch never
    QVERIFY(hex(metadata).contains("03 01 02"));    // imported
    QCOMPARE(sw(send("00 F9 9A 00 00")), 0x6A80);   // not the card's own: no attestation
    verifyPin(*card_);
    Bytes ecdsa;
    appendBerTlv(ecdsa, 0x82, {});
    appendBerTlv(ecdsa, 0x81, Bytes(32, 0x5A));
    QCOMPARE(sw(send(command(0, 0x87, 0x11, 0x9A, encodeBerTlv(0x7C, ecdsa)))), 0x9000);
}

void TestPivCard::import_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("a management key algorithm") << "00 FE 03 9A 04 01 02 01 02" << 0x6A86;
    QTest::newRow("the management key slot") << "00 FE 07 9B 04 01 02 01 02" << 0x6A86;
    QTest::newRow("the attestation slot") << "00 FE 11 F9 03 06 01 01" << 0x6A86;
    QTest::newRow("RSA without its CRT values")
        << "00 FE 07 9A 08 01 02 01 02 02 02 01 02" << 0x6A80;
    QTest::newRow("EC scalar of the wrong size") << "00 FE 11 9A 04 06 02 01 02" << 0x6A80;
    QTest::newRow("EC scalar 0") << "00 FE 11 9A 22 06 20 " + QString("00 ").repeated(32) << 0x6A80;
    QTest::newRow("EC scalar beyond the order")
        << "00 FE 11 9A 22 06 20 " + QString("FF ").repeated(32) << 0x6A80;
    QTest::newRow("policy out of range")
        << "00 FE 11 9A 25 06 20 " + QString("01 ").repeated(32) + "AA 01 09" << 0x6A80;
    QTest::newRow("broken TLV") << "00 FE 11 9A 03 06 05 01" << 0x6A80;
}

void TestPivCard::import_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send(fromHex("00 FE 11 9A 22 06 20 " + QString("01 ").repeated(32)))), 0x6982);
    authenticate(*card_);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
    QCOMPARE(card_->keyCount(), 0u);
}

void TestPivCard::transport_errors_data()
{
    QTest::addColumn<QString>("apdu");
    QTest::addColumn<int>("expected");
    QTest::newRow("unknown instruction") << "00 B0 00 00 00" << 0x6D00;
    QTest::newRow("proprietary class") << "80 CB 3F FF 05 5C 03 5F C1 02 00" << 0x6E00;
    QTest::newRow("secure messaging") << "0C CB 3F FF 05 5C 03 5F C1 02 00" << 0x6882;
    QTest::newRow("Lc longer than the data") << "00 CB 3F FF 09 5C 03" << 0x6700;
    QTest::newRow("three bytes") << "00 CB 3F" << 0x6700;
    QTest::newRow("GET RESPONSE with nothing waiting") << "00 C0 00 00 00" << 0x6985;
    QTest::newRow("GET RESPONSE with P1") << "00 C0 01 00 00" << 0x6A86;
}

void TestPivCard::transport_errors()
{
    QFETCH(QString, apdu);
    QFETCH(int, expected);
    QCOMPARE(sw(send(fromHex(apdu))), expected);
}

void TestPivCard::state_survivesReopen_andIsLocked()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    PivCardSettings settings;
    settings.stateDirectory = dir.filePath("card").toStdString();
    std::vector<std::string> notices;
    settings.notice = [&notices](const std::string& text) { notices.push_back(text); };
    Bytes publicKey;
    Bytes chuid;
    std::uint32_t serial = 0;
    {
        auto card = PivCard::open(settings);
        QVERIFY2(card.ok(), card ? "" : card.error().c_str());
        QVERIFY(!notices.empty()); // the default management key
        auto second = PivCard::open(settings);
        QVERIFY(!second.ok());
        QVERIFY2(QString::fromStdString(second.error()).contains("in use by another process"),
                 second.error().c_str());
        authenticate(**card);
        publicKey = generate(**card, 0x9A, 0x11);
        QCOMPARE(sw(publicKey), 0x9000);
        QCOMPARE(sw((*card)->process(
                     command(0, 0x24, 0, 0x80, concat({padded("123456"), padded("24682468")})))),
                 0x9000);
        (*card)->process(command(0, 0x20, 0, 0x80, padded("000000")));
        chuid = (*card)->process(fromHex("00 CB 3F FF 05 5C 03 5F C1 02 00"));
        serial = (*card)->serialNumber();
    }
    auto card = PivCard::open(settings);
    QVERIFY2(card.ok(), card ? "" : card.error().c_str());
    QCOMPARE((*card)->serialNumber(), serial);
    QCOMPARE(hex((*card)->process(fromHex("00 CB 3F FF 05 5C 03 5F C1 02 00"))), hex(chuid));
    QCOMPARE(hex((*card)->process(fromHex("00 20 00 80 00"))), QString("63 C2"));
    verifyPin(**card, "24682468");
    Bytes metadata = (*card)->process(fromHex("00 F7 00 9A 00"));
    QCOMPARE(sw(metadata), 0x9000);
    QVERIFY(hex(metadata).contains(hex(Bytes(publicKey.begin() + 3, publicKey.end() - 2))));
    // The key itself came back: it signs.
    Bytes ecdsa;
    appendBerTlv(ecdsa, 0x82, {});
    appendBerTlv(ecdsa, 0x81, Bytes(32, 0x11));
    QCOMPARE(sw((*card)->process(command(0, 0x87, 0x11, 0x9A, encodeBerTlv(0x7C, ecdsa)))), 0x9000);
    QCOMPARE((*card)->keyCount(), 1u);
}

void TestPivCard::stateFile_roundTrips_andRefusesWhatItDidNotWrite()
{
    auto keys = PivCard::open({}); // NSS up for the factory state's random bytes
    QVERIFY(keys.ok());
    auto state = piv::factoryState();
    QVERIFY(state.ok());
    state->keys[0x9A] = {piv::Algorithm::EccP256, piv::PinPolicy::Always, piv::TouchPolicy::Cached,
                         piv::KeyOrigin::Imported, Bytes{1, 2, 3}};
    state->objects[0x5FC105] = Bytes(300, 0x42);
    const Bytes encoded = piv::encodeCardState(*state);
    const auto decoded = piv::decodeCardState(encoded);
    QVERIFY2(decoded.ok(), decoded ? "" : decoded.error().c_str());
    QVERIFY(*decoded == *state);
    for (std::size_t cut : {std::size_t(0), std::size_t(1), encoded.size() / 2, encoded.size() - 1})
        QVERIFY(!piv::decodeCardState(ByteView(encoded).first(cut)).ok());
    Bytes foreign = encoded;
    foreign[2] = 2; // format version 2
    QVERIFY(!piv::decodeCardState(foreign).ok());
    Bytes extra = encoded;
    extra.insert(extra.end(), {0x99, 0x00});
    QVERIFY(!piv::decodeCardState(extra).ok());
}

QTEST_GUILESS_MAIN(TestPivCard)
#include "tst_piv_card.moc"
