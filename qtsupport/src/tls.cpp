#include "vscard/qt/tls.h"

#include <QCryptographicHash>
#include <QFile>
#include <QSslCertificate>
#include <QSslKey>

namespace vscard::tls {

namespace {

Result<QList<QSslCertificate>, QString> readCertificates(const QString& path, const char* what)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("%1 %2: %3").arg(what, path, file.errorString()));
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(file.readAll());
    if (certificates.isEmpty())
        return fail(QStringLiteral("%1 %2: no PEM certificate in it").arg(what, path));
    return certificates;
}

Result<QSslKey, QString> readKey(const QString& path, const QSslCertificate& certificate)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("--tls-key %1: %2").arg(path, file.errorString()));
    const QByteArray pem = file.readAll();
    const QSsl::KeyAlgorithm algorithm = certificate.publicKey().algorithm();
    QSslKey key(pem, algorithm, QSsl::Pem, QSsl::PrivateKey);
    if (key.isNull())
        return fail(QStringLiteral("--tls-key %1: no unencrypted PEM private key of the "
                                   "certificate's kind in it")
                        .arg(path));
    return key;
}

// Our side's certificate chain (--tls-cert) and its key (--tls-key); an empty string or
// what is wrong with them.
QString setIdentity(QSslConfiguration& configuration, const QString& certificate,
                    const QString& keyFile)
{
    auto chain = readCertificates(certificate, "--tls-cert");
    if (!chain)
        return chain.error();
    auto key = readKey(keyFile, chain->first());
    if (!key)
        return key.error();
    configuration.setLocalCertificateChain(*chain);
    configuration.setPrivateKey(*key);
    return {};
}

QSsl::SslProtocol protocolOf(MinimumVersion minimum)
{
    return minimum == MinimumVersion::Tls13 ? QSsl::TlsV1_3OrLater : QSsl::TlsV1_2OrLater;
}

QString names(const QSslCertificate& certificate)
{
    QStringList all = certificate.subjectInfo(QSslCertificate::CommonName);
    const auto alternatives = certificate.subjectAlternativeNames();
    for (auto it = alternatives.begin(); it != alternatives.end(); ++it)
        if (!all.contains(it.value()))
            all << it.value();
    return all.isEmpty() ? QStringLiteral("no name") : all.join(", ");
}

} // namespace

QCommandLineOption keyOption()
{
    return QCommandLineOption("tls-key", "The private key of --tls-cert (PEM, unencrypted).",
                              "FILE");
}

QCommandLineOption minimumVersionOption()
{
    return QCommandLineOption("tls-min-version",
                              "The oldest TLS version accepted: 1.3 (the default) or 1.2.",
                              "VERSION", "1.3");
}

Result<MinimumVersion, QString> parseMinimumVersion(const QString& text)
{
    if (text == QLatin1String("1.3"))
        return MinimumVersion::Tls13;
    if (text == QLatin1String("1.2"))
        return MinimumVersion::Tls12;
    return fail(
        QStringLiteral("--tls-min-version %1: expected 1.3 (the default) or 1.2").arg(text));
}

Result<QSslConfiguration, QString> serverConfiguration(const ServerSettings& settings)
{
    if (settings.certificate.isEmpty() || settings.key.isEmpty())
        return fail(QStringLiteral("a tls: endpoint needs --tls-cert and --tls-key"));
    if (settings.clientCa.isEmpty() && !settings.anonymousClients)
        return fail(QStringLiteral("a tls: endpoint needs --tls-client-ca (clients prove who "
                                   "they are with certificates), or "
                                   "--tls-anonymous-clients to accept any client"));
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setProtocol(protocolOf(settings.minimum));
    if (const QString problem = setIdentity(configuration, settings.certificate, settings.key);
        !problem.isEmpty())
        return fail(problem);
    if (!settings.clientCa.isEmpty()) {
        auto cas = readCertificates(settings.clientCa, "--tls-client-ca");
        if (!cas)
            return fail(cas.error());
        configuration.setCaCertificates(*cas);
    }
    configuration.setPeerVerifyMode(settings.anonymousClients ? QSslSocket::QueryPeer
                                                              : QSslSocket::VerifyPeer);
    return configuration;
}

Result<QSslConfiguration, QString> clientConfiguration(const ClientSettings& settings)
{
    if (settings.ca.isEmpty() == settings.pin.isEmpty())
        return fail(QStringLiteral("a tls: host needs exactly one of --tls-ca FILE (the CAs "
                                   "that sign its certificate) and --tls-pin SHA256"));
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setProtocol(protocolOf(settings.minimum));
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    if (!settings.ca.isEmpty()) {
        auto cas = readCertificates(settings.ca, "--tls-ca");
        if (!cas)
            return fail(cas.error());
        configuration.setCaCertificates(*cas);
    } else {
        // Only the pin decides: no system CA is trusted on top of it.
        configuration.setCaCertificates({});
        const QString hex = QString(settings.pin).remove(':').toLower();
        if (hex.size() != 64 || QByteArray::fromHex(hex.toLatin1()).size() != 32)
            return fail(QStringLiteral("--tls-pin %1: expected the 64 hex digits of a SHA-256 "
                                       "fingerprint")
                            .arg(settings.pin));
    }
    if (settings.certificate.isEmpty() != settings.key.isEmpty())
        return fail(QStringLiteral("--tls-cert and --tls-key go together"));
    if (!settings.certificate.isEmpty())
        if (const QString problem = setIdentity(configuration, settings.certificate, settings.key);
            !problem.isEmpty())
            return fail(problem);
    return configuration;
}

QString fingerprint(const QSslCertificate& certificate)
{
    const QByteArray digest = certificate.digest(QCryptographicHash::Sha256).toHex();
    QStringList pairs;
    for (qsizetype i = 0; i + 1 < digest.size(); i += 2)
        pairs << QString::fromLatin1(digest.mid(i, 2));
    return pairs.join(':');
}

bool pinMatches(const QString& pin, const QSslCertificate& certificate)
{
    return QString(pin).remove(':').toLower() ==
           QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex());
}

QString describe(const QList<QSslError>& errors, const QString& whose)
{
    QStringList words;
    for (const QSslError& error : errors) {
        const QSslCertificate certificate = error.certificate();
        switch (error.error()) {
        case QSslError::CertificateExpired:
            words << QStringLiteral("%1 certificate expired on %2")
                         .arg(whose, certificate.expiryDate().toString(Qt::ISODate));
            break;
        case QSslError::CertificateNotYetValid:
            words << QStringLiteral("%1 certificate is valid only from %2")
                         .arg(whose, certificate.effectiveDate().toString(Qt::ISODate));
            break;
        case QSslError::HostNameMismatch:
            words << QStringLiteral("%1 certificate is for %2, not for the name connected to")
                         .arg(whose, names(certificate));
            break;
        case QSslError::SelfSignedCertificate:
        case QSslError::SelfSignedCertificateInChain:
        case QSslError::UnableToGetLocalIssuerCertificate:
        case QSslError::UnableToGetIssuerCertificate:
        case QSslError::UnableToVerifyFirstCertificate:
        case QSslError::CertificateUntrusted:
            words << QStringLiteral("%1 certificate (%2) is not signed by a trusted CA")
                         .arg(whose, certificate.isNull() ? QStringLiteral("?")
                                                          : certificate.subjectDisplayName());
            break;
        case QSslError::NoPeerCertificate:
            words << QStringLiteral("%1 side sent no certificate").arg(whose);
            break;
        default:
            words << QStringLiteral("%1 certificate: %2").arg(whose, error.errorString());
            break;
        }
    }
    words.removeDuplicates();
    return words.join("; ");
}

} // namespace vscard::tls
