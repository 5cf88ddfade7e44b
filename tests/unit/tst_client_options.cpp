// vscclient's command line: libcacard's way of naming the host and the certificates, what
// each option accepts and refuses, and the README showing --help as it is.
#include "client_options.h"

#include "temporary_text_file.h"

#include <QFile>
#include <QtTest>

using namespace vscard;
using namespace vscard::client;

class TestClientOptions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void hostAndPort_asLibcacardsVscclient();
    void connect_unixSocket();
    void certificates_becomeVirtualReaderCard();
    void script_turnsReconnectionOff();
    void invalid_argument_exitsWithMessage_data();
    void invalid_argument_exitsWithMessage();
    void help_readme_showsTheSameText();
    void config_switchesAndHost_commandLineWins();
    void config_switchWithOtherValue_refused();
};

// A configuration file with TEXT, for as long as the object lives.
struct ConfigFile : vscard::test::TemporaryTextFile {
    explicit ConfigFile(const QByteArray& text) : TemporaryTextFile("vscclient.conf", text) {}
};

void TestClientOptions::hostAndPort_asLibcacardsVscclient()
{
    CommandLine line = parseCommandLine({"vscclient", "127.0.0.1", "2001"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(line.options.host.toString(), QString("tcp:127.0.0.1:2001"));
    QVERIFY(line.options.reconnect);
    line = parseCommandLine({"vscclient", "::1", "2001"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(line.options.host.toString(), QString("tcp:[::1]:2001"));
}

void TestClientOptions::connect_unixSocket()
{
    const CommandLine line =
        parseCommandLine({"vscclient", "--connect", "unix:/run/vscard/vscard.sock", "--pcsc",
                          "--reader", "Yubico*", "--exclusive"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(line.options.host.kind, Endpoint::Kind::Unix);
    QCOMPARE(line.options.host.path, QString("/run/vscard/vscard.sock"));
    QVERIFY(line.options.pcsc);
    QCOMPARE(line.options.readerGlobs, QStringList{"Yubico*"});
    QVERIFY(line.options.exclusive);
}

void TestClientOptions::certificates_becomeVirtualReaderCard()
{
    CommandLine line = parseCommandLine({"vscclient", "-c", "id cert", "-c", "sign", "-e",
                                         "db=\"sql:/tmp/db\" use_hw=no", "h", "1"});
    QVERIFY(!line.exitMessage);
    QCOMPARE(
        *line.options.emulation,
        QString("db=\"sql:/tmp/db\" use_hw=no soft=(,Virtual Reader,CAC,,\"id cert\",\"sign\")"));
    line = parseCommandLine({"vscclient", "-c", "cert1", "h", "1"});
    QCOMPARE(*line.options.emulation,
             QString("db=\"sql:/etc/pki/nssdb\" soft=(,Virtual Reader,CAC,,\"cert1\")"));
}

void TestClientOptions::script_turnsReconnectionOff()
{
    CommandLine line = parseCommandLine({"vscclient", "--script", "s.vsc", "h", "1"});
    QVERIFY(!line.options.reconnect);
    line = parseCommandLine({"vscclient", "--script", "s.vsc", "--reconnect", "h", "1"});
    QVERIFY(line.options.reconnect);
    line = parseCommandLine({"vscclient", "--timeout", "250ms", "h", "1"});
    QCOMPARE(line.options.timeoutMs, 250);
}

void TestClientOptions::invalid_argument_exitsWithMessage_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("no host") << QStringList{} << "where is the host?";
    QTest::newRow("host without port") << QStringList{"h"} << "where is the host?";
    QTest::newRow("both ways") << QStringList{"--connect", "unix:/s", "h", "1"} << "not both";
    QTest::newRow("bad spec") << QStringList{"--connect", "ftp:x"} << "ftp:x";
    QTest::newRow("reader without pcsc")
        << QStringList{"--reader", "x", "h", "1"} << "go with --pcsc";
    QTest::newRow("eleven certificates")
        << QStringList{"-c", "1", "-c", "2", "-c", "3", "-c", "4",  "-c", "5",  "-c", "6",
                       "-c", "7", "-c", "8", "-c", "9", "-c", "10", "-c", "11", "h",  "1"}
        << "too many certificates (max = 10)";
    QTest::newRow("pin tries") << QStringList{"--pin-tries", "0", "h", "1"} << "from 1 to 15";
    QTest::newRow("timeout") << QStringList{"--timeout", "soon", "h", "1"} << "--timeout soon";
    QTest::newRow("contradiction")
        << QStringList{"--reconnect", "--no-reconnect", "h", "1"} << "contradict";
}

void TestClientOptions::invalid_argument_exitsWithMessage()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const CommandLine line = parseCommandLine(QStringList{"vscclient"} + arguments);
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 2);
    QVERIFY2(line.exitMessage->contains(message), qPrintable(*line.exitMessage));
}

void TestClientOptions::help_readme_showsTheSameText()
{
    const CommandLine line = parseCommandLine({"/any/path/vscclient", "--help"});
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 0);
    QFile readme(VSCARD_SOURCE_DIR "/README.md");
    QVERIFY(readme.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(readme.readAll());
    QVERIFY2(text.contains(*line.exitMessage),
             "README.md must show vscclient --help as it is:\n" + line.exitMessage->toUtf8());
}

void TestClientOptions::config_switchesAndHost_commandLineWins()
{
    const ConfigFile config("connect = unix:/run/vscard/vscard.sock\n"
                            "pcsc = yes\n"
                            "exclusive = no\n"
                            "reader = Yubico*\n"
                            "reader = Gemalto*\n"
                            "no-reconnect\n"
                            "pin-tries = 4\n");
    CommandLine line = parseCommandLine({"vscclient", "--config", config.path()});
    QVERIFY2(!line.exitMessage, qPrintable(line.exitMessage.value_or("")));
    QCOMPARE(line.options.host.toString(), QString("unix:/run/vscard/vscard.sock"));
    QVERIFY(line.options.pcsc);
    QVERIFY(!line.options.exclusive);
    QCOMPARE(line.options.readerGlobs, (QStringList{"Yubico*", "Gemalto*"}));
    QVERIFY(!line.options.reconnect);
    QCOMPARE(line.options.pinTries, 4u);
    // HOST PORT replace connect; --reconnect replaces the file's no-reconnect; --reader replaces
    // both of the file's.
    line = parseCommandLine({"vscclient", "--config", config.path(), "--reconnect", "--reader",
                             "Other*", "10.0.0.1", "2001"});
    QVERIFY2(!line.exitMessage, qPrintable(line.exitMessage.value_or("")));
    QCOMPARE(line.options.host.toString(), QString("tcp:10.0.0.1:2001"));
    QVERIFY(line.options.reconnect);
    QCOMPARE(line.options.readerGlobs, QStringList{"Other*"});
}

void TestClientOptions::config_switchWithOtherValue_refused()
{
    const ConfigFile config("connect = unix:/a\npcsc = maybe\n");
    const CommandLine line = parseCommandLine({"vscclient", "--config", config.path()});
    QVERIFY(line.exitMessage.has_value());
    QCOMPARE(line.exitCode, 2);
    QVERIFY2(line.exitMessage->contains(":2: \"pcsc\" is a switch: yes or no, not \"maybe\""),
             qPrintable(*line.exitMessage));
}

QTEST_GUILESS_MAIN(TestClientOptions)
#include "tst_client_options.moc"
