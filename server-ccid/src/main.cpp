// server-ccid: a virtual CCID reader for VSCard clients. The logic lives in vscard_server.
#include "audit_trail.h"
#include "descriptor_budget.h"
#include "logging.h"
#include "server.h"
#include "server_options.h"
#include "vscard/qt/event_loop.h"
#include "vscard/qt/service_manager.h"
#include "vscard/qt/signal_handler.h"
#include "vscard/qt/trace_filter.h"
#include "vscard/trace.h"

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
    if (options.printReaderConf) {
        std::fputs(qPrintable(vscard::server::readerConf(options)), stdout);
        return 0;
    }

    qSetMessagePattern("server-ccid: %{if-warning}warning: %{endif}%{if-critical}error: %{endif}"
                       "%{message}");
    vscard::installTraceFilter(options.trace);
    vscard::trace::setRevealSecrets(options.traceSecrets);
    auto audit = vscard::server::openAuditSink(options.audit);
    if (!audit) {
        std::fprintf(stderr, "server-ccid: --audit %s\n", qPrintable(audit.error()));
        return 1;
    }
    qCInfo(lcServer).noquote() << vscard::server::DescriptorBudget::raiseLimit();
    qCInfo(lcServer).noquote() << "audit trail to" << (*audit)->describe();
    vscard::server::installAuditTrail(std::move(*audit));
    vscard::server::Server server(options);
    server.setInheritedSockets(vscard::service::takeInheritedSockets());
    if (const QString problem = server.start(); !problem.isEmpty()) {
        std::fprintf(stderr, "server-ccid: %s\n", qPrintable(problem));
        return 1;
    }
    if (options.configFile)
        qCInfo(lcServer).noquote() << "configuration read from" << *options.configFile;
    // Ready once every socket listens: a unit ordered after this one finds them.
    vscard::service::notify("READY=1\nSTATUS=" + server.describe().toUtf8());

    vscard::GracefulStop stop;
    stop.catchHangup();
    QObject::connect(&stop, &vscard::GracefulStop::stopRequested, &app, [&app](int signal) {
        qCInfo(lcServer) << "stopping on signal" << signal;
        vscard::service::notify("STOPPING=1");
        app.quit();
    });
    QObject::connect(&stop, &vscard::GracefulStop::reloadRequested, &app, [&app, &server] {
        vscard::service::notify("RELOADING=1");
        // The same command line over the file as it is now: the command line still wins.
        const auto next = vscard::server::parseCommandLine(app.arguments());
        if (next.exitMessage) {
            qCWarning(lcServer).noquote()
                << "reload refused, nothing changed:" << next.exitMessage->trimmed();
        } else {
            qCInfo(lcServer).noquote()
                << "reloading" << next.options.configFile.value_or("(no configuration file)");
            vscard::installTraceFilter(next.options.trace);
            vscard::trace::setRevealSecrets(next.options.traceSecrets);
            server.reload(next.options);
        }
        vscard::service::notify("READY=1\nSTATUS=" + server.describe().toUtf8());
    });
    return app.exec();
}
