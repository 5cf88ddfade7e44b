// A card side that misbehaves, seen from where pcscd stands (the real driver, dlopened): a
// card that takes an APDU and never answers ends the application's call after
// --card-answer-timeout with an error, and the log names the client that stalled; an answer
// of 0 or 1 byte (no status word) is an error for the application, never "success".
#include "loaded_ifd_driver.h"
#include "pcsc_rig.h"

#include <QElapsedTimer>
#include <QtTest>

#include <array>

namespace {

constexpr int kAnswerTimeoutSeconds = 3;

struct Transmitted {
    RESPONSECODE code = 0;
    QByteArray answer;
};

} // namespace

class TestCardSideFaults : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void silentCard_callEndsWithAnErrorAtTheLimit();
    void answerWithoutStatusWord_isAnError_data();
    void answerWithoutStatusWord_isAnError();

private:
    // A test card in reader `name`, with these extra vscard-test-card arguments, powered up;
    // the client, or nullptr if that failed.
    QProcess* insert(const QString& name, const QStringList& arguments);
    // Ends the client; its reader, the driver's only slot, is empty again.
    bool remove(QProcess* client);
    Transmitted transmit();

    std::unique_ptr<vscard::test::PcscRig> rig_;
    vscard::test::LoadedIfdDriver driver_;
};

void TestCardSideFaults::initTestCase()
{
    rig_ = std::make_unique<vscard::test::PcscRig>(1);
    rig_->extraServerArguments << "--card-answer-timeout" << QString::number(kAnswerTimeoutSeconds);
    QVERIFY2(rig_->startServer(), qPrintable(rig_->error()));
    QVERIFY2(driver_.load(VSCARD_IFD_LIB), dlerror());
    QByteArray device = (rig_->pcscSocket() + ":slots=1").toUtf8();
    QCOMPARE(driver_.create(0, device.data()), RESPONSECODE(IFD_SUCCESS));
}

void TestCardSideFaults::cleanupTestCase()
{
    if (driver_.close)
        driver_.close(0);
    rig_.reset();
}

QProcess* TestCardSideFaults::insert(const QString& name, const QStringList& arguments)
{
    QProcess* client =
        rig_->startClient(QStringList{"--reader", name + "=" + vscard::test::kCacAtr} + arguments);
    if (!vscard::test::waitReady(client))
        return nullptr;
    QElapsedTimer waited;
    waited.start();
    while (driver_.presence(0) != IFD_ICC_PRESENT && waited.elapsed() < 10000)
        QTest::qWait(50);
    std::array<UCHAR, MAX_ATR_SIZE> atr{};
    DWORD atrLength = atr.size();
    return driver_.power(0, IFD_POWER_UP, atr.data(), &atrLength) == IFD_SUCCESS ? client : nullptr;
}

bool TestCardSideFaults::remove(QProcess* client)
{
    client->kill();
    client->waitForFinished(5000);
    QElapsedTimer waited;
    waited.start();
    while (driver_.presence(0) != IFD_ICC_NOT_PRESENT && waited.elapsed() < 10000)
        QTest::qWait(50);
    return driver_.presence(0) == IFD_ICC_NOT_PRESENT;
}

Transmitted TestCardSideFaults::transmit()
{
    std::array<UCHAR, 4> command = {0x00, 0xA4, 0x04, 0x00}; // the test card: 90 00
    std::array<UCHAR, 258> answer{};
    DWORD answerLength = answer.size();
    SCARD_IO_HEADER header{1, 0};
    Transmitted result;
    result.code = driver_.transmit(0, header, command.data(), command.size(), answer.data(),
                                   &answerLength, nullptr);
    result.answer = QByteArray(reinterpret_cast<const char*>(answer.data()),
                               result.code == IFD_SUCCESS ? static_cast<int>(answerLength) : 0);
    return result;
}

void TestCardSideFaults::silentCard_callEndsWithAnErrorAtTheLimit()
{
    // It takes the APDU and answers an hour later.
    QVERIFY(insert("Silent", {"--delay-ms", "3600000", "--quiet"}));
    QElapsedTimer call;
    call.start();
    const Transmitted result = transmit();
    const qint64 took = call.elapsed();
    qInfo("the application's call ended after %lld ms (--card-answer-timeout %d)", took,
          kAnswerTimeoutSeconds);
    QVERIFY2(result.code != IFD_SUCCESS, "a card that never answered gave success");
    QVERIFY2(took < 60000, "the call was held far beyond the limit");
    QTRY_VERIFY(rig_->serverLog().contains(
        QStringLiteral("(\"Silent\") left its APDU unanswered for %1 s (--card-answer-timeout)")
            .arg(kAnswerTimeoutSeconds)));
    // The stalled client was dropped: its reader is empty now.
    QTRY_VERIFY(driver_.presence(0) == IFD_ICC_NOT_PRESENT);
}

void TestCardSideFaults::answerWithoutStatusWord_isAnError_data()
{
    QTest::addColumn<int>("bytes");
    QTest::newRow("no byte") << 0;
    QTest::newRow("one byte") << 1;
}

void TestCardSideFaults::answerWithoutStatusWord_isAnError()
{
    QFETCH(int, bytes);
    const QString name = QStringLiteral("Broken%1").arg(bytes);
    QProcess* client = insert(name, {"--answer-bytes", QString::number(bytes), "--quiet"});
    QVERIFY(client);
    const Transmitted result = transmit();
    QVERIFY2(result.code != IFD_SUCCESS,
             qPrintable("a " + QString::number(bytes) +
                        "-byte answer passed as success: " + result.answer.toHex(' ')));
    QTRY_VERIFY(rig_->serverLog().contains(
        QStringLiteral("answered an APDU with %1 byte(s), no status word").arg(bytes)));
    // The link stays in step: the next APDU is answered too (cut again: an error again).
    QVERIFY(transmit().code != IFD_SUCCESS);
    QVERIFY(remove(client));
}

QTEST_GUILESS_MAIN(TestCardSideFaults)
#include "tst_card_side_faults.moc"
