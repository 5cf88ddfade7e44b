// libcacard's C API, ours against Debian's: capi-consumer, one C program compiled against each
// library's headers and linked with it, walks the API on the same NSS database. Its transcript
// lines marked "=" must be identical, those marked "~" (our deliberate differences: a PIN
// retry counter) must differ.
#include "pcsc_rig.h"

#include <QProcess>
#include <QtTest>

namespace {

const QString kPin = "12345678";

QStringList transcript(const QString& program, const QString& database, QString* log)
{
    QProcess consumer;
    consumer.start(program, {"sql:" + database, kPin});
    if (!consumer.waitForFinished(60000)) {
        consumer.kill();
        consumer.waitForFinished();
        *log = program + " hung";
        return {};
    }
    *log = QString::fromUtf8(consumer.readAllStandardError());
    if (consumer.exitStatus() != QProcess::NormalExit || consumer.exitCode() != 0)
        *log += QStringLiteral("\n%1 exited with %2").arg(program).arg(consumer.exitCode());
    return QString::fromUtf8(consumer.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
}

} // namespace

class TestLibcacardCapi : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void sameProgram_bothLibraries_sameTranscript();
};

void TestLibcacardCapi::sameProgram_bothLibraries_sameTranscript()
{
    QTemporaryDir work;
    const QString database = work.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    QString ourLog;
    QString theirLog;
    const QStringList ours = transcript(VSCARD_CAPI_CONSUMER_OURS, database, &ourLog);
    const QStringList theirs = transcript(VSCARD_CAPI_CONSUMER_DEBIAN, database, &theirLog);
    QVERIFY2(!ourLog.contains("exited") && !ourLog.contains("hung"), qPrintable(ourLog));
    QVERIFY2(!theirLog.contains("exited") && !theirLog.contains("hung"), qPrintable(theirLog));
    QVERIFY2(ours.size() > 80, qPrintable(ours.join('\n')));
    QCOMPARE(ours.size(), theirs.size());
    int alike = 0;
    int different = 0;
    for (int i = 0; i < ours.size(); ++i) {
        const QString context =
            QStringLiteral("line %1\n ours   %2\n theirs %3").arg(i + 1).arg(ours[i], theirs[i]);
        QCOMPARE(ours[i].left(1), theirs[i].left(1));
        if (ours[i].startsWith('~')) {
            QVERIFY2(ours[i] != theirs[i], qPrintable("listed as a difference:\n" + context));
            ++different;
        } else {
            QVERIFY2(ours[i] == theirs[i], qPrintable(context));
            ++alike;
        }
    }
    qInfo("%d lines alike, %d deliberate differences", alike, different);
}

QTEST_GUILESS_MAIN(TestLibcacardCapi)
#include "tst_libcacard_capi.moc"
