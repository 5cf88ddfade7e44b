// server-ccid's command line: what each option accepts and refuses, and the README showing
// exactly what --help prints.
#include "server_options.h"

#include <QFile>
#include <QtTest>

using vscard::Endpoint;
using vscard::server::CommandLine;
using vscard::server::parseCommandLine;

class TestServerOptions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaults_noArguments_loopbackOnly();
    void listen_repeated_everyEndpointKept();
    void invalid_argument_exitsWithMessage_data();
    void invalid_argument_exitsWithMessage();
    void help_readme_showsTheSameText();
};

void TestServerOptions::defaults_noArguments_loopbackOnly()
{
    const CommandLine line = parseCommandLine({"server-ccid"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(line.options.listen.size(), 1);
    QCOMPARE(line.options.listen[0].toString(), QString("tcp:127.0.0.1:2001"));
    QCOMPARE(line.options.socketMode, 0600);
    QCOMPARE(line.options.maxReaders, 8);
    QVERIFY(!line.options.pcscSocket);
}

void TestServerOptions::listen_repeated_everyEndpointKept()
{
    const CommandLine line = parseCommandLine({"server-ccid", "--listen", "tcp:[::1]:5000",
                                               "--listen", "unix:/run/v.sock", "--socket-mode",
                                               "0660", "--pcsc-socket", "/run/p.sock"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(line.options.listen.size(), 2);
    QCOMPARE(line.options.listen[0].host, QString("::1"));
    QCOMPARE(line.options.listen[0].port, quint16(5000));
    QCOMPARE(line.options.listen[0].toString(), QString("tcp:[::1]:5000"));
    QCOMPARE(line.options.listen[1].kind, Endpoint::Kind::Unix);
    QCOMPARE(line.options.listen[1].path, QString("/run/v.sock"));
    QCOMPARE(line.options.socketMode, 0660);
    QCOMPARE(*line.options.pcscSocket, QString("/run/p.sock"));
}

void TestServerOptions::invalid_argument_exitsWithMessage_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("listen without scheme")
        << QStringList{"--listen", "127.0.0.1:1"} << "expected tcp:HOST:PORT or unix:PATH";
    QTest::newRow("port out of range") << QStringList{"--listen", "tcp:127.0.0.1:70000"}
                                       << "the port must be a number from 0 to 65535";
    QTest::newRow("empty unix path") << QStringList{"--listen", "unix:"} << "needs a socket path";
    QTest::newRow("mode not octal")
        << QStringList{"--socket-mode", "rw"} << "expected an octal mode";
    QTest::newRow("zero readers") << QStringList{"--max-readers", "0"} << "from 1 to 256";
    QTest::newRow("list without socket") << QStringList{"--list"} << "--list needs --pcsc-socket";
    QTest::newRow("unknown option") << QStringList{"--frobnicate"} << "Unknown option";
    QTest::newRow("stray argument") << QStringList{"extra"} << "unexpected argument \"extra\"";
}

void TestServerOptions::invalid_argument_exitsWithMessage()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const CommandLine line = parseCommandLine(QStringList{"server-ccid"} + arguments);
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 2);
    QVERIFY2(line.exitMessage->contains(message), qPrintable(*line.exitMessage));
}

void TestServerOptions::help_readme_showsTheSameText()
{
    const CommandLine line = parseCommandLine({"/any/path/server-ccid", "--help"});
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 0);
    QFile readme(VSCARD_SOURCE_DIR "/README.md");
    QVERIFY(readme.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(readme.readAll());
    QVERIFY2(text.contains(*line.exitMessage),
             "README.md must show server-ccid --help as it is:\n" + line.exitMessage->toUtf8());
}

QTEST_GUILESS_MAIN(TestServerOptions)
#include "tst_server_options.moc"
