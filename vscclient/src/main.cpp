// vscclient: shares cards with a VSCard host; see client_options.cpp and command_runner.cpp.
#include "client_options.h"
#include "command_runner.h"
#include "emulated_card_source.h"
#include "host_link.h"
#include "logging.h"
#include "pcsc_readers.h"
#include "vscard/cacard/soft_cards.h"
#include "vscard/qt/event_loop.h"
#include "vscard/qt/signal_handler.h"
#include "vscard/qt/tls.h"
#include "vscard/qt/trace_filter.h"
#include "vscard/trace.h"
#include "vscard_client.h"

#include <QCoreApplication>
#include <QFile>
#include <QRegularExpression>
#include <QSocketNotifier>

#include <cstdio>
#include <functional>
#include <unistd.h>

using namespace vscard;
using namespace vscard::client;

namespace {

void print(const QString& text)
{
    std::fputs(qPrintable(text + '\n'), stdout);
    std::fflush(stdout);
}

// The emulated cards of -e/-c, each in a reader of its own; false after saying why not.
bool addEmulatedCards(const ClientOptions& options, VscardClient& client)
{
    if (!options.emulation)
        return true;
    cacard::CardSettings settings;
    if (options.stateDirectory)
        settings.stateDirectory = options.stateDirectory->toStdString();
    settings.pinTries = options.pinTries;
    settings.notice = [](const std::string& text) {
        qCWarning(lcClient).noquote() << QString::fromStdString(text);
    };
    auto made = cacard::makeSoftCards(options.emulation->toStdString(), settings);
    if (!made) {
        std::fprintf(stderr, "vscclient: -e/-c: %s\n", made.error().c_str());
        return false;
    }
    if (made->hardwareUse != cacard::HardwareUse::No)
        qCInfo(lcClient) << "use_hw=: vscclient does not mirror NSS's hardware tokens; only the "
                            "soft= cards are shared";
    if (made->cards.empty()) {
        std::fprintf(stderr, "vscclient: -e/-c: no soft=(...) card to share\n");
        return false;
    }
    for (auto& soft : made->cards) {
        const QString name = QString::fromStdString(soft.readerName);
        qCInfo(lcClient).noquote() << "emulated card in reader" << ('"' + name + '"') << "serial"
                                   << QString::fromStdString(soft.serial);
        client.addReader(name, std::make_shared<EmulatedCardSource>(std::move(soft.card)));
    }
    return true;
}

} // namespace

int main(int argc, char* argv[])
{
    vscard::preferQtEventLoop();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("vscclient");
    const CommandLine commandLine = parseCommandLine(QCoreApplication::arguments());
    if (commandLine.exitMessage) {
        std::fputs(qPrintable(*commandLine.exitMessage),
                   commandLine.exitCode == 0 ? stdout : stderr);
        return commandLine.exitCode;
    }
    const ClientOptions& options = commandLine.options;
    installTraceFilter(options.trace);
    trace::setRevealSecrets(options.traceSecrets);

    std::vector<ScriptCommand> script;
    if (options.script) {
        QFile file;
        const bool opened = *options.script == "-" ? file.open(stdin, QIODevice::ReadOnly)
                                                   : (file.setFileName(*options.script),
                                                      file.open(QIODevice::ReadOnly));
        if (!opened) {
            std::fprintf(stderr, "vscclient: --script %s: %s\n", qPrintable(*options.script),
                         qPrintable(file.errorString()));
            return 2;
        }
        auto parsed = parseScript(QString::fromUtf8(file.readAll()));
        if (!parsed) {
            std::fprintf(stderr, "vscclient: %s:%s\n", qPrintable(*options.script),
                         qPrintable(parsed.error().mid(4))); // "line N: ..." -> ":N: ..."
            return 2;
        }
        script = std::move(parsed).value();
    }

    LinkSettings settings;
    settings.reconnect = options.reconnect;
    if (options.host.kind == Endpoint::Kind::Tls) {
        auto configuration = tls::clientConfiguration(options.tls);
        if (!configuration) {
            std::fprintf(stderr, "vscclient: %s\n", qPrintable(configuration.error()));
            return 2;
        }
        settings.tls = *configuration;
        settings.tlsPin = options.tls.pin;
    }
    HostLink link(options.host, settings);
    VscardClient client(link);
    CommandRunner runner(client);
    runner.setTimeoutMs(options.timeoutMs);
    if (!addEmulatedCards(options, client))
        return 1;
    std::unique_ptr<PcscReaders> pcsc;
    if (options.pcsc) {
        PcscSettings pcscSettings;
        for (const QString& glob : options.readerGlobs)
            pcscSettings.readerFilters.push_back(
                QRegularExpression(QRegularExpression::wildcardToRegularExpression(glob)));
        pcscSettings.exclusive = options.exclusive;
        pcscSettings.allowLastPinTry = options.allowLastPinTry;
        pcsc = std::make_unique<PcscReaders>(client, std::move(pcscSettings));
        pcsc->start();
    }

    GracefulStop stop;
    QObject::connect(&stop, &GracefulStop::stopRequested, &app, [&](int) {
        link.stop();
        QCoreApplication::exit(0);
    });
    QObject::connect(&link, &HostLink::failed, &app, [](const QString& reason) {
        std::fprintf(stderr, "vscclient: %s\n", qPrintable(reason));
        QCoreApplication::exit(1);
    });
    QObject::connect(&runner, &CommandRunner::output, &app, print);
    QObject::connect(&runner, &CommandRunner::exitRequested, &app, [&] {
        link.stop();
        QCoreApplication::exit(0);
    });

    // Commands, from a script or the console, start once the host has the readers of -e/-c.
    std::function<void()> startCommands;
    std::unique_ptr<QSocketNotifier> input;
    if (options.script) {
        startCommands = [&] {
            runner.run(std::move(script), *options.script == "-" ? "stdin" : *options.script);
        };
        QObject::connect(
            &runner, &CommandRunner::finished, &app, [&](bool ok, const QString& error) {
                if (!ok)
                    std::fprintf(stderr, "vscclient: script failed: %s\n", qPrintable(error));
                link.stop();
                QCoreApplication::exit(ok ? 0 : 1);
            });
    } else {
        const bool terminal = ::isatty(STDIN_FILENO);
        auto prompt = [terminal] {
            if (terminal) {
                std::fputs("> ", stdout);
                std::fflush(stdout);
            }
        };
        QObject::connect(&runner, &CommandRunner::finished, &app,
                         [prompt](bool ok, const QString& error) {
                             if (!ok)
                                 print("error: " + error);
                             prompt();
                         });
        startCommands = [&, prompt] {
            input = std::make_unique<QSocketNotifier>(STDIN_FILENO, QSocketNotifier::Read);
            auto pending = std::make_shared<QByteArray>();
            QObject::connect(input.get(), &QSocketNotifier::activated, &app, [&, pending] {
                char buffer[4096];
                const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
                if (got <= 0) {
                    input->setEnabled(false); // no more commands: keep sharing the cards
                    return;
                }
                pending->append(buffer, static_cast<int>(got));
                int newline;
                while ((newline = pending->indexOf('\n')) >= 0) {
                    const QString line = QString::fromUtf8(pending->left(newline));
                    pending->remove(0, newline + 1);
                    auto parsed = parseScript(line);
                    if (!parsed)
                        print("error: " + parsed.error().mid(parsed.error().indexOf(':') + 2));
                    else if (!parsed->empty())
                        runner.run(std::move(parsed).value(), {});
                }
            });
            prompt();
        };
    }
    auto started = std::make_shared<bool>(false);
    QObject::connect(&client, &VscardClient::settledChanged, &app, [&, started] {
        if (*started || !link.isReady() || !client.settled())
            return;
        *started = true;
        startCommands();
    });
    link.start();
    return app.exec();
}
