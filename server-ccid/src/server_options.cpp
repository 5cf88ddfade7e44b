#include "server_options.h"

#include "driver_link_gate.h"
#include "serial_link.h"
#include "vscard/qt/config_file.h"
#include "vscard/qt/trace_filter.h"
#include "vscard/version.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QRegularExpression>

#include <functional>

namespace vscard::server {

namespace {

const char* const kDefaultListen = "tcp:127.0.0.1:2001";
const char* const kDefaultConfig = VSCARD_SYSCONFDIR "/vscard/server-ccid.conf";

CommandLine failWith(const QString& message)
{
    CommandLine result;
    result.exitMessage = QStringLiteral("server-ccid: %1\n").arg(message);
    result.exitCode = 2;
    return result;
}

// The options, added to `parser`; returns them all.
QList<QCommandLineOption> addOptions(QCommandLineParser& parser)
{
    parser.setApplicationDescription(
        "A virtual CCID smart-card reader fed by VSCard clients (libcacard's vscclient, vscard's\n"
        "vscclient, anything that speaks QEMU's ccid-card-passthru protocol), shown to the local\n"
        "pcscd through the vscard reader driver.");
    const QCommandLineOption helpOption({"h", "help"}, "Show this help and exit.");
    const QCommandLineOption versionOption("version", "Show the version and exit.");
    const QCommandLineOption listenOption(
        "listen",
        QStringLiteral("Accept VSCard clients on SPEC: tcp:HOST:PORT, tls:HOST:PORT (TLS, see "
                       "--tls-cert) or unix:PATH. Repeatable. Default: %1 (loopback only; name "
                       "a wildcard address to listen on all).")
            .arg(kDefaultListen),
        "SPEC");
    const QCommandLineOption socketModeOption(
        "socket-mode", "Permissions of the Unix sockets this server creates, octal. Default: 0600.",
        "MODE", "0600");
    const QCommandLineOption maxReadersOption(
        "max-readers",
        "Readers all clients may add together; one more is refused with "
        "CANNOT_ADD_MORE_READERS. Default: 8.",
        "N", "8");
    const QCommandLineOption pcscSocketOption(
        "pcsc-socket",
        "Serve the pcscd reader driver on the Unix socket PATH, the path of its reader.conf "
        "DEVICENAME.",
        "PATH");
    const QCommandLineOption pcscNameOption(
        "pcsc-name",
        "The FRIENDLYNAME of the reader.conf entry, to name PC/SC slots in logs and --list. "
        "Default: vscard.",
        "NAME", "vscard");
    const QCommandLineOption pcscUserOption(
        "pcsc-user",
        "A user (name or number) whose processes may drive the readers through --pcsc-socket: "
        "the user pcscd runs as. Others, and a second link while one is open, are refused and "
        "audited; --list stays open to whoever may connect. Repeatable. Default: root and the "
        "user running server-ccid.",
        "USER");
    const QCommandLineOption serialLinkOption(
        "serial-link",
        "Offer the readers to libccid's serial driver on a pseudo-terminal reached through the "
        "symlink PATH (reader.conf DEVICENAME PATH:PROFILE, LIBPATH libccidtwin.so). PROFILE: "
        "GemPCTwin (one slot, the default) or GemCorePOSPro (five slots). Repeatable.",
        "PATH[:PROFILE]");
    const QCommandLineOption usbipOption(
        "usbip",
        "Export every reader as a USB CCID device over USB/IP on SPEC (tcp:HOST:PORT, USB/IP's "
        "port is 3240; or unix:PATH): 'usbip list -r HOST' lists them, 'usbip attach -r HOST "
        "-b 1-N' attaches the reader at index N-1 to that machine, where its stock CCID driver "
        "takes it. One importer per reader at a time. Repeatable.",
        "SPEC");
    const QCommandLineOption usbIdOption(
        "usb-id",
        "The USB vendor and product IDs of the exported readers, hexadecimal. Default: "
        "08e6:4433, the ID of QEMU's usb-ccid, which libccid drives.",
        "VID:PID", "08e6:4433");
    const QCommandLineOption cardOption(
        "card",
        "Host a card in the server itself. emulated:OPTIONS is an emulated CAC or PIV card, "
        "OPTIONS in libcacard's syntax, e.g. 'emulated:db=\"sql:/etc/pki/nssdb\" "
        "use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)', or a blank PIV card whose keys are "
        "generated on it and kept in DIR: 'emulated:use_hw=no soft=(,My PIV,PIV,state=DIR)' "
        "(with certificates, a PIV card from the database's, its PIN the database's "
        "password). Repeatable; each card takes a slot. "
        "use_hw=yes (removable) also mirrors every removable hardware (any removable) token "
        "of the database's PKCS#11 modules, in a reader per slot, following insertion and "
        "removal; slots named after --pcsc-name (our own readers) are never mirrored.",
        "KIND:OPTIONS");
    const QCommandLineOption stateDirOption(
        "state-dir",
        "Keep the emulated cards' PIN retry counters in DIR (one locked file per card), so "
        "that a blocked PIN stays blocked across restarts, and the state of PIV cards "
        "without a state= of their own (DIR/piv-NAME).",
        "DIR");
    const QCommandLineOption pinTriesOption(
        "pin-tries", "Wrong PINs an emulated card accepts before it blocks (1 to 15). Default: 3.",
        "N", "3");
    const QCommandLineOption traceOption(
        "trace",
        "Log every message of the matching categories, decoded (secrets masked, see "
        "--trace-secrets): comma-separated "
        "globs over vscard.wire (VSCard), vscard.ccid (CCID), vscard.pcsc, vscard.usbip, "
        "vscard.server; "
        "a leading - excludes. Example: --trace 'vscard.*'.",
        "GLOBS");
    const QCommandLineOption pcapOption(
        "pcap",
        "Write the CCID traffic of every link to FILE as a USB capture (usbmon, pcap link type "
        "220), secrets masked (see --trace-secrets): tshark -r FILE -d "
        "usbccid.subdissector,iso7816 decodes it.",
        "FILE");
    const QCommandLineOption listOption(
        "list",
        "Ask the server running on --pcsc-socket which reader sits in which PC/SC slot, print "
        "it and exit.");
    const QCommandLineOption tlsCertOption(
        "tls-cert", "For tls: endpoints, the server's certificate (PEM, then its chain).", "FILE");
    const QCommandLineOption tlsKeyOption = tls::keyOption();
    const QCommandLineOption tlsClientCaOption(
        "tls-client-ca",
        "The CAs (PEM) whose certificates clients of tls: endpoints must present: mutual TLS, "
        "a client without a valid certificate is refused during the handshake.",
        "FILE");
    const QCommandLineOption tlsAnonymousOption(
        "tls-anonymous-clients",
        "Accept tls: clients without a certificate (encryption only; anyone who reaches the "
        "port may insert cards).");
    const QCommandLineOption tlsMinVersionOption = tls::minimumVersionOption();
    const QCommandLineOption policyOption(
        "policy",
        "Admit only the VSCard clients a rule of FILE admits, and only to what it grants; "
        "others are refused at connect. One rule per line, the first that matches decides: "
        "'allow CONDITION... [readers=N] [names=GLOB,...] [slots=N-M,...]' or 'deny "
        "CONDITION...'; conditions cn=NAME, subject=\"O=..., CN=...\", sha256=FINGERPRINT "
        "(TLS client certificates; cn= and subject= only with --tls-client-ca), uid=N, "
        "user=NAME (Unix sockets), address=IP[/BITS], any. readers= counts all of a client's "
        "connections. SIGHUP reads it again. Default: every client is admitted.",
        "FILE");
    const QCommandLineOption auditOption(
        "audit",
        "Where the audit trail goes (connections with the peer's identity, refusals, readers, "
        "cards, each VERIFY's outcome, never a PIN): journal, syslog (authpriv), file:PATH, "
        "stderr, or auto: the journal if it runs, else syslog if /dev/log exists, else stderr. "
        "Default: auto.",
        "TARGET", "auto");
    const QCommandLineOption maxClientsOption(
        "max-clients", "VSCard connections open at once; more are refused at connect. Default: 64.",
        "N", "64");
    const QCommandLineOption clientConnectionsOption(
        "client-connections",
        "Connections one client (a certificate, a Unix user, else an address) may have open "
        "at once, so that no one takes all of --max-clients; more are refused at connect. "
        "Default: 16.",
        "N", "16");
    const QCommandLineOption usbipMaxConnectionsOption(
        "usbip-max-connections",
        "USB/IP connections (importers, and peers listing or about to) open at once; more "
        "are refused at connect. Default: 16.",
        "N", "16");
    const QCommandLineOption usbipAddressConnectionsOption(
        "usbip-address-connections",
        "USB/IP connections one address may have open at once (USB/IP has no authentication: "
        "the address is the only identity); more are refused at connect. Default: 4.",
        "N", "4");
    const QCommandLineOption clientReadersOption(
        "client-readers",
        "Readers one client may add; a policy rule's readers= may lower it. Default: "
        "--max-readers.",
        "N", "0");
    const QCommandLineOption clientMessageSizeOption(
        "client-message-size",
        QStringLiteral("The largest VSCard message payload a client may send, in bytes (300 to "
                       "%1); a larger one drops the client. Default: %1 (an extended APDU).")
            .arg(kDefaultMaxPayload),
        "BYTES", QString::number(kDefaultMaxPayload));
    const QCommandLineOption clientBacklogOption(
        "client-backlog",
        "Bytes written to a client and not yet read by it before the client is dropped. "
        "Default: 8388608.",
        "BYTES", "8388608");
    const QCommandLineOption clientRateOption(
        "client-rate",
        "Messages a second one client may send (bursts of as many); beyond, its messages wait "
        "in its socket, so a flood slows the flooder alone. 0: no limit. Default: 2000.",
        "N", "2000");
    const QCommandLineOption clientIdleOption(
        "client-idle",
        "Drop a client that sends nothing for SECONDS. 0: never. A client that has not sent a "
        "complete first message within 10 s is always dropped. Default: 0.",
        "SECONDS", "0");
    const QCommandLineOption clientReaderlessGraceOption(
        "client-readerless-grace",
        "When --max-clients or --client-connections would refuse a new client, the client that "
        "has held no reader the longest, if for more than SECONDS, gives up its place to it "
        "instead; clients holding readers keep theirs however quiet. 0: never. Default: 10.",
        "SECONDS", "10");
    const QCommandLineOption cardAnswerTimeoutOption(
        "card-answer-timeout",
        "Seconds a VSCard client's card may take to answer an APDU or a power request "
        "(generous: a card may take tens of seconds to generate a key); then the application "
        "gets an error and the client is dropped, as VSCard has no way to match a late "
        "answer. 0: wait for ever. Default: 120.",
        "SECONDS", "120");
    const QCommandLineOption traceSecretsOption = vscard::traceSecretsOption();
    const QCommandLineOption configOption(
        "config",
        QStringLiteral("Read options from FILE first, one per line as 'name = value' with the "
                       "long option names above; the command line wins. SIGHUP reads it "
                       "again. Default: %1 when it exists; '' reads none.")
            .arg(kDefaultConfig),
        "FILE");
    const QCommandLineOption printReaderConfOption(
        "print-reader-conf",
        "Print the pcscd reader.conf entry for the driver and these options (--pcsc-socket, "
        "--pcsc-name, --max-readers) and exit.");
    const QList<QCommandLineOption> options{helpOption,
                                            versionOption,
                                            listenOption,
                                            socketModeOption,
                                            maxReadersOption,
                                            pcscSocketOption,
                                            pcscNameOption,
                                            pcscUserOption,
                                            serialLinkOption,
                                            usbipOption,
                                            usbIdOption,
                                            cardOption,
                                            stateDirOption,
                                            pinTriesOption,
                                            traceOption,
                                            pcapOption,
                                            tlsCertOption,
                                            tlsKeyOption,
                                            tlsClientCaOption,
                                            tlsAnonymousOption,
                                            tlsMinVersionOption,
                                            policyOption,
                                            auditOption,
                                            maxClientsOption,
                                            clientConnectionsOption,
                                            usbipMaxConnectionsOption,
                                            usbipAddressConnectionsOption,
                                            clientReadersOption,
                                            clientMessageSizeOption,
                                            clientBacklogOption,
                                            clientRateOption,
                                            clientIdleOption,
                                            clientReaderlessGraceOption,
                                            cardAnswerTimeoutOption,
                                            traceSecretsOption,
                                            configOption,
                                            listOption,
                                            printReaderConfOption};
    parser.addOptions(options);
    return options;
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
    const auto configured = applyConfigFile(
        arguments, commandLine, {all, {"help", "version", "config", "list", "print-reader-conf"}},
        kDefaultConfig);
    if (!configured)
        return failWith(configured.error());
    result.options.configFile = configured->file;
    const QStringList& effective = configured->arguments;
    QCommandLineParser parser;
    addOptions(parser);
    if (!parser.parse(effective))
        return failWith(parser.errorText());
    if (parser.isSet("help")) {
        // The usage line names the program, not the path it was started by.
        result.exitMessage =
            parser.helpText().replace(QRegularExpression("^Usage: \\S+"), "Usage: server-ccid");
        return result;
    }
    if (parser.isSet("version")) {
        result.exitMessage = QStringLiteral("server-ccid %1\n").arg(VSCARD_VERSION_STRING);
        return result;
    }
    if (!parser.positionalArguments().isEmpty())
        return failWith(
            QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().first()));

    ServerOptions& options = result.options;
    const QStringList listens =
        parser.isSet("listen") ? parser.values("listen") : QStringList{kDefaultListen};
    for (const QString& spec : listens) {
        auto endpoint = Endpoint::parse(spec);
        if (!endpoint)
            return failWith(QStringLiteral("--listen %1").arg(endpoint.error()));
        options.listen.append(*endpoint);
    }
    bool ok = false;
    options.socketMode = parser.value("socket-mode").toInt(&ok, 8);
    if (!ok || options.socketMode < 0 || options.socketMode > 0777)
        return failWith(QStringLiteral("--socket-mode %1: expected an octal mode such as 0660")
                            .arg(parser.value("socket-mode")));
    if (parser.isSet("pcsc-socket")) // relative: to the current directory, not Qt's /tmp
        options.pcscSocket = QFileInfo(parser.value("pcsc-socket")).absoluteFilePath();
    options.pcscName = parser.value("pcsc-name");
    for (const QString& user : parser.values("pcsc-user")) {
        const auto uid = resolveUser(user);
        if (!uid)
            return failWith(QStringLiteral("--pcsc-user %1: no such user").arg(user));
        options.pcscUsers.append(*uid);
    }
    for (const QString& spec : parser.values("serial-link")) {
        const int colon = spec.lastIndexOf(QLatin1Char(':'));
        ServerOptions::SerialLinkOption link{spec, QStringLiteral("GemPCTwin")};
        if (colon > 0) {
            link.path = spec.left(colon);
            link.profile = spec.mid(colon + 1);
        }
        const auto profile = serialProfile(link.profile);
        if (link.path.isEmpty() || !profile)
            return failWith(QStringLiteral("--serial-link %1: expected PATH[:GemPCTwin] or "
                                           "PATH:GemCorePOSPro")
                                .arg(spec));
        link.profile = profile->name;
        options.serialLinks.append(link);
    }
    for (const QString& spec : parser.values("usbip")) {
        auto endpoint = Endpoint::parse(spec);
        if (!endpoint)
            return failWith(QStringLiteral("--usbip %1").arg(endpoint.error()));
        if (endpoint->kind == Endpoint::Kind::Tls)
            return failWith(QStringLiteral("--usbip %1: USB/IP importers speak plain TCP; "
                                           "tls: is for VSCard clients")
                                .arg(spec));
        options.usbip.append(*endpoint);
    }
    static const QRegularExpression usbIdPattern(
        QStringLiteral("^([0-9A-Fa-f]{1,4}):([0-9A-Fa-f]{1,4})$"));
    const auto usbId = usbIdPattern.match(parser.value("usb-id"));
    if (!usbId.hasMatch())
        return failWith(QStringLiteral("--usb-id %1: expected VID:PID in hexadecimal, such as "
                                       "08e6:4433")
                            .arg(parser.value("usb-id")));
    options.usbVendorId = static_cast<std::uint16_t>(usbId.captured(1).toUInt(nullptr, 16));
    options.usbProductId = static_cast<std::uint16_t>(usbId.captured(2).toUInt(nullptr, 16));
    for (const QString& card : parser.values("card")) {
        if (!card.startsWith(QLatin1String("emulated:")))
            return failWith(QStringLiteral("--card %1: expected emulated:OPTIONS").arg(card));
        options.emulatedCards.append(card.mid(9));
    }
    if (parser.isSet("state-dir"))
        options.stateDirectory = parser.value("state-dir");
    options.trace = parser.value("trace");
    if (parser.isSet("pcap"))
        options.pcap = parser.value("pcap");
    options.list = parser.isSet("list");
    if (options.list && !options.pcscSocket)
        return failWith(QStringLiteral("--list needs --pcsc-socket PATH"));
    options.tls.certificate = parser.value("tls-cert");
    options.tls.key = parser.value("tls-key");
    options.tls.clientCa = parser.value("tls-client-ca");
    options.tls.anonymousClients = parser.isSet("tls-anonymous-clients");
    const auto minimum = tls::parseMinimumVersion(parser.value("tls-min-version"));
    if (!minimum)
        return failWith(minimum.error());
    options.tls.minimum = *minimum;
    if (parser.isSet("policy"))
        options.policyFile = parser.value("policy");
    options.audit = parser.value("audit");
    static const QRegularExpression auditPattern(
        QStringLiteral("^(auto|journal(:.+)?|syslog|stderr|file:.+)$"));
    if (!auditPattern.match(options.audit).hasMatch())
        return failWith(QStringLiteral("--audit %1: expected auto, journal, syslog, stderr or "
                                       "file:PATH")
                            .arg(options.audit));
    // The numeric options: each within its range, stored where it belongs.
    const struct {
        const char* name;
        qint64 low, high;
        std::function<void(qint64)> store;
    } numbers[] = {
        {"max-readers", 1, 256, [&](qint64 n) { options.maxReaders = int(n); }},
        {"pin-tries", 1, 15, [&](qint64 n) { options.pinTries = unsigned(n); }},
        {"max-clients", 1, 4096, [&](qint64 n) { options.maxClients = int(n); }},
        {"client-connections", 1, 4096, [&](qint64 n) { options.clientConnections = int(n); }},
        {"usbip-max-connections", 1, 4096, [&](qint64 n) { options.usbipMaxConnections = int(n); }},
        {"usbip-address-connections", 1, 4096,
         [&](qint64 n) { options.usbipAddressConnections = int(n); }},
        {"client-readers", 0, 256, [&](qint64 n) { options.clientLimits.readers = int(n); }},
        {"client-message-size", 300, qint64(kDefaultMaxPayload),
         [&](qint64 n) { options.clientLimits.messageSize = std::size_t(n); }},
        {"client-backlog", 65536, qint64(1) << 32,
         [&](qint64 n) { options.clientLimits.backlog = n; }},
        {"client-rate", 0, 1000000,
         [&](qint64 n) { options.clientLimits.messagesPerSecond = int(n); }},
        // Milliseconds of it must fit an int: 24 days at most.
        {"client-idle", 0, 2000000, [&](qint64 n) { options.clientLimits.idleSeconds = int(n); }},
        {"client-readerless-grace", 0, 86400,
         [&](qint64 n) { options.clientLimits.readerlessGraceSeconds = int(n); }},
        {"card-answer-timeout", 0, 86400,
         [&](qint64 n) { options.clientLimits.answerSeconds = int(n); }},
    };
    for (const auto& number : numbers) {
        const qint64 value = parser.value(number.name).toLongLong(&ok);
        if (!ok || value < number.low || value > number.high)
            return failWith(QStringLiteral("--%1 %2: expected a number from %3 to %4")
                                .arg(QLatin1String(number.name), parser.value(number.name))
                                .arg(number.low)
                                .arg(number.high));
        number.store(value);
    }
    options.traceSecrets = parser.isSet("trace-secrets");
    options.printReaderConf = parser.isSet("print-reader-conf");
    if (options.printReaderConf && !options.pcscSocket)
        return failWith(QStringLiteral("--print-reader-conf needs --pcsc-socket PATH"));
    return result;
}

QString readerConf(const ServerOptions& options)
{
    // The driver offers 1 to 16 PC/SC slots (pcscd's limit); as many as readers may exist.
    const int slots = std::clamp(options.maxReaders, 1, 16);
    return QStringLiteral(
               "# pcscd reader configuration for server-ccid's driver, as server-ccid "
               "--print-reader-conf\n"
               "# writes it; pcscd reads every file in %1 when it starts.\n"
               "# DEVICENAME: server-ccid's --pcsc-socket, then \":slots=N\", the PC/SC slots "
               "the driver\n"
               "# offers (1 to 16); VSCard readers take free ones, named \"%2 00 00\", "
               "\"%2 00 01\", ...\n"
               "# The \":\" also keeps pcscd from insisting that the socket exist when it "
               "starts.\n"
               "FRIENDLYNAME \"%2\"\n"
               "DEVICENAME %3:slots=%4\n"
               "LIBPATH %5\n")
        .arg(QStringLiteral(VSCARD_READER_CONF_DIR), options.pcscName,
             options.pcscSocket.value_or(QString()))
        .arg(slots)
        .arg(QStringLiteral(VSCARD_IFD_DRIVER_PATH));
}

} // namespace vscard::server
