#include "client_options.h"

#include "vscard/cacard/emul_options.h"
#include "vscard/qt/config_file.h"
#include "vscard/qt/trace_filter.h"
#include "vscard/version.h"

#include <QCommandLineParser>
#include <QRegularExpression>

namespace vscard::client {

namespace {

const char* const kDefaultConfig = VSCARD_SYSCONFDIR "/vscard/vscclient.conf";

CommandLine failWith(const QString& message)
{
    CommandLine result;
    result.exitMessage = QStringLiteral("vscclient: %1\n").arg(message);
    result.exitCode = 2;
    return result;
}

} // namespace

QString emulationOptions(const std::optional<QString>& emulation, const QStringList& certificates)
{
    QString options = emulation.value_or(QString());
    if (certificates.isEmpty())
        return options;
    if (!options.contains(QRegularExpression("(^|\\s)db=")))
        options = QStringLiteral("db=\"sql:/etc/pki/nssdb\" ") + options;
    QStringList quoted;
    for (const QString& certificate : certificates)
        quoted << '"' + certificate + '"';
    return options.trimmed() +
           QStringLiteral(" soft=(,Virtual Reader,CAC,,%1)").arg(quoted.join(','));
}

namespace {

// The options, added to `parser`; returns them all.
QList<QCommandLineOption> addOptions(QCommandLineParser& parser)
{
    parser.setApplicationDescription(
        "A VSCard client: shares smart cards with a VSCard host (vscard's server-ccid, QEMU's\n"
        "ccid-card-passthru), each card in a reader of its own: this machine's real readers\n"
        "(--pcsc), emulated CAC cards made from an NSS database (-e, -c), and cards answered\n"
        "by a script. Commands come from the console (type 'help') or a script (--script).");
    parser.addPositionalArgument("HOST PORT",
                                 "The host's name or address and TCP port, as libcacard's "
                                 "vscclient takes them.",
                                 "[HOST PORT]");
    const QCommandLineOption connectOption(
        "connect",
        "Where the host listens: tcp:HOST:PORT, tls:HOST:PORT (TLS, see --tls-ca) or unix:PATH "
        "(instead of HOST PORT).",
        "SPEC");
    const QCommandLineOption tlsCaOption(
        "tls-ca",
        "For a tls: host, the CAs (PEM) that sign its certificate; the name connected to must "
        "be in the certificate.",
        "FILE");
    const QCommandLineOption tlsPinOption(
        "tls-pin",
        "For a tls: host, instead of --tls-ca: the SHA-256 fingerprint of its certificate "
        "(64 hex digits, colons allowed), as 'openssl x509 -noout -fingerprint -sha256' "
        "prints it.",
        "SHA256");
    const QCommandLineOption tlsCertOption(
        "tls-cert", "Our certificate for a tls: host that asks for one (PEM).", "FILE");
    const QCommandLineOption tlsKeyOption = tls::keyOption();
    const QCommandLineOption tlsMinVersionOption = tls::minimumVersionOption();
    const QCommandLineOption emulOption(
        QStringList{"e", "emul"},
        "Emulated CAC or PIV cards: libcacard's options string, e.g. "
        "'db=\"sql:/etc/pki/nssdb\" soft=(,My Reader,CAC,,cert1,cert2,cert3)' or "
        "'soft=(,My PIV,PIV,state=DIR)' (a blank PIV card kept in DIR). Each soft= card gets "
        "a reader.",
        "OPTIONS");
    const QCommandLineOption certOption(
        QStringList{"c", "cert"},
        "A certificate (NSS nickname) of the emulated card in reader \"Virtual Reader\", as "
        "libcacard's vscclient. Repeatable, up to 10; the database is -e's db= or "
        "sql:/etc/pki/nssdb.",
        "NAME");
    const QCommandLineOption pcscOption(
        "pcsc", "Share this machine's smart-card readers (pcscd), following readers and cards "
                "as they come and go.");
    const QCommandLineOption readerOption(
        "reader", "With --pcsc, only the readers whose name matches GLOB (repeatable).", "GLOB");
    const QCommandLineOption exclusiveOption(
        "exclusive", "With --pcsc, keep the cards to ourselves (PC/SC exclusive mode) instead of "
                     "sharing them with local applications between the host's commands.");
    const QCommandLineOption lastPinTryOption(
        "allow-last-pin-try",
        "With --pcsc, forward a VERIFY even when the card has one PIN try left (by default it "
        "is answered 6985 and never reaches the card).");
    const QCommandLineOption stateDirOption(
        "state-dir",
        "Keep the emulated cards' PIN retry counters in DIR, across restarts, and the state "
        "of PIV cards without a state= of their own.",
        "DIR");
    const QCommandLineOption pinTriesOption(
        "pin-tries", "Wrong PINs an emulated card accepts before it blocks (1 to 15). Default: 3.",
        "N", "3");
    const QCommandLineOption scriptOption(
        "script",
        "Run the commands of FILE ('-': standard input) once the host has the readers, then "
        "exit: 0 when all succeeded, 1 with the failing line otherwise.",
        "FILE");
    const QCommandLineOption reconnectOption(
        "reconnect",
        "When the connection drops, connect again (backoff up to 8 s) and restore the readers "
        "and cards. The default, except with --script.");
    const QCommandLineOption noReconnectOption("no-reconnect",
                                               "Exit when the connection drops or fails.");
    const QCommandLineOption timeoutOption(
        "timeout",
        "How long a script command waits for the host or a card before it fails, e.g. 10s "
        "(the default) or 500ms.",
        "DURATION", "10s");
    const QCommandLineOption debugOption(
        QStringList{"d", "debug"},
        "libcacard's debug level: 1 or more traces every VSCard message.", "LEVEL", "0");
    const QCommandLineOption traceOption(
        "trace",
        "Log every message of the matching categories, decoded (secrets masked, see "
        "--trace-secrets): comma-separated "
        "globs over vscard.client, vscard.wire; a leading - excludes. Example: --trace "
        "'vscard.*'.",
        "GLOBS");
    const QCommandLineOption traceSecretsOption = vscard::traceSecretsOption();
    const QCommandLineOption configOption(
        "config",
        QStringLiteral("Read options from FILE first, one per line as 'name = value' with the "
                       "long option names above (connect = SPEC for the host); the command "
                       "line wins. Default: %1 when it exists; '' reads none.")
            .arg(kDefaultConfig),
        "FILE");
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QList<QCommandLineOption> options{
        connectOption,       pcscOption,        readerOption,   exclusiveOption, lastPinTryOption,
        emulOption,          certOption,        stateDirOption, pinTriesOption,  scriptOption,
        reconnectOption,     noReconnectOption, timeoutOption,  debugOption,     traceOption,
        traceSecretsOption,  tlsCaOption,       tlsPinOption,   tlsCertOption,   tlsKeyOption,
        tlsMinVersionOption, configOption};
    parser.addOptions(options);
    return options + QList<QCommandLineOption>{helpOption, versionOption};
}

} // namespace

CommandLine parseCommandLine(const QStringList& arguments)
{
    // First the command line alone: help, version, which file to read, what it sets itself.
    QCommandLineParser commandLine;
    const QList<QCommandLineOption> all = addOptions(commandLine);
    if (!commandLine.parse(arguments))
        return failWith(commandLine.errorText());
    CommandLine result;
    // HOST PORT on the command line stand for --connect; either switch of a pair counts for
    // both.
    const auto setOnCommandLine = [&commandLine](const QString& name) {
        if (name == QLatin1String("connect"))
            return commandLine.isSet(name) || !commandLine.positionalArguments().isEmpty();
        if (name == QLatin1String("reconnect") || name == QLatin1String("no-reconnect"))
            return commandLine.isSet("reconnect") || commandLine.isSet("no-reconnect");
        return commandLine.isSet(name);
    };
    const auto configured =
        applyConfigFile(arguments, commandLine, {all, {"help", "help-all", "version", "config"}},
                        kDefaultConfig, setOnCommandLine);
    if (!configured)
        return failWith(configured.error());
    const QStringList& effective = configured->arguments;
    QCommandLineParser parser;
    addOptions(parser);
    if (!parser.parse(effective))
        return failWith(parser.errorText());
    if (parser.isSet("help")) {
        result.exitMessage =
            parser.helpText().replace(QRegularExpression("^Usage: \\S+"), "Usage: vscclient");
        return result;
    }
    if (parser.isSet("version")) {
        result.exitMessage = QStringLiteral("vscclient %1\n").arg(VSCARD_VERSION_STRING);
        return result;
    }
    ClientOptions& options = result.options;
    const QStringList positional = parser.positionalArguments();
    QString spec;
    if (parser.isSet("connect")) {
        if (!positional.isEmpty())
            return failWith(QStringLiteral("give --connect or HOST PORT, not both"));
        spec = parser.value("connect");
    } else if (positional.size() == 2) {
        const QString host = positional[0].contains(':') && !positional[0].startsWith('[')
                                 ? '[' + positional[0] + ']'
                                 : positional[0];
        spec = QStringLiteral("tcp:%1:%2").arg(host, positional[1]);
    } else {
        return failWith(QStringLiteral("where is the host? give HOST PORT or --connect SPEC"));
    }
    auto endpoint = Endpoint::parse(spec);
    if (!endpoint)
        return failWith(endpoint.error());
    options.host = *endpoint;

    const QStringList certificates = parser.values("cert");
    if (certificates.size() > static_cast<int>(cacard::kMaxCertificatesPerCard))
        return failWith(QStringLiteral("too many certificates (max = %1)")
                            .arg(cacard::kMaxCertificatesPerCard));
    if (parser.isSet("emul") || !certificates.isEmpty())
        options.emulation = emulationOptions(
            parser.isSet("emul") ? std::optional(parser.value("emul")) : std::nullopt,
            certificates);
    options.pcsc = parser.isSet("pcsc");
    options.readerGlobs = parser.values("reader");
    options.exclusive = parser.isSet("exclusive");
    options.allowLastPinTry = parser.isSet("allow-last-pin-try");
    if (!options.pcsc &&
        (!options.readerGlobs.isEmpty() || options.exclusive || options.allowLastPinTry))
        return failWith(QStringLiteral("--reader, --exclusive and --allow-last-pin-try go with "
                                       "--pcsc"));
    if (parser.isSet("state-dir"))
        options.stateDirectory = parser.value("state-dir");
    bool ok = false;
    options.pinTries = parser.value("pin-tries").toUInt(&ok);
    if (!ok || options.pinTries < 1 || options.pinTries > 15)
        return failWith(QStringLiteral("--pin-tries %1: expected a number from 1 to 15")
                            .arg(parser.value("pin-tries")));
    if (parser.isSet("script"))
        options.script = parser.value("script");
    if (parser.isSet("reconnect") && parser.isSet("no-reconnect"))
        return failWith(QStringLiteral("--reconnect and --no-reconnect contradict each other"));
    options.reconnect =
        parser.isSet("reconnect") || (!parser.isSet("no-reconnect") && !options.script.has_value());
    const auto timeout = QRegularExpression("^([0-9]+)(ms|s)?$").match(parser.value("timeout"));
    if (!timeout.hasMatch())
        return failWith(QStringLiteral("--timeout %1: expected a duration such as 10s or 500ms")
                            .arg(parser.value("timeout")));
    options.timeoutMs = timeout.captured(1).toInt() * (timeout.captured(2) == "ms" ? 1 : 1000);
    options.debugLevel = parser.value("debug").toInt(&ok);
    if (!ok || options.debugLevel < 0)
        return failWith(
            QStringLiteral("-d %1: expected a level, 0 or more").arg(parser.value("debug")));
    options.trace = parser.value("trace");
    options.traceSecrets = parser.isSet("trace-secrets");
    options.tls.ca = parser.value("tls-ca");
    options.tls.pin = parser.value("tls-pin");
    options.tls.certificate = parser.value("tls-cert");
    options.tls.key = parser.value("tls-key");
    const auto minimum = tls::parseMinimumVersion(parser.value("tls-min-version"));
    if (!minimum)
        return failWith(minimum.error());
    options.tls.minimum = *minimum;
    if (options.debugLevel > 0 && options.trace.isEmpty())
        options.trace = QStringLiteral("vscard.*");
    return result;
}

} // namespace vscard::client
