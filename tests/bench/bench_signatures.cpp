// RSA-2048 signatures per second through the whole stack (OpenSC's PKCS#11 module, a private
// pcscd, our driver, server-ccid's emulated CAC) against the floor: NSS signing with the same
// key in one process that logs in once and keeps the key handle, on the same password-protected
// database. libcacard 2.8 behind the same stack (tests/reference's VSCard client on Debian's
// libcacard) shows what a password derivation per signature costs. Issue 9's goal: the stack at
// most 1.2x the floor's cost. That floor pays NSS's decryption of the stored key (a password
// derivation) on every signature, as libcacard does; a second row copies the key into a
// session object once, as our card does, leaving the RSA computation alone: the stack is
// also compared with that. Asserts only that every run completed.
#include "bench_report.h"
#include "pcsc_rig.h"
#include "sign_round.h"

#include <QtTest>

#include <vector>

namespace {

const QString kPin = "12345678";

} // namespace

class BenchSignatures : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void signatures_stackAgainstNssFloor();
};

// The configurations take turns, round after round, so that the machine's noise falls on all
// of them alike.
void BenchSignatures::signatures_stackAgainstNssFloor()
{
    const bool full = vscard::bench::fullRun();
    const int rounds = full ? 5 : 2;
    const int count = full ? 60 : 10;    // per round
    const int slowCount = full ? 12 : 3; // a password derivation per signature
    QTemporaryDir work;
    const QString database = work.filePath("db");
    QVERIFY(vscard::test::makeTestDatabase(database, kPin).isEmpty());
    const QString options =
        QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Bench,CAC,,cert1)").arg(database);

    vscard::test::PcscRig ours;
    ours.pcscdDebug = false;
    ours.serverTrace.clear();
    ours.extraServerArguments = {"--card", "emulated:" + options};
    QVERIFY2(ours.start(), qPrintable(ours.error()));
    vscard::test::PcscRig reference;
    reference.pcscdDebug = false;
    reference.serverTrace.clear();
    QVERIFY2(reference.start(), qPrintable(reference.error()));
    QVERIFY(reference.startProgram(VSCARD_LIBCACARD_CLIENT,
                                   {"--connect", reference.clientEndpoint(), "-e", options},
                                   "libcacard-client.log"));
    QVERIFY(reference.waitForCard("vscard 00 00", true));

    vscard::bench::SignRun floor{"NSS in-process, key kept (floor)",
                                 {"nss", database, kPin, QString::number(slowCount)},
                                 {},
                                 {},
                                 {},
                                 {}};
    vscard::bench::SignRun compute{"NSS in-process, session key copy",
                                   {"nss-session", database, kPin, QString::number(count)},
                                   {},
                                   {},
                                   {},
                                   {}};
    vscard::bench::SignRun stack{"PKCS#11 > pcscd > server-ccid card",
                                 {"pkcs11", VSCARD_OPENSC_PKCS11, kPin, QString::number(count)},
                                 ours.pcscdSocket(),
                                 {},
                                 {},
                                 {}};
    vscard::bench::SignRun libcacard{
        "same stack, libcacard 2.8 card",
        {"pkcs11", VSCARD_OPENSC_PKCS11, kPin, QString::number(slowCount)},
        reference.pcscdSocket(),
        {},
        {},
        {}};
    const std::vector<vscard::bench::SignRun*> runs{&floor, &compute, &stack, &libcacard};
    for (int round = 0; round < rounds; ++round)
        for (vscard::bench::SignRun* run : runs)
            QVERIFY(vscard::bench::signRound(VSCARD_BENCH_SIGN, *run));

    vscard::bench::Report report("signatures");
    std::printf("\nRSA-2048 signatures (PKCS#1 v1.5, SHA-256), %d interleaved rounds of %d "
                "(%d where a password derivation comes with each)\n",
                rounds, count, slowCount);
    std::printf("  %-36s %10s %10s %10s %10s\n", "configuration", "sig/s", "p50 ms", "p99 ms",
                "cost");
    const double floorRate = vscard::bench::median(floor.perSecond);
    for (const vscard::bench::SignRun* run : runs) {
        const double rate = vscard::bench::median(run->perSecond);
        std::printf("  %-36s %10.1f %10.2f %10.2f %9.2fx\n", qPrintable(run->name), rate,
                    vscard::bench::median(run->p50) / 1000, vscard::bench::median(run->p99) / 1000,
                    floorRate / rate);
        QJsonArray rates;
        for (double value : run->perSecond)
            rates.append(value);
        report.add(run->name, QJsonObject{{"per_s", rate},
                                          {"per_s_by_round", rates},
                                          {"p50_us", vscard::bench::median(run->p50)},
                                          {"p99_us", vscard::bench::median(run->p99)}});
    }
    const double stackRate = vscard::bench::median(stack.perSecond);
    report.target("(2) cost of a signature through the stack vs the NSS floor",
                  floorRate / stackRate, 1.2, true);
    report.target("(2, stricter) the same against the RSA computation alone",
                  vscard::bench::median(compute.perSecond) / stackRate, 1.2, true);
    report.note("OpenSC's CAC driver sends 5 APDUs per signature (SELECT applet, SELECT file, "
                "two chained parts, GET RESPONSE)");
    std::printf("  results: %s\n", qPrintable(report.write()));
}

QTEST_GUILESS_MAIN(BenchSignatures)
#include "bench_signatures.moc"
