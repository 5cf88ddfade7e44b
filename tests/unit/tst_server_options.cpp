// server-ccid's command line: what each option accepts and refuses, and the README showing
// exactly what --help prints.
#include "server_options.h"

#include "temporary_text_file.h"

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
    void config_file_commandLineWins();
    void config_badLine_namesFileAndLine_data();
    void config_badLine_namesFileAndLine();
    void config_explicitMissingFile_refused();
    void printReaderConf_matchesOptions();
};

// A configuration file with TEXT, for as long as the object lives.
struct ConfigFile : vscard::test::TemporaryTextFile {
    explicit ConfigFile(const QByteArray& text) : TemporaryTextFile("server-ccid.conf", text) {}
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
    QTest::newRow("listen without scheme") << QStringList{"--listen", "127.0.0.1:1"}
                                           << "expected tcp:HOST:PORT, tls:HOST:PORT or unix:PATH";
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

void TestServerOptions::config_file_commandLineWins()
{
    const ConfigFile config("# a comment\n"
                            "\n"
                            "  listen = unix:/run/a.sock  \n"
                            "listen=tcp:127.0.0.1:7000\n"
                            "max-readers = 12\n"
                            "pin-tries = 5\n"
                            "card = emulated:db=\"sql:/x\" use_hw=no soft=(,A # B,CAC,,c1)\n"
                            "pcsc-socket = /run/p.sock\n");
    // Alone: every line counts, values verbatim (quotes and '#' kept).
    CommandLine line = parseCommandLine({"server-ccid", "--config", config.path()});
    QVERIFY2(!line.exitMessage, qPrintable(line.exitMessage.value_or("")));
    QCOMPARE(line.options.listen.size(), 2);
    QCOMPARE(line.options.listen[0].toString(), QString("unix:/run/a.sock"));
    QCOMPARE(line.options.listen[1].toString(), QString("tcp:127.0.0.1:7000"));
    QCOMPARE(line.options.maxReaders, 12);
    QCOMPARE(line.options.pinTries, 5u);
    QCOMPARE(line.options.emulatedCards,
             QStringList{"db=\"sql:/x\" use_hw=no soft=(,A # B,CAC,,c1)"});
    QCOMPARE(line.options.configFile.value_or(""), config.path());
    // The command line's --listen replaces the file's two; its --max-readers beats the file's.
    line = parseCommandLine({"server-ccid", "--config", config.path(), "--listen",
                             "unix:/run/b.sock", "--max-readers", "3"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(line.options.listen.size(), 1);
    QCOMPARE(line.options.listen[0].toString(), QString("unix:/run/b.sock"));
    QCOMPARE(line.options.maxReaders, 3);
    QCOMPARE(line.options.pinTries, 5u);
    // --config '' reads nothing.
    line = parseCommandLine({"server-ccid", "--config", ""});
    QVERIFY(!line.exitMessage);
    QVERIFY(!line.options.configFile);
    QCOMPARE(line.options.maxReaders, 8);
}

void TestServerOptions::config_badLine_namesFileAndLine_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown") << QByteArray("listen = unix:/a\nfrobnicate = 1\n")
                             << ":2: unknown option \"frobnicate\"";
    QTest::newRow("no value") << QByteArray("\n\nmax-readers =\n")
                              << ":3: \"max-readers\" needs a value";
    QTest::newRow("one-shot") << QByteArray("list\n") << ":1: \"list\" belongs on the command line";
    QTest::newRow("short name") << QByteArray("h\n") << ":1: unknown option \"h\"";
    QTest::newRow("bad value") << QByteArray("max-readers = 0\n") << "from 1 to 256";
}

void TestServerOptions::config_badLine_namesFileAndLine()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, message);
    const ConfigFile config(text);
    const CommandLine line = parseCommandLine({"server-ccid", "--config", config.path()});
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 2);
    QVERIFY2(line.exitMessage->contains(message), qPrintable(*line.exitMessage));
}

void TestServerOptions::config_explicitMissingFile_refused()
{
    const CommandLine line = parseCommandLine({"server-ccid", "--config", "/nonexistent/x.conf"});
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 2);
    QVERIFY2(line.exitMessage->contains("/nonexistent/x.conf: No such file"),
             qPrintable(*line.exitMessage));
}

void TestServerOptions::printReaderConf_matchesOptions()
{
    CommandLine line = parseCommandLine({"server-ccid", "--print-reader-conf"});
    QVERIFY(line.exitMessage.has_value());
    QVERIFY(line.exitMessage->contains("--print-reader-conf needs --pcsc-socket"));
    line = parseCommandLine({"server-ccid", "--print-reader-conf", "--pcsc-socket", "/run/x/p.sock",
                             "--pcsc-name", "My Host", "--max-readers", "40"});
    QVERIFY(!line.exitMessage);
    QVERIFY(line.options.printReaderConf);
    const QStringList lines = vscard::server::readerConf(line.options).split('\n');
    QVERIFY(lines.contains("FRIENDLYNAME \"My Host\""));
    QVERIFY(lines.contains("DEVICENAME /run/x/p.sock:slots=16")); // pcscd's limit
    QVERIFY(lines.contains("LIBPATH " VSCARD_IFD_DRIVER_PATH));
}

QTEST_GUILESS_MAIN(TestServerOptions)
#include "tst_server_options.moc"
