// Inside a real guest: QEMU 7.2's CCID reader (usb-ccid on qemu-xhci, ccid-card-passthru) with
// our vscclient on the host, judged by the guest's own unmodified stack (Debian's kernel,
// pcscd, libccid, OpenSC). An emulated CAC is named by opensc-tool, listed by pkcs11-tool and
// signs in the guest; the host verifies the signature with the certificate.
#include "guest_vm.h"
#include "pcsc_rig.h"

#include <QFile>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::GuestVm;

namespace {

const QString kPin = "12345678";

} // namespace

class TestGuestQemu : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void emulatedCac_guestOpenscNamesListsAndSigns();

private:
    QTemporaryDir work_;
    QString database_;
};

void TestGuestQemu::initTestCase()
{
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void TestGuestQemu::emulatedCac_guestOpenscNamesListsAndSigns()
{
    GuestVm guest(
        QStringLiteral("wait-card 60\n"
                       "opensc-tool -n\n"
                       "pkcs11-tool -O\n"
                       "echo 'signed in a QEMU guest' > /tmp/data\n"
                       "pkcs11-tool --login --pin %1 --sign --mechanism SHA256-RSA-PKCS "
                       "--id 0001 -i /tmp/data -o /tmp/signature\n"
                       "echo \"SIGNATURE $(od -An -tx1 -v /tmp/signature | tr -d ' \\n')\"\n")
            .arg(kPin));
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QProcess client;
    client.setProcessChannelMode(QProcess::MergedChannels);
    client.start(VSCARD_VSCCLIENT_BIN,
                 {"-e",
                  QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)")
                      .arg(database_),
                  "127.0.0.1", QString::number(guest.port())});
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
    client.terminate();
    client.waitForFinished(10000);
    const QString output = guest.output();
    QVERIFY2(output.contains("Common Access Card (CAC)"),
             qPrintable(output + QString::fromUtf8(client.readAll())));
    QCOMPARE(output.count("Certificate Object; type = X.509 cert"), 3);
    for (int i = 1; i <= 3; ++i)
        QVERIFY(output.contains(QStringLiteral("CN=vscard test %1").arg(i)));

    const auto signature = QRegularExpression("SIGNATURE ([0-9a-f]+)").match(output);
    QVERIFY2(signature.hasMatch() && signature.captured(1).size() == 512, qPrintable(output));
    QFile file(work_.filePath("guest.sig"));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromHex(signature.captured(1).toLatin1()));
    file.close();
    QFile data(work_.filePath("data"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("signed in a QEMU guest\n");
    data.close();
    QProcess verify;
    verify.setProcessChannelMode(QProcess::MergedChannels);
    verify.start("sh", {"-c", QStringLiteral("certutil -d sql:%1 -L -n cert1 -a | openssl x509 "
                                             "-pubkey -noout > %2.pub && openssl dgst -sha256 "
                                             "-verify %2.pub -signature %2 %3")
                                  .arg(database_, file.fileName(), data.fileName())});
    QVERIFY(verify.waitForFinished(30000));
    QVERIFY2(verify.readAll().contains("Verified OK"), qPrintable(output));
}

QTEST_GUILESS_MAIN(TestGuestQemu)
#include "tst_guest_qemu_system.moc"
