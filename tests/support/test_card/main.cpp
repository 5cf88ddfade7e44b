// vscard-test-card: a scripted VSCard client with deterministic test cards.
#include "scripted_card_client.h"
#include "vscard/qt/event_loop.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>

#include <cstdio>
#include <unistd.h>

int main(int argc, char* argv[])
{
    vscard::preferQtEventLoop();
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription("A scripted VSCard client with deterministic test cards.\n"
                                     "stdin: remove N | insert N | quit");
    parser.addHelpOption();
    const QCommandLineOption connectOption("connect", "tcp:HOST:PORT or unix:PATH", "SPEC");
    const QCommandLineOption readerOption(
        "reader", "A reader NAME=ATRHEX (repeatable); NAME!=ATRHEX starts without its card.",
        "NAME=ATR");
    const QCommandLineOption extendedOption("extended", "Announce extended APDUs.");
    const QCommandLineOption powerOption("power", "Announce card power and reset.");
    const QCommandLineOption delayOption("delay-ms", "Answer APDUs after N ms.", "N", "0");
    const QCommandLineOption quietOption("quiet", "No stdout line per APDU.");
    const QCommandLineOption answerBytesOption(
        "answer-bytes", "Cut every APDU answer to N bytes (a broken card side).", "N", "-1");
    parser.addOptions({connectOption, readerOption, extendedOption, powerOption, delayOption,
                       quietOption, answerBytesOption});
    parser.process(app);

    vscard::test::ScriptedCardOptions options;
    options.endpoint = parser.value(connectOption);
    for (const QString& spec : parser.values(readerOption)) {
        const int equals = spec.indexOf(QLatin1Char('='));
        if (equals <= 0) {
            std::fprintf(stderr, "vscard-test-card: --reader %s: expected NAME=ATR\n",
                         qPrintable(spec));
            return 2;
        }
        vscard::test::ScriptedReader reader;
        reader.name = spec.left(equals);
        if (reader.name.endsWith(QLatin1Char('!'))) {
            reader.name.chop(1);
            reader.cardInserted = false;
        }
        const QByteArray atr = QByteArray::fromHex(spec.mid(equals + 1).toLatin1());
        reader.atr.assign(atr.begin(), atr.end());
        options.readers.push_back(reader);
    }
    if (parser.isSet(extendedOption))
        options.capabilities |= vscard::capability::ExtendedApdu;
    if (parser.isSet(powerOption))
        options.capabilities |= vscard::capability::CardPower;
    options.answerDelayMs = parser.value(delayOption).toInt();
    options.answerBytes = parser.value(answerBytesOption).toInt();
    options.reportApdus = !parser.isSet(quietOption);

    vscard::test::ScriptedCardClient client(options);
    QObject::connect(&client, &vscard::test::ScriptedCardClient::finished, &app,
                     [](int code) { QCoreApplication::exit(code); });
    if (!client.start())
        return 1;
    QSocketNotifier input(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&input, &QSocketNotifier::activated, &app, [&] {
        char line[256];
        const ssize_t got = ::read(STDIN_FILENO, line, sizeof line - 1);
        if (got <= 0) {
            input.setEnabled(false); // stdin closed: keep serving the card
            return;
        }
        line[got] = 0;
        for (const QString& command : QString::fromUtf8(line).split(QLatin1Char('\n')))
            client.runCommand(command);
    });
    return app.exec();
}
