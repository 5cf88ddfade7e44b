// server-ccid's serial CCID link driven by the stock libccid serial driver (libccidtwin.so)
// inside a private pcscd: the reference CCID host implementation judges the device model at
// TPDU level (T=0 TPDUs, T=1 blocks, PPS). The acceptance matrix: {GemPCTwin, GemCorePOSPro}
// x {CAC ATR (T=0, TA1 18), T=1-only ATR, dual-protocol ATR}.
#include "pcsc_rig.h"

#include <QtTest>

using vscard::test::colonAtr;
using vscard::test::kCacAtr;
using vscard::test::kDualAtr;
using vscard::test::kT1OnlyAtr;
using vscard::test::PcscRig;
using vscard::test::receivedBytes;
using vscard::test::waitReady;

class TestSerialSystem : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void libccid_acceptanceMatrix_atrAndApdusByteExact_data();
    void libccid_acceptanceMatrix_atrAndApdusByteExact();
    void gemCorePosPro_fiveSlots_eachReaderInItsSlot();
    void libccid_cardRemoved_seenThroughPolling();
};

void TestSerialSystem::libccid_acceptanceMatrix_atrAndApdusByteExact_data()
{
    QTest::addColumn<QString>("profile");
    QTest::addColumn<QString>("atr");
    QTest::addColumn<QString>("case4Answer"); // T=0 drops Le, so the card answers all of it
    for (const QString profile : {"GemPCTwin", "GemCorePOSPro"}) {
        QTest::addRow("%s, CAC (T=0, TA1 18)", qPrintable(profile))
            << profile << kCacAtr << "11 22 33";
        QTest::addRow("%s, T=1 only", qPrintable(profile)) << profile << kT1OnlyAtr << "11 22";
        QTest::addRow("%s, dual (PPS to TA1 96, T=1)", qPrintable(profile))
            << profile << kDualAtr << "11 22";
    }
}

void TestSerialSystem::libccid_acceptanceMatrix_atrAndApdusByteExact()
{
    QFETCH(QString, profile);
    QFETCH(QString, atr);
    QFETCH(QString, case4Answer);
    PcscRig rig(1, {profile});
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--reader", "card=" + atr})));
    const QString reader = profile + " 00 00";
    QVERIFY2(rig.waitForCard(reader, true), qPrintable(rig.opensc({"-l"}).output + rig.pcscdLog()));
    QCOMPARE(rig.opensc({"-r", reader, "-a"}).output.trimmed(), colonAtr(atr));
    // 250 data bytes: a T=1 command and response chained over several blocks at IFSC/IFSD.
    QStringList data;
    for (int i = 0; i < 250; ++i)
        data << QString::asprintf("%02X", i);
    const auto result = rig.opensc({"-r", reader, "-s", "00 A4 04 00 02 3F 00 00", "-s",
                                    "00 B0 00 00 10", "-s", "80 CA 01 02 03 11 22 33 02", "-s",
                                    "00 DA 01 02 FA " + data.join(' ') + " 00"});
    QVERIFY2(result.exitCode == 0, qPrintable(result.output + rig.serverLog().right(3000)));
    QCOMPARE(receivedBytes(result.output, 0), QString("3F 00"));
    QCOMPARE(receivedBytes(result.output, 1),
             QString("B0 B1 B2 B3 B4 B5 B6 B7 B8 B9 BA BB BC BD BE BF"));
    QCOMPARE(receivedBytes(result.output, 2), case4Answer);
    QCOMPARE(receivedBytes(result.output, 3), data.join(' '));
}

void TestSerialSystem::gemCorePosPro_fiveSlots_eachReaderInItsSlot()
{
    PcscRig rig(1, {"GemCorePOSPro"});
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient(
        {"--reader", "a=" + kCacAtr, "--reader", "b=" + kT1OnlyAtr, "--reader", "c=" + kDualAtr})));
    const QString atrs[] = {kCacAtr, kT1OnlyAtr, kDualAtr};
    for (int slot = 0; slot < 3; ++slot) {
        const QString reader = QStringLiteral("GemCorePOSPro 00 %1").arg(slot, 2, 10, QChar('0'));
        QVERIFY2(rig.waitForCard(reader, true), qPrintable(rig.opensc({"-l"}).output));
        QCOMPARE(rig.opensc({"-r", reader, "-a"}).output.trimmed(), colonAtr(atrs[slot]));
    }
    QVERIFY(rig.waitForCard("GemCorePOSPro 00 03", false));
    QVERIFY(rig.waitForCard("GemCorePOSPro 00 04", false));
}

void TestSerialSystem::libccid_cardRemoved_seenThroughPolling()
{
    PcscRig rig(1, {"GemPCTwin"});
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = rig.startClient({"--reader", "card=" + kCacAtr});
    QVERIFY(waitReady(client));
    QVERIFY(rig.waitForCard("GemPCTwin 00 00", true));
    client->write("remove 0\n");
    QVERIFY(rig.waitForCard("GemPCTwin 00 00", false));
    client->write("insert 0\n");
    QVERIFY(rig.waitForCard("GemPCTwin 00 00", true));
    QCOMPARE(receivedBytes(rig.opensc({"-r", "GemPCTwin 00 00", "-s", "00 B0 00 00 02"}).output),
             QString("B0 B1"));
}

QTEST_GUILESS_MAIN(TestSerialSystem)
#include "tst_serial_system.moc"
