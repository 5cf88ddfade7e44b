// Card keys on a real NSS database made with certutil: certificates by nickname, PIN checks,
// keys usable only while logged in, and several cards sharing one token's login.
#include "pcsc_rig.h"
#include "vscard/cacard/nss_card_keys.h"

#include <QtTest>

#include <cert.h>
#include <keyhi.h>
#include <pk11pub.h>

using namespace vscard;
using namespace vscard::cacard;

namespace {

// The PKCS#1 v1.5 block of a SHA-256 signature, as OpenSC pads it for RSA_RAW cards.
Bytes signatureBlock(std::size_t modulusBytes)
{
    const Bytes digestInfo = {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                              0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    Bytes block(modulusBytes, 0xFF);
    block[0] = 0x00;
    block[1] = 0x01;
    const std::size_t start = modulusBytes - digestInfo.size() - 32;
    block[start - 1] = 0x00;
    std::copy(digestInfo.begin(), digestInfo.end(),
              block.begin() + static_cast<std::ptrdiff_t>(start));
    std::fill(block.end() - 32, block.end(), 0xAB);
    return block;
}

} // namespace

class TestNssCardKeys : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void open_certificatesByNickname_derAndKeySize();
    void open_unknownNickname_named();
    void login_wrongThenRight_keysOnlyWhileLoggedIn();
    void sharedToken_oneCardLoggingOut_leavesTheOtherWorking();
    void pkcs1Only_signAndDecrypt_likeRawRsa();

private:
    QTemporaryDir work_;
    std::shared_ptr<NssDatabase> database_;
};

void TestNssCardKeys::initTestCase()
{
    const QString problem = test::makeTestDatabase(work_.filePath("db"), "12345678");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    auto database = NssDatabase::open("sql:" + work_.filePath("db").toStdString());
    QVERIFY2(database.ok(), database ? "" : database.error().c_str());
    database_ = *database;
}

void TestNssCardKeys::open_certificatesByNickname_derAndKeySize()
{
    auto keys = NssCardKeys::open(database_, {"cert1", "cert3"});
    QVERIFY2(keys.ok(), keys ? "" : keys.error().c_str());
    QCOMPARE((*keys)->certificateCount(), std::size_t{2});
    QCOMPARE((*keys)->certificate(0).front(), std::uint8_t{0x30}); // a DER SEQUENCE
    QVERIFY((*keys)->certificate(0) != (*keys)->certificate(1));
    QCOMPARE((*keys)->keyBits(0), std::size_t{2048});
    QCOMPARE((*keys)->sha256({}).size(), std::size_t{32});
    QCOMPARE((*keys)->random(16).size(), std::size_t{16});
}

void TestNssCardKeys::open_unknownNickname_named()
{
    auto keys = NssCardKeys::open(database_, {"cert1", "nosuch"});
    QVERIFY(!keys.ok());
    QVERIFY(keys.error().find("certificate \"nosuch\" is not in sql:") == 0);
}

void TestNssCardKeys::login_wrongThenRight_keysOnlyWhileLoggedIn()
{
    auto opened = NssCardKeys::open(database_, {"cert1"});
    QVERIFY(opened.ok());
    NssCardKeys& keys = **opened;
    const Bytes block = signatureBlock(256);
    QVERIFY(!keys.rsaPrivate(0, block).ok()); // not logged in
    QCOMPARE(keys.login("00000000"), PinCheck::Rejected);
    QVERIFY(!keys.loggedIn());
    QCOMPARE(keys.login("12345678"), PinCheck::Accepted);
    QVERIFY(keys.loggedIn());
    const auto signature = keys.rsaPrivate(0, block);
    QVERIFY2(signature.ok(), signature ? "" : signature.error().c_str());
    QCOMPARE(signature->size(), std::size_t{256});
    QVERIFY(!keys.rsaPrivate(0, Bytes(100, 0x01)).ok()); // not a modulus-sized block
    keys.logout();
    QVERIFY(!keys.rsaPrivate(0, block).ok());
}

void TestNssCardKeys::sharedToken_oneCardLoggingOut_leavesTheOtherWorking()
{
    auto first = NssCardKeys::open(database_, {"cert1"});
    auto second = NssCardKeys::open(database_, {"cert2"});
    QVERIFY(first.ok() && second.ok());
    QCOMPARE((*first)->login("12345678"), PinCheck::Accepted);
    QCOMPARE((*second)->login("12345678"), PinCheck::Accepted);
    (*first)->logout();
    // The token stays logged in for the second card.
    QVERIFY((*second)->rsaPrivate(0, signatureBlock(256)).ok());
    QVERIFY(!(*first)->rsaPrivate(0, signatureBlock(256)).ok());
    (*second)->logout();
}

// A token without raw RSA (CKM_RSA_X_509) gets what the block asks for through PKCS#1: the
// same signature, and the same plaintext in a freshly padded block.
void TestNssCardKeys::pkcs1Only_signAndDecrypt_likeRawRsa()
{
    auto raw = NssCardKeys::open(database_, {"cert1"}, RsaMechanisms::RawWhereOffered);
    auto pkcs1 = NssCardKeys::open(database_, {"cert1"}, RsaMechanisms::Pkcs1Only);
    QVERIFY(raw.ok() && pkcs1.ok());
    QCOMPARE((*raw)->login("12345678"), PinCheck::Accepted);
    QCOMPARE((*pkcs1)->login("12345678"), PinCheck::Accepted);

    const Bytes block = signatureBlock(256);
    const auto rawSignature = (*raw)->rsaPrivate(0, block);
    const auto pkcs1Signature = (*pkcs1)->rsaPrivate(0, block);
    QVERIFY(rawSignature.ok() && pkcs1Signature.ok());
    QVERIFY(*rawSignature == *pkcs1Signature); // PKCS#1 v1.5 signatures are deterministic

    CERTCertificate* certificate = PK11_FindCertFromNickname("cert1", nullptr);
    QVERIFY(certificate);
    SECKEYPublicKey* publicKey = CERT_ExtractPublicKey(certificate);
    const Bytes message = {'s', 'e', 'c', 'r', 'e', 't'};
    Bytes ciphertext(256);
    QCOMPARE(PK11_PubEncryptPKCS1(publicKey, ciphertext.data(), message.data(), 6, nullptr),
             SECSuccess);
    SECKEY_DestroyPublicKey(publicKey);
    CERT_DestroyCertificate(certificate);
    for (auto* keys : {raw->get(), pkcs1->get()}) {
        const auto padded = keys->rsaPrivate(0, ciphertext);
        QVERIFY2(padded.ok(), padded ? "" : padded.error().c_str());
        QCOMPARE(padded->size(), std::size_t{256});
        QCOMPARE((*padded)[0], std::uint8_t{0x00});
        QCOMPARE((*padded)[1], std::uint8_t{0x02});
        const auto separator = std::find(padded->begin() + 2, padded->end(), 0x00);
        QCOMPARE(std::distance(padded->begin(), separator), std::ptrdiff_t{256 - 7});
        QVERIFY(Bytes(separator + 1, padded->end()) == message);
    }
}

QTEST_GUILESS_MAIN(TestNssCardKeys)
#include "tst_nss_card_keys.moc"
