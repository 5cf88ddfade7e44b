// VSCard over TLS on loopback, the real server-ccid and vscclient, with a PKI made at test
// time by openssl (tests/support/make-test-pki): mutual TLS accepted; every way a handshake
// can fail refused with words on both sides (no client certificate, a client certificate of
// another CA or expired, the wrong host name, an untrusted, expired or wrongly pinned server
// certificate, a plaintext client, a TLS 1.2 client, connections that never finish a
// handshake); nothing a refused client sent reaches the server's registry, and a connected
// client is not disturbed.
#include "hex_bytes.h"
#include "test_pki.h"
#include "vscard/vscard_wire.h"

#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSslKey>
#include <QSslSocket>
#include <QTcpSocket>
#include <QtTest>

using namespace vscard;
using vscard::test::fromHex;

namespace {

const QByteArray kClientInit =
    QByteArray::fromHex("00000001000000000000000C565343440000000200000000");
const QByteArray kFlush = QByteArray::fromHex("000000080000000000000000");
const QByteArray kFlushComplete = QByteArray::fromHex("000000090000000000000000");

} // namespace

class TestTls : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void mutualTls_trustedClient_addsReader();
    void pin_rightFingerprint_connects();
    void refused_data();
    void refused();
    void expiredServerCertificate_refusedByClient();
    void plaintextClient_refusedNothingReachesRegistry();
    void tls12Client_refusedAsDowngrade();
    void refusals_connectedClientUndisturbed();
    void silentConnections_droppedAfterHandshakeDeadline();

private:
    QString pki(const char* name) const { return pki_.filePath(name); }
    // A server-ccid with a tls: listener on a free port; returns the port, 0 on failure.
    quint16 startServer(QProcess& server, const QString& certificate, const QString& key);
    QString serverLog() { return QString::fromUtf8(log_ += server_.readAll()); }
    // vscclient adding a reader over tls: with ARGUMENTS; its exit code and output.
    int runClient(const QStringList& arguments, QString* output);
    QSslSocket* goodRawClient();
    // vscclient's arguments as alice, to localhost:PORT, trusting the test CA.
    QStringList trustedClient(quint16 port) const
    {
        return {"--connect",  QStringLiteral("tls:localhost:%1").arg(port),
                "--tls-ca",   pki("ca.pem"),
                "--tls-cert", pki("client.pem"),
                "--tls-key",  pki("client.key")};
    }

    QTemporaryDir pki_;
    QTemporaryDir work_;
    QProcess server_;
    QByteArray log_;
    quint16 port_ = 0;
    QString fingerprint_;
};

quint16 TestTls::startServer(QProcess& server, const QString& certificate, const QString& key)
{
    server.setProcessChannelMode(QProcess::MergedChannels);
    server.start(VSCARD_SERVER_BIN,
                 {"--config", "", "--listen", "tls:127.0.0.1:0", "--tls-cert", certificate,
                  "--tls-key", key, "--tls-client-ca", pki("ca.pem")});
    QByteArray output;
    static const QRegularExpression listening("accepting VSCard clients on tls:127.0.0.1:(\\d+)");
    QDeadlineTimer deadline(15000);
    while (!deadline.hasExpired() && server.waitForReadyRead(500)) {
        output += server.readAll();
        const auto match = listening.match(QString::fromUtf8(output));
        if (match.hasMatch()) {
            if (&server == &server_)
                log_ += output;
            return static_cast<quint16>(match.captured(1).toUInt());
        }
    }
    qWarning().noquote() << output;
    return 0;
}

void TestTls::initTestCase()
{
    const QString problem = vscard::test::makeTestPki(pki_.path());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    port_ = startServer(server_, pki("server.pem"), pki("server.key"));
    QVERIFY(port_ != 0);
    fingerprint_ = vscard::test::sha256Fingerprint(pki("server.pem"));
    QCOMPARE(fingerprint_.size(), 95);
}

void TestTls::cleanupTestCase()
{
    server_.kill();
    server_.waitForFinished(5000);
}

int TestTls::runClient(const QStringList& arguments, QString* output)
{
    QFile script(work_.filePath("add-reader.vsc"));
    if (!script.exists() && script.open(QIODevice::WriteOnly))
        script.write("add-reader Remote\n");
    script.close();
    QProcess client;
    client.setProcessChannelMode(QProcess::MergedChannels);
    client.start(VSCARD_CLIENT_BIN, QStringList{"--config", "", "--no-reconnect", "--timeout", "5s",
                                                "--script", script.fileName()} +
                                        arguments);
    client.waitForFinished(30000);
    *output = QString::fromUtf8(client.readAll());
    return client.exitStatus() == QProcess::NormalExit ? client.exitCode() : -1;
}

void TestTls::mutualTls_trustedClient_addsReader()
{
    QString output;
    const int exit = runClient(trustedClient(port_), &output);
    QVERIFY2(exit == 0, qPrintable(output));
    QVERIFY2(output.contains("server certificate localhost sha256 " + fingerprint_.toLower()),
             qPrintable(output));
    QTRY_VERIFY2(serverLog().contains("TLS 1.3 certificate \"alice\" sha256"),
                 qPrintable(serverLog()));
    QTRY_VERIFY(serverLog().contains("added reader 0 \"Remote\""));
}

void TestTls::pin_rightFingerprint_connects()
{
    // A pin replaces the CA and the name: 127.0.0.1 is not in the certificate.
    QString output;
    const int exit =
        runClient({"--connect", QStringLiteral("tls:127.0.0.1:%1").arg(port_), "--tls-pin",
                   fingerprint_, "--tls-cert", pki("client.pem"), "--tls-key", pki("client.key")},
                  &output);
    QVERIFY2(exit == 0, qPrintable(output));
}

void TestTls::refused_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("clientSays");
    QTest::addColumn<QString>("serverSays");
    const QString local = "tls:localhost:%1";
    QTest::newRow("no client certificate")
        << QStringList{"--connect", local, "--tls-ca", pki("ca.pem")}
        << "it requires a client certificate (--tls-cert, --tls-key)"
        << "TLS handshake failed: its side sent no certificate";
    QTest::newRow("client certificate of another CA")
        << QStringList{"--connect",  local,
                       "--tls-ca",   pki("ca.pem"),
                       "--tls-cert", pki("client-other.pem"),
                       "--tls-key",  pki("client-other.key")}
        << "it did not accept our certificate"
        << "TLS handshake failed: its certificate (mallory) is not signed by a trusted CA";
    QTest::newRow("expired client certificate")
        << QStringList{"--connect",  local,
                       "--tls-ca",   pki("ca.pem"),
                       "--tls-cert", pki("client-expired.pem"),
                       "--tls-key",  pki("client-expired.key")}
        << "it did not accept our certificate"
        << "TLS handshake failed: its certificate expired on 2021-02-01T00:00:00Z";
    QTest::newRow("wrong host name")
        << QStringList{"--connect",  "tls:127.0.0.1:%1", "--tls-ca",  pki("ca.pem"),
                       "--tls-cert", pki("client.pem"),  "--tls-key", pki("client.key")}
        << "the server's certificate is for localhost, not for the name connected to"
        << "it closed the connection during the handshake";
    QTest::newRow("server of an untrusted CA")
        << QStringList{"--connect",  local,
                       "--tls-ca",   pki("other-ca.pem"),
                       "--tls-cert", pki("client.pem"),
                       "--tls-key",  pki("client.key")}
        << "the server's certificate (vscard test ca) is not signed by a trusted CA"
        << "it closed the connection during the handshake";
    QTest::newRow("wrong pin") << QStringList{"--connect",  local,
                                              "--tls-pin",  QString(64, '0'),
                                              "--tls-cert", pki("client.pem"),
                                              "--tls-key",  pki("client.key")}
                               << "not the pinned 0000"
                               << "it closed the connection during the handshake";
}

void TestTls::refused()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, clientSays);
    QFETCH(QString, serverSays);
    arguments[1] = arguments[1].arg(port_);
    const qsizetype logBefore = serverLog().size();
    QString output;
    const int exit = runClient(arguments, &output);
    QVERIFY2(exit != 0, qPrintable(output));
    QVERIFY2(output.contains(clientSays), qPrintable(output));
    QTRY_VERIFY2(serverLog().mid(logBefore).contains(serverSays),
                 qPrintable(serverLog().mid(logBefore)));
    // Nothing of the refused connection went further than the handshake.
    const QString after = serverLog().mid(logBefore);
    const auto refusal = QRegularExpression("client (tls:127.0.0.1:\\d+) refused, TLS handshake "
                                            "failed: ")
                             .match(after);
    QVERIFY2(refusal.hasMatch(), qPrintable(after));
    QTest::qWait(200);
    const QString peer = refusal.captured(1);
    QVERIFY2(!serverLog().contains("client " + peer + " connected"), qPrintable(serverLog()));
    QVERIFY2(!serverLog().contains("client " + peer + " added reader"), qPrintable(serverLog()));
}

void TestTls::expiredServerCertificate_refusedByClient()
{
    QProcess expired;
    const quint16 port = startServer(expired, pki("server-expired.pem"), pki("server-expired.key"));
    QVERIFY(port != 0);
    QString output;
    const int exit = runClient(trustedClient(port), &output);
    expired.kill();
    expired.waitForFinished(5000);
    QVERIFY2(exit != 0, qPrintable(output));
    QVERIFY2(output.contains("TLS handshake failed: the server's certificate expired on "
                             "2021-02-01T00:00:00Z"),
             qPrintable(output));
}

void TestTls::plaintextClient_refusedNothingReachesRegistry()
{
    const qsizetype logBefore = serverLog().size();
    QTcpSocket plain;
    plain.connectToHost(QHostAddress::LocalHost, port_);
    QVERIFY(plain.waitForConnected(5000));
    plain.write(kClientInit + QByteArray::fromHex("000000030000000000000001") + "X");
    QVERIFY(plain.waitForBytesWritten(5000));
    QTRY_VERIFY(plain.state() == QAbstractSocket::UnconnectedState ||
                !plain.waitForReadyRead(100) || plain.readAll().isEmpty());
    QTRY_VERIFY2(serverLog().mid(logBefore).contains("it does not speak TLS (a plaintext client?)"),
                 qPrintable(serverLog().mid(logBefore)));
    QVERIFY(!serverLog().mid(logBefore).contains("added reader"));
}

void TestTls::tls12Client_refusedAsDowngrade()
{
    const qsizetype logBefore = serverLog().size();
    QSslSocket old;
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setProtocol(QSsl::TlsV1_2); // what a downgrade would leave
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    old.setSslConfiguration(configuration);
    old.connectToHostEncrypted("localhost", port_);
    QVERIFY(!old.waitForEncrypted(10000));
    QTRY_VERIFY2(
        serverLog().mid(logBefore).contains("it offers only TLS versions below the minimum"),
        qPrintable(serverLog().mid(logBefore)));
}

QSslSocket* TestTls::goodRawClient()
{
    auto* socket = new QSslSocket(this);
    socket->setSslConfiguration(vscard::test::clientTlsConfiguration(pki_.path(), "client"));
    socket->connectToHostEncrypted("localhost", port_);
    socket->waitForEncrypted(10000);
    return socket;
}

void TestTls::refusals_connectedClientUndisturbed()
{
    QSslSocket* good = goodRawClient();
    QVERIFY2(good->isEncrypted(), qPrintable(good->errorString()));
    good->write(kClientInit);
    QVERIFY(good->waitForReadyRead(10000));
    QCOMPARE(good->read(4), QByteArray::fromHex("00000001"));
    good->readAll();
    // Every kind of refusal again, while it stays connected.
    QString output;
    runClient(
        {"--connect", QStringLiteral("tls:localhost:%1").arg(port_), "--tls-ca", pki("ca.pem")},
        &output);
    runClient({"--connect", QStringLiteral("tls:localhost:%1").arg(port_), "--tls-ca",
               pki("ca.pem"), "--tls-cert", pki("client-other.pem"), "--tls-key",
               pki("client-other.key")},
              &output);
    QTcpSocket plain;
    plain.connectToHost(QHostAddress::LocalHost, port_);
    plain.write(kClientInit);
    plain.waitForBytesWritten(5000);
    good->write(kFlush);
    QVERIFY(good->waitForReadyRead(10000));
    QCOMPARE(good->readAll(), kFlushComplete);
    delete good;
}

void TestTls::silentConnections_droppedAfterHandshakeDeadline()
{
    // A slowloris: connections that never start a handshake, and one that stops half way.
    const qsizetype logBefore = serverLog().size();
    std::vector<std::unique_ptr<QTcpSocket>> silent;
    for (int i = 0; i < 5; ++i) {
        silent.push_back(std::make_unique<QTcpSocket>());
        silent.back()->connectToHost(QHostAddress::LocalHost, port_);
        QVERIFY(silent.back()->waitForConnected(5000));
    }
    QTcpSocket halfway;
    halfway.connectToHost(QHostAddress::LocalHost, port_);
    QVERIFY(halfway.waitForConnected(5000));
    halfway.write(QByteArray::fromHex("1603010200")); // a ClientHello's record header, no body
    QVERIFY(halfway.waitForBytesWritten(5000));
    // The server's deadline is 10 s; each connection is closed and named then.
    QTRY_VERIFY_WITH_TIMEOUT(serverLog().mid(logBefore).count(
                                 "refused, TLS handshake failed: it sent nothing for 10 s") == 5,
                             20000);
    QTRY_VERIFY_WITH_TIMEOUT(serverLog().mid(logBefore).contains("no handshake within 10 s"),
                             20000);
    for (auto& socket : silent)
        QTRY_VERIFY(socket->state() == QAbstractSocket::UnconnectedState);
    // And a proper client still gets in.
    QString output;
    const int exit = runClient(trustedClient(port_), &output);
    QVERIFY2(exit == 0, qPrintable(output));
}

QTEST_GUILESS_MAIN(TestTls)
#include "tst_tls.moc"
