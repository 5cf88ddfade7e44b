// What a signature costs the emulated CAC on an NSS database: with the private key kept for
// the session (what the card does after VERIFY), side by side with logging in for each
// signature (the password-based key derivation paid every time, as libcacard pays it).
// Prints figures; asserts only that every signature was made. VSCARD_BENCH_FULL=1: more runs.
#include "pcsc_rig.h"
#include "vscard/cacard/nss_card_keys.h"

#include <QElapsedTimer>
#include <QtTest>

#include <cstdio>

using namespace vscard;
using namespace vscard::cacard;

class BenchCacSignature : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void signature_keptKeyVersusLoginEachTime();
};

void BenchCacSignature::signature_keptKeyVersusLoginEachTime()
{
    QTemporaryDir work;
    const QString problem = test::makeTestDatabase(work.filePath("db"), "12345678");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    auto database = NssDatabase::open("sql:" + work.filePath("db").toStdString());
    QVERIFY(database.ok());
    auto keys = NssCardKeys::open(*database, {"cert1"});
    QVERIFY(keys.ok());
    Bytes block(256, 0xFF);
    block[0] = 0x00;
    block[1] = 0x01;
    block[200] = 0x00;

    const bool full = qEnvironmentVariableIntValue("VSCARD_BENCH_FULL") != 0;
    const int runs = full ? 200 : 10;
    QElapsedTimer timer;

    QCOMPARE((*keys)->login("12345678"), PinCheck::Accepted);
    timer.start();
    for (int i = 0; i < runs; ++i)
        QVERIFY((*keys)->rsaPrivate(0, block).ok());
    const double kept = static_cast<double>(timer.nsecsElapsed()) / 1e6 / runs;
    (*keys)->logout();

    timer.restart();
    for (int i = 0; i < runs; ++i) {
        QCOMPARE((*keys)->login("12345678"), PinCheck::Accepted);
        QVERIFY((*keys)->rsaPrivate(0, block).ok());
        (*keys)->logout();
    }
    const double perLogin = static_cast<double>(timer.nsecsElapsed()) / 1e6 / runs;

    std::printf("RSA-2048 signature on an NSS sql: database, %d runs (%s mode)\n", runs,
                full ? "full" : "smoke");
    std::printf("%-36s %10s %12s\n", "", "ms/sig", "vs kept key");
    std::printf("%-36s %10.2f %11.2fx\n", "key kept for the session (ours)", kept, 1.0);
    std::printf("%-36s %10.2f %11.2fx\n", "login for each signature", perLogin, perLogin / kept);
}

QTEST_GUILESS_MAIN(BenchCacSignature)
#include "bench_cac_signature.moc"
