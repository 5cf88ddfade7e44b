// server-ccid's command line.
#pragma once

#include "vscard/qt/endpoint.h"
#include "vscard/qt/tls.h"
#include "vscard/vscard_wire.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <optional>

namespace vscard::server {

// What one VSCard client connection may use (--client-*); a policy rule's readers= may lower
// the readers.
struct ClientLimits {
    int readers = 0;                              // 0: as many as --max-readers
    std::size_t messageSize = kDefaultMaxPayload; // payload bytes of one message
    qint64 backlog = 8 * 1024 * 1024;             // bytes written and not yet read by it
    int messagesPerSecond = 2000;                 // 0: no limit; beyond, reading pauses
    int idleSeconds = 0;                          // 0: never idle out
    int firstMessageSeconds = 10;                 // to send a first complete message
    int answerSeconds = 120;                      // for a card to answer (0: no limit)
    int readerlessGraceSeconds = 10; // then a readerless client's place may go (0: never)
};

struct ServerOptions {
    QList<Endpoint> listen;
    int socketMode = 0600;
    int maxReaders = 8;
    std::optional<QString> pcscSocket;
    QString pcscName = QStringLiteral("vscard");
    QList<std::uint32_t> pcscUsers; // --pcsc-user; empty: root and the server's own user
    struct SerialLinkOption {
        QString path;
        QString profile;
    };
    QList<SerialLinkOption> serialLinks;
    QList<Endpoint> usbip;              // --usbip
    std::uint16_t usbVendorId = 0x08E6; // --usb-id
    std::uint16_t usbProductId = 0x4433;
    QStringList emulatedCards;             // --card emulated:OPTIONS
    std::optional<QString> stateDirectory; // --state-dir
    unsigned pinTries = 3;                 // --pin-tries
    QString trace;
    std::optional<QString> pcap;
    tls::ServerSettings tls;           // for tls: endpoints
    std::optional<QString> policyFile; // --policy
    QString audit = QStringLiteral("auto");
    ClientLimits clientLimits;
    int maxClients = 64;
    int clientConnections = 16;      // per identity (--client-connections)
    int usbipMaxConnections = 16;    // --usbip-max-connections
    int usbipAddressConnections = 4; // per address (--usbip-address-connections)
    bool traceSecrets = false;
    bool list = false;
    bool printReaderConf = false;      // --print-reader-conf
    std::optional<QString> configFile; // the configuration file that was read, if any
};

struct CommandLine {
    ServerOptions options;
    // Set when the program should print this and exit (help, version, or an error).
    std::optional<QString> exitMessage;
    int exitCode = 0;
};

// Parses the arguments (argv[0] included) over the configuration file (--config, else the
// default one when it exists): the command line wins. Never exits the process.
CommandLine parseCommandLine(const QStringList& arguments);

// --print-reader-conf: the pcscd reader.conf entry for the driver and these options.
QString readerConf(const ServerOptions& options);

} // namespace vscard::server
