// TLS for VSCard connections (issue 11): each side's settings from PEM files, the Qt
// configuration they make, and plain words for every way a handshake can fail. TLS 1.3 only
// unless told otherwise; the client verifies the server by CA or by a pinned certificate
// fingerprint; the server asks for client certificates and refuses clients without one
// unless told otherwise.
#pragma once

#include "vscard/result.h"

#include <QCommandLineOption>
#include <QList>
#include <QSslConfiguration>
#include <QSslError>
#include <QString>

namespace vscard::tls {

enum class MinimumVersion { Tls12, Tls13 };

struct ServerSettings {
    QString certificate;           // PEM: the server's certificate, then its chain
    QString key;                   // PEM: its private key (unencrypted)
    QString clientCa;              // PEM: the CAs that sign client certificates
    bool anonymousClients = false; // accept clients without a certificate
    MinimumVersion minimum = MinimumVersion::Tls13;
};

struct ClientSettings {
    QString ca;          // PEM: the CAs that sign the server's certificate
    QString pin;         // or the SHA-256 of the server's certificate, hex
    QString certificate; // PEM: ours, for mutual TLS
    QString key;
    MinimumVersion minimum = MinimumVersion::Tls13;
};

// The options both programs offer in the same words: --tls-key, --tls-min-version.
QCommandLineOption keyOption();
QCommandLineOption minimumVersionOption();
Result<MinimumVersion, QString> parseMinimumVersion(const QString& text); // "1.2" or "1.3"

Result<QSslConfiguration, QString> serverConfiguration(const ServerSettings& settings);
Result<QSslConfiguration, QString> clientConfiguration(const ClientSettings& settings);

// "ab:cd:..." (lower case): the SHA-256 of a certificate's DER form, as `openssl x509
// -fingerprint -sha256` prints it, but lower case. Pins compare without colons and case.
QString fingerprint(const QSslCertificate& certificate);
bool pinMatches(const QString& pin, const QSslCertificate& certificate);

// What went wrong in words: WHOSE is "the server's" or "client tcp:1.2.3.4:5's".
QString describe(const QList<QSslError>& errors, const QString& whose);

} // namespace vscard::tls
