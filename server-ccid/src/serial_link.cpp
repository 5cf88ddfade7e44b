#include "serial_link.h"

#include "logging.h"

#include <QFile>
#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

namespace vscard::server {

namespace {

// GemPC readers hold at most 271 bytes per CCID message.
constexpr std::size_t kGemPcMaxMessage = 271;
constexpr int kPulseMilliseconds = 1000;

// Gemalto's Escape commands that libccid sends when it opens the reader.
std::optional<Bytes> gemaltoEscape(ByteView command)
{
    static const char firmware[] = "GemPC Twin (vscard)";
    if (command.size() == 1 && command[0] == 0x02) // firmware version, at most 49 bytes
        return Bytes(firmware, firmware + sizeof firmware - 1);
    if (command.size() == 3 && command[0] == 0x01 && command[1] == 0x01 && command[2] == 0x01)
        return Bytes{};  // card movement notifications: synchronous
    return std::nullopt; // 0x6A (firmware features) and the rest: not supported, as libccid allows
}

} // namespace

std::optional<SerialProfile> serialProfile(const QString& name)
{
    if (name.compare(QLatin1String("GemPCTwin"), Qt::CaseInsensitive) == 0)
        return SerialProfile{QStringLiteral("GemPCTwin"), 1, true};
    if (name.compare(QLatin1String("GemCorePOSPro"), Qt::CaseInsensitive) == 0)
        return SerialProfile{QStringLiteral("GemCorePOSPro"), 5, false};
    return std::nullopt;
}

SerialLink::SerialLink(QString linkPath, SerialProfile profile, ReaderRegistry& registry,
                       ccid::UsbmonCapture* capture, QObject* parent)
    : QObject(parent), linkPath_(std::move(linkPath)), profile_(std::move(profile)),
      registry_(registry), decoder_(kGemPcMaxMessage)
{
    ccid::ClassDescriptor descriptor;
    descriptor.maxSlotIndex = static_cast<std::uint8_t>(profile_.slots - 1);
    descriptor.features = ccid::kGemPcSerialFeatures;
    descriptor.maxMessageLength = kGemPcMaxMessage;
    tap_ = ccid::CaptureTap(capture, descriptor);
}

SerialLink::~SerialLink()
{
    if (master_ >= 0) {
        QFile::remove(linkPath_);
        ::close(master_);
    }
    if (slave_ >= 0)
        ::close(slave_);
}

QString SerialLink::start()
{
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0)
        return QStringLiteral("--serial-link: no pseudo-terminal: %1").arg(std::strerror(errno));
    const char* slaveName = ::ptsname(master_);
    slave_ = slaveName ? ::open(slaveName, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (slave_ < 0)
        return QStringLiteral("--serial-link: cannot open the pty's other end: %1")
            .arg(std::strerror(errno));
    // Raw until the driver sets the line up itself: no echo, no line editing.
    termios settings = {};
    ::tcgetattr(slave_, &settings);
    ::cfmakeraw(&settings);
    ::tcsetattr(slave_, TCSANOW, &settings);
    QFile::remove(linkPath_);
    if (!QFile::link(QString::fromLocal8Bit(slaveName), linkPath_))
        return QStringLiteral("--serial-link: cannot create the symlink %1").arg(linkPath_);

    ccid::DeviceConfig config;
    config.slotCount = profile_.slots;
    config.level = ccid::ExchangeLevel::Tpdu;
    config.maxMessageSize = kGemPcMaxMessage;
    config.escape = gemaltoEscape;
    ccid::CcidDevice::Output output;
    output.bulkIn = [this](const Bytes& reply) {
        trace("serial <-", reply);
        tap_.reply(reply);
        write(ccid::encodeSerialFrame(reply));
    };
    // libccid learns of cards by polling GetSlotStatus; the line carries no interrupts.
    output.log = [this](const std::string& line) {
        qCWarning(lcCcid).noquote()
            << "serial link" << linkPath_ << ":" << QString::fromStdString(line);
    };
    device_ = std::make_unique<ccid::CcidDevice>(config, output);
    for (int index = 0; index < profile_.slots; ++index)
        cardInserted(index);
    connect(&registry_, &ReaderRegistry::cardInserted, this, &SerialLink::cardInserted);
    connect(&registry_, &ReaderRegistry::cardRemoved, this, &SerialLink::cardRemoved);

    readNotifier_ = new QSocketNotifier(master_, QSocketNotifier::Read, this);
    connect(readNotifier_, &QSocketNotifier::activated, this, &SerialLink::onReadable);
    writeNotifier_ = new QSocketNotifier(master_, QSocketNotifier::Write, this);
    writeNotifier_->setEnabled(false);
    connect(writeNotifier_, &QSocketNotifier::activated, this, &SerialLink::flush);
    pulseTimer_.setInterval(kPulseMilliseconds);
    connect(&pulseTimer_, &QTimer::timeout, this, [this] { device_->pulse(); });
    pulseTimer_.start();
    qCInfo(lcServer).noquote() << "serial CCID link" << profile_.name << "on" << linkPath_ << "->"
                               << slaveName;
    return {};
}

void SerialLink::onReadable()
{
    std::uint8_t buffer[4096];
    for (;;) {
        const ssize_t received = ::read(master_, buffer, sizeof buffer);
        if (received <= 0)
            break;
        decoder_.feed(ByteView(buffer, static_cast<std::size_t>(received)));
    }
    while (auto frame = decoder_.next()) {
        if (!*frame) {
            qCWarning(lcCcid).noquote()
                << "serial link" << linkPath_ << ":" << QString::fromStdString(frame->error());
            continue;
        }
        const Bytes& message = **frame;
        if (profile_.echo)
            write(ccid::encodeSerialFrame(message));
        trace("serial ->", message);
        tap_.command(message);
        device_->handleCommand(message);
    }
}

void SerialLink::trace(const char* direction, ByteView message)
{
    // Observed whether traced or not: tracing may start between a command and its answer.
    const ccid::SecretRanges secret = secrets_.observe(message);
    if (lcCcid().isDebugEnabled())
        qCDebug(lcCcid).noquote() << direction
                                  << QString::fromStdString(ccid::describeWire(message, secret));
}

void SerialLink::write(const Bytes& bytes)
{
    unsent_.append(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<qsizetype>(bytes.size()));
    flush();
}

void SerialLink::flush()
{
    while (!unsent_.isEmpty()) {
        const ssize_t written =
            ::write(master_, unsent_.constData(), static_cast<size_t>(unsent_.size()));
        if (written <= 0)
            break;
        unsent_.remove(0, written);
    }
    writeNotifier_->setEnabled(!unsent_.isEmpty());
}

void SerialLink::cardInserted(int index)
{
    const ReaderEntry* entry = registry_.reader(index);
    if (index < profile_.slots && entry && entry->card)
        device_->insertCard(static_cast<std::uint8_t>(index), entry->card, entry->atr);
}

void SerialLink::cardRemoved(int index)
{
    if (index < profile_.slots)
        device_->removeCard(static_cast<std::uint8_t>(index));
}

} // namespace vscard::server
