// vscclient's command line: libcacard's (vscclient [-e OPTIONS] [-c CERT]... [-d LEVEL] HOST
// PORT) and vscard's own options.
#pragma once

#include "vscard/qt/endpoint.h"
#include "vscard/qt/tls.h"

#include <QString>
#include <QStringList>

#include <optional>

namespace vscard::client {

struct ClientOptions {
    Endpoint host;
    std::optional<QString> emulation; // -e, with the -c certificates added as a soft= card
    bool pcsc = false;                // --pcsc
    QStringList readerGlobs;          // --reader
    bool exclusive = false;
    bool allowLastPinTry = false;
    std::optional<QString> stateDirectory;
    unsigned pinTries = 3;
    std::optional<QString> script; // --script FILE, "-" for stdin
    bool reconnect = true;         // default: on, but off with --script
    int debugLevel = 0;
    QString trace;
    bool traceSecrets = false; // --trace-secrets
    int timeoutMs = 10000;
    tls::ClientSettings tls; // for a tls: host
};

struct CommandLine {
    ClientOptions options;
    // Set when the program should print this and exit (help, version, or an error).
    std::optional<QString> exitMessage;
    int exitCode = 0;
};

// Parses the arguments (argv[0] included). Never exits the process.
CommandLine parseCommandLine(const QStringList& arguments);

// libcacard's options string for -e OPTIONS and -c CERT...: the certificates become a card in
// a reader named "Virtual Reader", in the database of -e or NSS's default one.
QString emulationOptions(const std::optional<QString>& emulation, const QStringList& certificates);

} // namespace vscard::client
