// ECDSA P-256 and RSA-2048 signatures per second of the emulated PIV card through the whole
// stack (OpenSC's PKCS#11 module, a private pcscd, our driver, server-ccid's PIV card with keys
// generated on it), against the floor: NSS signing with a key of the same kind in one process.
// Beside bench_signatures (the CAC's). The configurations take turns, round after round, so
// that the machine's noise falls on all of them alike; the figures are medians. Asserts only
// that every run completed.
#include "bench_report.h"
#include "pcsc_rig.h"
#include "sign_round.h"

#include <QtTest>

#include <vector>

class BenchPivSignatures : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void signatures_stackAgainstNssFloor();
};

void BenchPivSignatures::signatures_stackAgainstNssFloor()
{
    const bool full = vscard::bench::fullRun();
    const int rounds = full ? 5 : 2;
    const int count = full ? 100 : 10;
    QTemporaryDir work;
    vscard::test::PcscRig rig;
    rig.pcscdDebug = false;
    rig.serverTrace.clear();
    rig.extraServerArguments = {"--card",
                                QStringLiteral("emulated:use_hw=no soft=(,Bench PIV,PIV,state=%1)")
                                    .arg(work.filePath("piv"))};
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(rig.waitForCard("vscard 00 00", true));
    // Keys generated on the card: P-256 in 9A, RSA-2048 in 9E (PIN policy "never", so no
    // VERIFY rides along; OpenSC logs in once per process either way). OpenSC shows a key
    // only with a certificate: a throwaway CA issues them.
    const auto provisioned = rig.run(
        "sh",
        {"-c",
         QStringLiteral(
             "set -e; cd %1; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout ca.key -out ca.pem -subj /CN=ca -days 1 2>/dev/null; "
             "for pair in 9a:ECCP256 9e:RSA2048; do slot=${pair%%:*}; "
             "yubico-piv-tool -r vscard -a generate -s $slot -A ${pair#*:} -o $slot.pub; "
             "openssl x509 -new -force_pubkey $slot.pub -subj /CN=$slot -CA ca.pem -CAkey ca.key "
             "-days 1 -out $slot.crt; "
             "yubico-piv-tool -r vscard -a import-certificate -s $slot -i $slot.crt; done")
             .arg(work.path())},
        120000);
    QVERIFY2(provisioned.exitCode == 0, qPrintable(provisioned.output));

    const QString n = QString::number(count);
    vscard::bench::SignRun ecdsaFloor{
        "ECDSA P-256, NSS in-process (floor)", {"nss-generated", "ecdsa", n}, {}, {}, {}, {}};
    vscard::bench::SignRun ecdsaStack{"ECDSA P-256, PKCS#11 > pcscd > PIV card",
                                      {"pkcs11", VSCARD_OPENSC_PKCS11, "123456", n, "ecdsa", "01"},
                                      rig.pcscdSocket(),
                                      {},
                                      {},
                                      {}};
    vscard::bench::SignRun rsaFloor{
        "RSA-2048, NSS in-process (floor)", {"nss-generated", "rsa", n}, {}, {}, {}, {}};
    vscard::bench::SignRun rsaStack{"RSA-2048, PKCS#11 > pcscd > PIV card",
                                    {"pkcs11", VSCARD_OPENSC_PKCS11, "123456", n, "rsa", "04"},
                                    rig.pcscdSocket(),
                                    {},
                                    {},
                                    {}};
    const std::vector<vscard::bench::SignRun*> runs{&ecdsaFloor, &ecdsaStack, &rsaFloor, &rsaStack};
    for (int round = 0; round < rounds; ++round)
        for (vscard::bench::SignRun* run : runs)
            QVERIFY(vscard::bench::signRound(VSCARD_BENCH_SIGN, *run));

    vscard::bench::Report report("piv_signatures");
    std::printf("\nPIV card signatures (keys generated on the card), %d interleaved rounds of %d\n",
                rounds, count);
    std::printf("  %-42s %10s %10s %10s %10s\n", "configuration", "sig/s", "p50 ms", "p99 ms",
                "cost");
    for (const auto& [floor, stack] :
         {std::pair{&ecdsaFloor, &ecdsaStack}, std::pair{&rsaFloor, &rsaStack}}) {
        const double floorRate = vscard::bench::median(floor->perSecond);
        for (const vscard::bench::SignRun* run : {floor, stack}) {
            const double rate = vscard::bench::median(run->perSecond);
            std::printf("  %-42s %10.1f %10.2f %10.2f %9.2fx\n", qPrintable(run->name), rate,
                        vscard::bench::median(run->p50) / 1000,
                        vscard::bench::median(run->p99) / 1000, floorRate / rate);
            QJsonArray rates;
            for (double value : run->perSecond)
                rates.append(value);
            report.add(run->name, QJsonObject{{"per_s", rate},
                                              {"per_s_by_round", rates},
                                              {"p50_us", vscard::bench::median(run->p50)},
                                              {"p99_us", vscard::bench::median(run->p99)}});
        }
    }
    report.note("cost: the floor's signatures per second over the configuration's; OpenSC's PIV "
                "driver sends one GENERAL AUTHENTICATE per signature, plus a GET RESPONSE for "
                "RSA-2048's 264-byte answer");
    std::printf("  results: %s\n", qPrintable(report.write()));
}

QTEST_GUILESS_MAIN(BenchPivSignatures)
#include "bench_piv_signatures.moc"
