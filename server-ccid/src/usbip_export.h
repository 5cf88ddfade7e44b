// server-ccid's USB/IP export: every reader of the registry is a USB CCID device that a USB/IP
// importer (Linux's `usbip attach` with vhci-hcd, usbip-win) can attach, one importer per
// reader at a time. Bus IDs follow the registry: the reader at index N is "1-(N+1)".
// USB/IP has no authentication: whoever reaches the port can list and import every reader.
// What guards it is the listening address, --policy rules by address, the connection caps
// (Server), the first-request deadline, and, across machines, an authenticated tunnel.
#pragma once

#include "reader_registry.h"
#include "vscard/ccid/secret_tracker.h"
#include "vscard/ccid/usb_ccid_device.h"
#include "vscard/ccid/usbip_wire.h"

#include <QIODevice>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <map>
#include <memory>
#include <optional>

namespace vscard::server {

class UsbipExport : public QObject {
    Q_OBJECT

public:
    // identity: vendor and product IDs and strings; the reader's name becomes the interface
    // string, its bus ID the serial number.
    UsbipExport(ReaderRegistry& registry, ccid::UsbIdentity identity, QObject* parent = nullptr);

    // Takes ownership of the socket; the connection it serves lives until the importer
    // leaves (or is dropped).
    QObject* accept(QIODevice* socket, const QString& peer);

    static std::string busId(int index);
    static std::optional<int> indexOfBusId(const std::string& busId);
    ccid::UsbIdentity identityOf(int index) const;
    usbip::Device describe(int index) const;
    std::vector<usbip::Device> exportable() const;

    // One importer per reader: claim fails while another connection holds it.
    bool claim(int index, QObject* importer);
    void release(int index, QObject* importer);

    ReaderRegistry& registry() { return registry_; }

private:
    ReaderRegistry& registry_;
    ccid::UsbIdentity identity_;
    std::map<int, QObject*> importers_;
};

// One TCP connection of a USB/IP importer: an operation (list or import), then, once a reader
// is imported, its URBs until the importer leaves or the reader does.
class UsbipConnection : public QObject {
    Q_OBJECT

public:
    UsbipConnection(QIODevice* socket, QString peer, UsbipExport& exporter,
                    QObject* parent = nullptr);
    ~UsbipConnection() override;

public Q_SLOTS:
    void onReadyRead() noexcept;
    void onDisconnected() noexcept;

Q_SIGNALS:
    void finished();

private:
    void handle(const usbip::ServerDecoder::Item& item);
    void import(const std::string& busId);
    void cardInserted(int index);
    void cardRemoved(int index);
    void readerRemoved(int index);
    // A whole CCID message, either way, for the vscard.ccid trace, its secrets masked.
    void trace(ByteView message);
    void write(const Bytes& bytes);
    // Ends the connection: after what was written has gone when graceful, else at once.
    void finish(bool graceful);
    void drop(const QString& reason);

    QPointer<QIODevice> socket_;
    QString peer_;
    UsbipExport& export_;
    usbip::ServerDecoder decoder_;
    std::optional<int> imported_; // the registry index of the imported reader
    std::unique_ptr<ccid::UsbCcidDevice> device_;
    ccid::SecretTracker secrets_{ccid::ExchangeLevel::Apdu}; // what traces mask
    QTimer pulseTimer_;
    // A peer must send a whole request (list or import) this soon after connecting, as a
    // VSCard client must send its Init: a connection that says nothing holds no place.
    QTimer firstRequest_;
    bool stopped_ = false;
};

} // namespace vscard::server
