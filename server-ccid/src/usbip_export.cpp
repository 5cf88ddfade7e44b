#include "usbip_export.h"

#include "audit_trail.h"
#include "logging.h"
#include "stream_listener.h"
#include "vscard/qt/socket_reader.h"
#include "vscard/qt/socket_writer.h"

#include <QAbstractSocket>
#include <QLocalSocket>

namespace vscard::server {

namespace {

constexpr std::uint32_t kBusNumber = 1;
constexpr int kPulseMilliseconds = 1000;
constexpr int kFirstRequestMilliseconds = 10000; // as a VSCard client's first message

} // namespace

UsbipExport::UsbipExport(ReaderRegistry& registry, ccid::UsbIdentity identity, QObject* parent)
    : QObject(parent), registry_(registry), identity_(std::move(identity))
{
}

QObject* UsbipExport::accept(QIODevice* socket, const QString& peer)
{
    auto* connection = new UsbipConnection(socket, peer, *this, this);
    connect(connection, &UsbipConnection::finished, connection, &QObject::deleteLater);
    return connection;
}

std::string UsbipExport::busId(int index)
{
    return std::to_string(kBusNumber) + "-" + std::to_string(index + 1);
}

std::optional<int> UsbipExport::indexOfBusId(const std::string& busId)
{
    const std::string prefix = std::to_string(kBusNumber) + "-";
    if (busId.size() <= prefix.size() || busId.size() > prefix.size() + 3 ||
        busId.compare(0, prefix.size(), prefix) != 0)
        return std::nullopt;
    int port = 0;
    for (std::size_t i = prefix.size(); i < busId.size(); ++i) {
        if (busId[i] < '0' || busId[i] > '9')
            return std::nullopt;
        port = port * 10 + (busId[i] - '0');
    }
    if (port < 1)
        return std::nullopt;
    return port - 1;
}

ccid::UsbIdentity UsbipExport::identityOf(int index) const
{
    ccid::UsbIdentity identity = identity_;
    identity.serialNumber = "vscard-" + busId(index);
    if (const ReaderEntry* entry = registry_.reader(index))
        identity.interfaceName = entry->name.toStdString();
    return identity;
}

usbip::Device UsbipExport::describe(int index) const
{
    const std::string id = busId(index);
    return ccid::UsbCcidDevice::describe(identityOf(index), "/sys/devices/vscard/usb1/" + id, id,
                                         kBusNumber, static_cast<std::uint32_t>(index + 1));
}

std::vector<usbip::Device> UsbipExport::exportable() const
{
    std::vector<usbip::Device> devices;
    for (int index = 0; index < registry_.capacity(); ++index)
        if (registry_.reader(index) && !importers_.count(index))
            devices.push_back(describe(index));
    return devices;
}

bool UsbipExport::claim(int index, QObject* importer)
{
    if (!registry_.reader(index) || importers_.count(index))
        return false;
    importers_[index] = importer;
    return true;
}

void UsbipExport::release(int index, QObject* importer)
{
    const auto it = importers_.find(index);
    if (it != importers_.end() && it->second == importer)
        importers_.erase(it);
}

UsbipConnection::UsbipConnection(QIODevice* socket, QString peer, UsbipExport& exporter,
                                 QObject* parent)
    : QObject(parent), socket_(socket), peer_(std::move(peer)), export_(exporter)
{
    socket->setParent(this);
    connect(socket, &QIODevice::readyRead, this, &UsbipConnection::onReadyRead);
    onSocketClosed(socket, this, [this] { onDisconnected(); });
    ReaderRegistry& registry = export_.registry();
    connect(&registry, &ReaderRegistry::cardInserted, this, &UsbipConnection::cardInserted);
    connect(&registry, &ReaderRegistry::cardRemoved, this, &UsbipConnection::cardRemoved);
    connect(&registry, &ReaderRegistry::readerRemoved, this, &UsbipConnection::readerRemoved);
    pulseTimer_.setInterval(kPulseMilliseconds);
    connect(&pulseTimer_, &QTimer::timeout, this, [this] {
        if (device_)
            device_->ccid().pulse();
    });
    firstRequest_.setSingleShot(true);
    firstRequest_.setTimerType(Qt::PreciseTimer); // a deadline, not a pulse
    connect(&firstRequest_, &QTimer::timeout, this, [this] {
        drop(QStringLiteral("it sent no complete request within %1 s")
                 .arg(kFirstRequestMilliseconds / 1000));
    });
    firstRequest_.start(kFirstRequestMilliseconds);
    qCDebug(lcUsbip).noquote() << "USB/IP connection from" << peer_;
    // Data that came with the connection is read once the receiver is wired up.
    QMetaObject::invokeMethod(this, &UsbipConnection::onReadyRead, Qt::QueuedConnection);
}

UsbipConnection::~UsbipConnection()
{
    if (imported_)
        export_.release(*imported_, this);
}

void UsbipConnection::onReadyRead() noexcept
{
    if (!socket_)
        return;
    try {
        readAndDecode(
            *socket_, decoder_, stopped_,
            [this](const usbip::ServerDecoder::Item& item) { handle(item); },
            [this](const QString& error) { drop(error); });
    } catch (const std::exception& error) {
        drop(QStringLiteral("internal error: %1").arg(error.what()));
    }
}

void UsbipConnection::onDisconnected() noexcept
{
    if (stopped_)
        return;
    if (imported_)
        qCInfo(lcUsbip).noquote() << "importer" << peer_ << "left; reader"
                                  << QString::fromStdString(UsbipExport::busId(*imported_))
                                  << "is free";
    finish(false);
}

void UsbipConnection::handle(const usbip::ServerDecoder::Item& item)
{
    firstRequest_.stop();
    if (std::holds_alternative<usbip::DevlistRequest>(item)) {
        const auto devices = export_.exportable();
        qCInfo(lcUsbip).noquote() << "device list for" << peer_ << ":" << devices.size()
                                  << "reader(s)";
        qCInfo(lcAudit).noquote()
            << QStringLiteral("usbip-list %1: %2 readers").arg(peer_).arg(devices.size());
        write(usbip::encodeDevlistReply(devices));
        finish(true);
    } else if (const auto* request = std::get_if<usbip::ImportRequest>(&item)) {
        import(request->busId);
    } else if (const auto* urb = std::get_if<usbip::Submit>(&item)) {
        device_->submit(*urb);
    } else if (const auto* unlink = std::get_if<usbip::Unlink>(&item)) {
        qCDebug(lcUsbip).noquote() << peer_ << "unlinks URB" << unlink->unlinkSeqnum;
        device_->unlink(*unlink);
    }
}

void UsbipConnection::import(const std::string& busId)
{
    const auto index = UsbipExport::indexOfBusId(busId);
    const QString name = QString::fromStdString(busId);
    if (!index || !export_.registry().reader(*index)) {
        qCWarning(lcUsbip).noquote()
            << peer_ << "asked to import" << name << ", which is no reader here: refused";
        qCInfo(lcAudit).noquote()
            << QStringLiteral("refuse %1 (USB/IP): import of %2, no such reader").arg(peer_, name);
        write(usbip::encodeImportReply(std::nullopt));
        finish(true);
        return;
    }
    if (!export_.claim(*index, this)) {
        qCWarning(lcUsbip).noquote()
            << peer_ << "asked to import" << name << ", which another importer holds: refused";
        qCInfo(lcAudit).noquote()
            << QStringLiteral("refuse %1 (USB/IP): import of %2, held by another importer")
                   .arg(peer_, name);
        write(usbip::encodeImportReply(std::nullopt));
        finish(true);
        return;
    }
    imported_ = index;
    ccid::DeviceConfig config; // one slot, APDU level, extended APDUs
    ccid::UsbCcidDevice::Output output;
    output.completed = [this](const usbip::SubmitReply& reply, std::uint32_t direction) {
        write(usbip::encodeSubmitReply(reply, direction));
    };
    output.bulkMessage = [this](ByteView message) { trace(message); };
    output.unlinked = [this](const usbip::UnlinkReply& reply) {
        write(usbip::encodeUnlinkReply(reply));
    };
    output.log = [this](const std::string& line) {
        qCWarning(lcUsbip).noquote()
            << "reader" << QString::fromStdString(UsbipExport::busId(*imported_)) << "imported by"
            << peer_ << ":" << QString::fromStdString(line);
    };
    device_ = std::make_unique<ccid::UsbCcidDevice>(export_.identityOf(*index), config, output);
    write(usbip::encodeImportReply(export_.describe(*index)));
    decoder_.setImported();
    pulseTimer_.start();
    const ReaderEntry* entry = export_.registry().reader(*index);
    qCInfo(lcUsbip).noquote() << "reader" << QLatin1Char('"') + entry->name + QLatin1Char('"')
                              << "imported as" << name << "by" << peer_;
    qCInfo(lcAudit).noquote()
        << QStringLiteral("usbip-import %1: %2 \"%3\"").arg(peer_, name, entry->name);
    cardInserted(*index);
}

void UsbipConnection::cardInserted(int index)
{
    const ReaderEntry* entry = export_.registry().reader(index);
    if (device_ && imported_ == index && entry && entry->card)
        device_->ccid().insertCard(0, entry->card, entry->atr);
}

void UsbipConnection::cardRemoved(int index)
{
    if (device_ && imported_ == index)
        device_->ccid().removeCard(0);
}

void UsbipConnection::readerRemoved(int index)
{
    if (imported_ != index)
        return;
    // A USB/IP server unplugs a device by closing its connection: vhci-hcd then reports the
    // port disconnected to the importing host.
    qCInfo(lcUsbip).noquote() << "reader" << QString::fromStdString(UsbipExport::busId(index))
                              << "left the server: unplugged from" << peer_;
    finish(false);
}

void UsbipConnection::trace(ByteView message)
{
    // Observed whether traced or not: tracing may start between a command and its answer.
    const ccid::SecretRanges secret = secrets_.observe(message);
    if (!lcCcid().isDebugEnabled())
        return;
    const bool command =
        !message.empty() && message[0] < static_cast<std::uint8_t>(ccid::MessageType::DataBlock);
    qCDebug(lcCcid).noquote() << (command ? "usbip ->" : "usbip <-")
                              << QString::fromStdString(ccid::describeWire(message, secret));
}

void UsbipConnection::write(const Bytes& bytes)
{
    if (!stopped_ && socket_)
        writeNow(*socket_, bytes);
}

void UsbipConnection::drop(const QString& reason)
{
    qCWarning(lcUsbip).noquote() << "USB/IP connection" << peer_ << ":" << reason
                                 << "- connection dropped";
    finish(false);
}

void UsbipConnection::finish(bool graceful)
{
    if (stopped_)
        return;
    stopped_ = true;
    qCDebug(lcUsbip).noquote() << "USB/IP connection" << peer_ << "ended";
    pulseTimer_.stop();
    if (device_ && imported_)
        device_->ccid().removeCard(0); // nothing it started answers into a closed socket
    if (imported_) {
        qCInfo(lcAudit).noquote() << QStringLiteral("usbip-detach %1: %2")
                                         .arg(peer_, QString::fromStdString(
                                                         UsbipExport::busId(*imported_)));
        export_.release(*imported_, this);
        imported_.reset();
    }
    if (socket_) {
        socket_->disconnect(this);
        // The socket outlives this connection until the reply has gone.
        graceful ? closeAfterWrites(socket_.data()) : abortSocket(socket_.data());
    }
    Q_EMIT finished();
}

} // namespace vscard::server
