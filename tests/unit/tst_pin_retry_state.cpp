// The emulated card's PIN retry counter: counting down, blocking, persisting, locking.
#include "vscard/cacard/pin_retry_state.h"

#include <QTemporaryDir>
#include <QtTest>

using vscard::cacard::PinRetryState;

class TestPinRetryState : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void failures_countDownToBlocked_successResets();
    void stateDirectory_blockedSurvivesReopen();
    void stateDirectory_secondUserOfSameCard_refused();
    void maxTries_outOfRange_refused();
};

void TestPinRetryState::failures_countDownToBlocked_successResets()
{
    auto state = PinRetryState::open(std::nullopt, "card", 3);
    QVERIFY(state.ok());
    QCOMPARE((*state)->remaining(), 3u);
    (*state)->recordFailure();
    (*state)->recordFailure();
    QCOMPARE((*state)->remaining(), 1u);
    (*state)->recordSuccess();
    QCOMPARE((*state)->remaining(), 3u);
    for (int i = 0; i < 5; ++i)
        (*state)->recordFailure();
    QCOMPARE((*state)->remaining(), 0u);
    QVERIFY((*state)->blocked());
}

void TestPinRetryState::stateDirectory_blockedSurvivesReopen()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("state").toStdString();
    {
        auto state = PinRetryState::open(path, "0123abcd", 2);
        QVERIFY2(state.ok(), state ? "" : state.error().c_str());
        (*state)->recordFailure();
        (*state)->recordFailure();
        QVERIFY((*state)->blocked());
    }
    auto reopened = PinRetryState::open(path, "0123abcd", 2);
    QVERIFY(reopened.ok());
    QVERIFY((*reopened)->blocked());
    QFile file(dir.filePath("state/0123abcd.pin"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("remaining 0 of 2\n"));
    // Another card in the same directory has its own count.
    auto other = PinRetryState::open(path, "ffff0000", 2);
    QVERIFY(other.ok());
    QCOMPARE((*other)->remaining(), 2u);
}

void TestPinRetryState::stateDirectory_secondUserOfSameCard_refused()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString();
    auto first = PinRetryState::open(path, "card", 3);
    QVERIFY(first.ok());
    auto second = PinRetryState::open(path, "card", 3);
    QVERIFY(!second.ok());
    QVERIFY(second.error().find("in use by another process") != std::string::npos);
}

void TestPinRetryState::maxTries_outOfRange_refused()
{
    QVERIFY(!PinRetryState::open(std::nullopt, "card", 0).ok());
    QVERIFY(!PinRetryState::open(std::nullopt, "card", 16).ok());
    QVERIFY(PinRetryState::open(std::nullopt, "card", 15).ok());
}

QTEST_APPLESS_MAIN(TestPinRetryState)
#include "tst_pin_retry_state.moc"
