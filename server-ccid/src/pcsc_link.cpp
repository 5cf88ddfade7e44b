#include "pcsc_link.h"

#include "audit_trail.h"
#include "logging.h"
#include "stream_listener.h"
#include "vscard/qt/socket_reader.h"
#include "vscard/qt/socket_writer.h"

#include <QLocalSocket>

namespace vscard::server {

namespace {

// The driver offers pcscd a fixed pool of slots (pcscd holds at most 16 reader contexts); the
// link itself carries as many as CCID's byte-wide bSlot can name, for load generators.
constexpr std::uint32_t kMaxDriverSlots = 256;
// How often a command still waiting for its card gets a time extension.
constexpr int kPulseMilliseconds = 1000;

} // namespace

PcscLinkConnection::PcscLinkConnection(QIODevice* socket, QString peer,
                                       policy::PeerIdentity identity, DriverLinkGate& gate,
                                       ReaderRegistry& registry, ccid::UsbmonCapture* capture,
                                       QObject* parent)
    : QObject(parent), socket_(socket), peer_(std::move(peer)), identity_(std::move(identity)),
      gate_(gate), registry_(registry), capture_(capture)
{
    socket->setParent(this);
    connect(socket, &QIODevice::readyRead, this, &PcscLinkConnection::onReadyRead);
    connect(&registry_, &ReaderRegistry::cardInserted, this, &PcscLinkConnection::cardInserted);
    connect(&registry_, &ReaderRegistry::cardRemoved, this, &PcscLinkConnection::cardRemoved);
    pulseTimer_.setInterval(kPulseMilliseconds);
    connect(&pulseTimer_, &QTimer::timeout, this, [this] {
        if (device_)
            device_->pulse();
    });
}

PcscLinkConnection::~PcscLinkConnection()
{
    gate_.release(this);
}

void PcscLinkConnection::onReadyRead() noexcept
{
    if (!socket_)
        return;
    try {
        readAndDecode(
            *socket_, decoder_, closed_, [this](const link::Frame& frame) { handle(frame); },
            [this](const QString& error) { close(error); });
    } catch (const std::exception& error) {
        close(QStringLiteral("internal error: %1").arg(error.what()));
    }
}

void PcscLinkConnection::onDisconnected() noexcept
{
    if (device_) {
        qCInfo(lcPcsc).noquote() << "pcscd driver" << peer_ << "disconnected";
        registry_.setPcscSlots(0);
    }
    closed_ = true;
    pulseTimer_.stop();
    gate_.release(this);
    Q_EMIT finished();
}

void PcscLinkConnection::close(const QString& reason)
{
    qCWarning(lcPcsc).noquote() << "driver link" << peer_ << ":" << reason
                                << "- connection dropped";
    closed_ = true;
    pulseTimer_.stop();
    gate_.release(this);
    if (socket_)
        abortSocket(socket_.data());
    Q_EMIT finished();
}

void PcscLinkConnection::handle(const link::Frame& frame)
{
    switch (frame.kind) {
    case link::FrameKind::Hello: {
        const auto greeting = link::parseGreeting(frame.payload);
        if (!greeting) {
            close(QString::fromStdString(greeting.error().message));
            return;
        }
        if (greeting->version != link::kLinkVersion) {
            close(QStringLiteral("driver speaks link version %1, this server %2")
                      .arg(greeting->version)
                      .arg(link::kLinkVersion));
            return;
        }
        if (!device_) {
            if (const auto refusal = gate_.claim(identity_, this)) {
                const QString who = QString::fromStdString(identity_.describe());
                qCInfo(lcAudit).noquote()
                    << QStringLiteral("refuse %1 %2 (driver link): %3").arg(peer_, who, *refusal);
                close(QStringLiteral("%1 refused: %2").arg(who, *refusal));
                return;
            }
        }
        startDevice(std::min(greeting->slotCount, kMaxDriverSlots));
        return;
    }
    case link::FrameKind::Bulk:
        if (!device_) {
            close(QStringLiteral("CCID message before hello"));
            return;
        }
        trace("pcscd ->", frame.payload);
        tap_.command(frame.payload);
        device_->handleCommand(frame.payload);
        return;
    case link::FrameKind::ListRequest: {
        const QStringList lines = registry_.describe();
        const QByteArray text =
            (lines.isEmpty() ? QStringLiteral("no readers") : lines.join(QLatin1Char('\n')))
                .toUtf8();
        sendFrame(link::FrameKind::ListReply, Bytes(text.begin(), text.end()));
        return;
    }
    case link::FrameKind::Welcome:
    case link::FrameKind::Interrupt:
    case link::FrameKind::ListReply:
        close(QStringLiteral("unexpected frame kind %1 from the driver")
                  .arg(static_cast<int>(frame.kind)));
        return;
    }
}

void PcscLinkConnection::startDevice(std::uint32_t slots)
{
    if (device_) {
        close(QStringLiteral("second hello"));
        return;
    }
    ccid::DeviceConfig config;
    config.slotCount = static_cast<std::uint16_t>(slots);
    ccid::CcidDevice::Output output;
    output.bulkIn = [this](const Bytes& reply) {
        trace("pcscd <-", reply);
        tap_.reply(reply);
        sendFrame(link::FrameKind::Bulk, reply);
    };
    output.interrupt = [this](const Bytes& notification) {
        tap_.interrupt(notification);
        sendFrame(link::FrameKind::Interrupt, notification);
    };
    output.log = [this](const std::string& line) {
        qCWarning(lcCcid).noquote() << "pcscd link" << peer_ << ":" << QString::fromStdString(line);
    };
    ccid::ClassDescriptor descriptor;
    descriptor.maxSlotIndex = static_cast<std::uint8_t>(slots - 1);
    descriptor.features = ccid::kApduLevelFeatures;
    descriptor.maxBusySlots = static_cast<std::uint8_t>(std::min<std::uint32_t>(slots, 255));
    tap_ = ccid::CaptureTap(capture_, descriptor);
    device_ = std::make_unique<ccid::CcidDevice>(config, output);
    write(
        link::encodeGreeting(link::FrameKind::Welcome, link::Greeting{link::kLinkVersion, slots}));
    sendFrame(link::FrameKind::Interrupt, device_->currentSlotState());
    pulseTimer_.start();
    registry_.setPcscSlots(static_cast<int>(slots));
    qCInfo(lcPcsc).noquote() << "pcscd driver" << peer_ << "connected with" << slots << "slots";
    for (int index = 0; index < static_cast<int>(slots); ++index) {
        const ReaderEntry* entry = registry_.reader(index);
        if (!entry)
            continue;
        qCInfo(lcPcsc).noquote() << "reader" << QLatin1Char('"') + entry->name + QLatin1Char('"')
                                 << "of" << entry->owner << "is PC/SC reader"
                                 << QLatin1Char('"') + *registry_.pcscSlotName(index) +
                                        QLatin1Char('"');
        if (entry->card)
            cardInserted(index);
    }
}

void PcscLinkConnection::cardInserted(int index)
{
    const ReaderEntry* entry = registry_.reader(index);
    if (!device_ || !entry || !entry->card)
        return;
    if (index >= device_->slotCount()) {
        qCWarning(lcPcsc).noquote()
            << "reader" << entry->name << "in slot" << index << "is beyond the"
            << device_->slotCount() << "slots of the pcscd driver: pcscd does not see it";
        return;
    }
    device_->insertCard(static_cast<std::uint8_t>(index), entry->card, entry->atr);
}

void PcscLinkConnection::cardRemoved(int index)
{
    if (device_ && index < device_->slotCount())
        device_->removeCard(static_cast<std::uint8_t>(index));
}

void PcscLinkConnection::trace(const char* direction, ByteView message)
{
    // Observed whether traced or not: tracing may start between a command and its answer.
    const ccid::SecretRanges secret = secrets_.observe(message);
    if (lcCcid().isDebugEnabled())
        qCDebug(lcCcid).noquote() << direction
                                  << QString::fromStdString(ccid::describeWire(message, secret));
}

void PcscLinkConnection::sendFrame(link::FrameKind kind, const Bytes& payload)
{
    write(link::encodeFrame(kind, payload));
}

void PcscLinkConnection::write(const Bytes& frame)
{
    if (!closed_ && socket_)
        writeNow(*socket_, frame);
}

} // namespace vscard::server
