// server-ccid: a virtual CCID reader for VSCard clients. The logic lives in vscard_server.
#include "logging.h"
#include "server.h"
#include "server_options.h"
#include "vscard/qt/event_loop.h"
#include "vscard/qt/signal_handler.h"
#include "vscard/qt/trace_filter.h"

#include <QCoreApplication>

#include <cstdio>

int main(int argc, char* argv[])
{
    vscard::preferQtEventLoop();
    QCoreApplication app(argc, argv);
    const auto commandLine = vscard::server::parseCommandLine(app.arguments());
    if (commandLine.exitMessage) {
        std::fputs(qPrintable(*commandLine.exitMessage), commandLine.exitCode ? stderr : stdout);
        return commandLine.exitCode;
    }
    const auto& options = commandLine.options;
    if (options.list)
        return vscard::server::printReaderList(*options.pcscSocket);

    qSetMessagePattern("server-ccid: %{if-warning}warning: %{endif}%{if-critical}error: %{endif}"
                       "%{message}");
    vscard::installTraceFilter(options.trace);
    vscard::server::Server server(options);
    if (const QString problem = server.start(); !problem.isEmpty()) {
        std::fprintf(stderr, "server-ccid: %s\n", qPrintable(problem));
        return 1;
    }
    vscard::GracefulStop stop;
    QObject::connect(&stop, &vscard::GracefulStop::stopRequested, &app, [&app](int signal) {
        qCInfo(lcServer) << "stopping on signal" << signal;
        app.quit();
    });
    return app.exec();
}
