// server-ccid's command line.
#pragma once

#include "vscard/qt/endpoint.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace vscard::server {

struct ServerOptions {
    QList<Endpoint> listen;
    int socketMode = 0600;
    int maxReaders = 8;
    std::optional<QString> pcscSocket;
    QString pcscName = QStringLiteral("vscard");
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
    bool list = false;
};

struct CommandLine {
    ServerOptions options;
    // Set when the program should print this and exit (help, version, or an error).
    std::optional<QString> exitMessage;
    int exitCode = 0;
};

// Parses the arguments (argv[0] included). Never exits the process.
CommandLine parseCommandLine(const QStringList& arguments);

} // namespace vscard::server
