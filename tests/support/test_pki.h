// The throwaway PKI of the TLS tests (tests/support/make-test-pki, which needs the test's
// VSCARD_MAKE_TEST_PKI), and what the tests take from it.
#pragma once

#include <QFile>
#include <QProcess>
#include <QSslConfiguration>
#include <QSslKey>
#include <QString>

namespace vscard::test {

// Makes the PKI in DIR: empty on success, else what went wrong.
inline QString makeTestPki(const QString& dir)
{
    QProcess make;
    make.setProcessChannelMode(QProcess::MergedChannels);
    make.start("sh", {VSCARD_MAKE_TEST_PKI, dir});
    if (!make.waitForFinished(60000))
        return QStringLiteral("make-test-pki did not finish within 60 s");
    return make.exitCode() == 0 ? QString() : QString::fromLocal8Bit(make.readAll());
}

// A certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it
// ("AB:CD:..."); empty if openssl fails.
inline QString sha256Fingerprint(const QString& pem)
{
    QProcess print;
    print.start("openssl", {"x509", "-in", pem, "-noout", "-fingerprint", "-sha256"});
    print.waitForFinished(10000);
    return QString::fromLatin1(print.readAll()).section('=', 1).trimmed();
}

// A TLS client trusting DIR/ca.pem and presenting DIR/NAME.pem with its EC key DIR/NAME.key.
inline QSslConfiguration clientTlsConfiguration(const QString& dir, const QString& name)
{
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    QFile ca(dir + "/ca.pem"), certificate(dir + "/" + name + ".pem"),
        key(dir + "/" + name + ".key");
    if (!ca.open(QIODevice::ReadOnly) || !certificate.open(QIODevice::ReadOnly) ||
        !key.open(QIODevice::ReadOnly))
        return configuration;
    configuration.setCaCertificates(QSslCertificate::fromData(ca.readAll()));
    configuration.setLocalCertificate(QSslCertificate(certificate.readAll()));
    configuration.setPrivateKey(QSslKey(key.readAll(), QSsl::Ec));
    return configuration;
}

} // namespace vscard::test
