// The server's end of the pcscd driver link: one CCID device model per driver connection, its
// slots mirroring the registry's readers. Also answers --list requests on the same socket.
#pragma once

#include "driver_link_gate.h"
#include "reader_registry.h"
#include "vscard/ccid/link_wire.h"
#include "vscard/ccid/secret_tracker.h"
#include "vscard/ccid/usbmon_capture.h"

#include <QIODevice>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <memory>

namespace vscard::server {

class PcscLinkConnection : public QObject {
    Q_OBJECT

public:
    // Takes ownership of the socket.
    // A driver link needs `gate`'s admission (at its Hello); --list requests do not.
    PcscLinkConnection(QIODevice* socket, QString peer, policy::PeerIdentity identity,
                       DriverLinkGate& gate, ReaderRegistry& registry, ccid::UsbmonCapture* capture,
                       QObject* parent = nullptr);
    ~PcscLinkConnection() override;

public Q_SLOTS:
    void onReadyRead() noexcept;
    void onDisconnected() noexcept;

Q_SIGNALS:
    void finished();

private:
    void handle(const link::Frame& frame);
    void startDevice(std::uint32_t slots);
    // A CCID message for the vscard.ccid trace, its secrets masked.
    void trace(const char* direction, ByteView message);
    void sendFrame(link::FrameKind kind, const Bytes& payload);
    void write(const Bytes& frame);
    void cardInserted(int index);
    void cardRemoved(int index);
    void close(const QString& reason);

    QPointer<QIODevice> socket_;
    QString peer_;
    policy::PeerIdentity identity_;
    DriverLinkGate& gate_;
    ReaderRegistry& registry_;
    link::FrameDecoder decoder_;
    std::unique_ptr<ccid::CcidDevice> device_;
    ccid::UsbmonCapture* capture_;
    ccid::CaptureTap tap_;
    ccid::SecretTracker secrets_{ccid::ExchangeLevel::Apdu}; // what traces mask
    QTimer pulseTimer_;
    bool closed_ = false;
};

} // namespace vscard::server
