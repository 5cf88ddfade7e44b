// server-ccid put together: VSCard listeners, the reader registry, the pcscd driver link.
#pragma once

#include "connection_quota.h"
#include "driver_link_gate.h"
#include "reader_registry.h"
#include "server_options.h"
#include "vscard/ccid/usbmon_capture.h"
#include "vscard/policy/access_policy.h"
#include "vscard/qt/service_manager.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QSslConfiguration>

#include <memory>
#include <optional>

namespace vscard::server {

class ClientSession;
class StreamListener;
class UsbipExport;

class Server : public QObject {
    Q_OBJECT

public:
    explicit Server(ServerOptions options, QObject* parent = nullptr);
    ~Server() override;

    // Socket activation: listening sockets the service manager bound. start() adopts each one
    // whose address is a --listen, --pcsc-socket or --usbip endpoint instead of binding it,
    // then the others by their FileDescriptorName: "pcsc" (the driver's socket), "usbip", or
    // anything else for VSCard clients.
    void setInheritedSockets(QList<service::InheritedSocket> sockets);
    // Starts every listener; an empty string on success, else what failed.
    QString start();
    // A new configuration (SIGHUP): applies what can change without dropping anybody, the
    // VSCard and USB/IP endpoints (new ones opened, dropped ones closed, their connections
    // kept; sockets of the service manager stay), and logs every other difference as waiting
    // for a restart.
    void reload(const ServerOptions& next);
    // One line for the service manager's STATUS=: where this server listens.
    QString describe() const;
    QList<Endpoint> boundEndpoints() const;
    QList<Endpoint> boundUsbipEndpoints() const;
    ReaderRegistry& registry() { return registry_; }

private:
    QString startEmulatedCards();
    // A listener on ENDPOINT, adopting an inherited socket that listens there if there is one.
    Result<StreamListener*, QString> openListener(const Endpoint& endpoint, bool adoptAny = false);
    QString addClientListener(const Endpoint& endpoint, bool adoptAny = false);
    QString addUsbipListener(const Endpoint& endpoint, bool adoptAny = false);
    QString addDriverListener(const Endpoint& endpoint, bool adoptAny = false);
    void acceptClient(QIODevice* socket, const QString& peer, const policy::PeerIdentity& identity);
    // The client (of identity *key, or any) that has held no reader longest, beyond
    // --client-readerless-grace; nullptr if none.
    ClientSession* longestReaderless(const QString* key) const;
    // Refuses a connection before anything it sent is read.
    void refuseClient(QIODevice* socket, const QString& peer, const QString& identity,
                      const QString& reason);
    void acceptDriver(QIODevice* socket, const QString& peer, const policy::PeerIdentity& identity);
    void acceptUsbip(QIODevice* socket, const QString& peer, const policy::PeerIdentity& identity);
    // Refuses a USB/IP connection before anything it sent is read.
    void refuseUsbip(QIODevice* socket, const QString& peer, const QString& reason);

    ServerOptions options_;
    ReaderRegistry registry_;
    std::unique_ptr<ccid::UsbmonCapture> capture_; // --pcap
    QList<StreamListener*> clientListeners_;
    QList<StreamListener*> usbipListeners_;
    StreamListener* driverListener_ = nullptr;
    DriverLinkGate driverGate_{options_.pcscUsers}; // who may drive the readers, one at a time
    UsbipExport* usbipExport_ = nullptr;
    QList<service::InheritedSocket> inherited_;
    std::optional<QSslConfiguration> tls_;       // made on the first tls: endpoint
    std::optional<policy::AccessPolicy> policy_; // --policy
    ConnectionQuota clients_{QStringLiteral("connections"), QStringLiteral("max-clients"),
                             QStringLiteral("client-connections")};
    ConnectionQuota importers_{QStringLiteral("USB/IP connections"),
                               QStringLiteral("usbip-max-connections"),
                               QStringLiteral("usbip-address-connections")};
    // Readers per identity and rule, shared by that identity's connections (readers=).
    QHash<QString, std::weak_ptr<int>> ruleReaders_;
};

// --policy FILE read and parsed; an error says FILE:LINE and what is wrong.
Result<policy::AccessPolicy, QString> loadPolicy(const QString& path);

// --list: asks a running server and prints its answer. Returns the exit code.
int printReaderList(const QString& pcscSocket);

} // namespace vscard::server
