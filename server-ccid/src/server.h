// server-ccid put together: VSCard listeners, the reader registry, the pcscd driver link.
#pragma once

#include "reader_registry.h"
#include "server_options.h"
#include "vscard/ccid/usbmon_capture.h"

#include <QList>
#include <QObject>

#include <memory>

namespace vscard::server {

class StreamListener;
class UsbipExport;

class Server : public QObject {
    Q_OBJECT

public:
    explicit Server(ServerOptions options, QObject* parent = nullptr);
    ~Server() override;

    // Starts every listener; an empty string on success, else what failed.
    QString start();
    QList<Endpoint> boundEndpoints() const;
    QList<Endpoint> boundUsbipEndpoints() const;
    ReaderRegistry& registry() { return registry_; }

private:
    QString startEmulatedCards();
    void acceptClient(QIODevice* socket, const QString& peer);
    void acceptDriver(QIODevice* socket, const QString& peer);

    ServerOptions options_;
    ReaderRegistry registry_;
    std::unique_ptr<ccid::UsbmonCapture> capture_; // --pcap
    QList<StreamListener*> clientListeners_;
    QList<StreamListener*> usbipListeners_;
    StreamListener* driverListener_ = nullptr;
    UsbipExport* usbipExport_ = nullptr;
};

// --list: asks a running server and prints its answer. Returns the exit code.
int printReaderList(const QString& pcscSocket);

} // namespace vscard::server
