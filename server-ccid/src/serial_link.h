// The serial CCID link: a pseudo-terminal that libccid's serial driver (libccidtwin.so) opens
// as if a Gemalto GemPC reader hung on it, with a symlink at a stable path. The stock driver
// then drives our device model: the reference CCID host implementation as the judge.
#pragma once

#include "reader_registry.h"
#include "vscard/ccid/secret_tracker.h"
#include "vscard/ccid/serial_wire.h"
#include "vscard/ccid/usbmon_capture.h"

#include <QByteArray>
#include <QObject>
#include <QTimer>

#include <memory>
#include <optional>

class QSocketNotifier;

namespace vscard::server {

// What libccid hard-codes for each reader name it knows (see DESIGN.md).
struct SerialProfile {
    QString name;
    std::uint8_t slots = 1;
    bool echo = true; // the reader sends each command frame back before its answer
};

// The profiles that work: GemPCTwin (one slot, echo) and GemCorePOSPro (five slots).
std::optional<SerialProfile> serialProfile(const QString& name);

class SerialLink : public QObject {
    Q_OBJECT

public:
    SerialLink(QString linkPath, SerialProfile profile, ReaderRegistry& registry,
               ccid::UsbmonCapture* capture, QObject* parent = nullptr);
    ~SerialLink() override;

    // Creates the pty and the symlink; an empty string on success, else why not.
    QString start();

private:
    void onReadable();
    // A CCID message for the vscard.ccid trace, its secrets masked.
    void trace(const char* direction, ByteView message);
    void write(const Bytes& bytes);
    void flush();
    void cardInserted(int index);
    void cardRemoved(int index);

    QString linkPath_;
    SerialProfile profile_;
    ReaderRegistry& registry_;
    int master_ = -1;
    int slave_ = -1; // kept open: without a slave, reads on the master fail with EIO
    QSocketNotifier* readNotifier_ = nullptr;
    QSocketNotifier* writeNotifier_ = nullptr;
    QByteArray unsent_;
    ccid::SerialFrameDecoder decoder_;
    std::unique_ptr<ccid::CcidDevice> device_;
    ccid::CaptureTap tap_;
    ccid::SecretTracker secrets_{ccid::ExchangeLevel::Tpdu}; // what traces mask
    QTimer pulseTimer_;
};

} // namespace vscard::server
