#include "vscard/ccid/usbmon_capture.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace vscard::ccid {

namespace {

constexpr std::uint8_t kTransferInterrupt = 1;
constexpr std::uint8_t kTransferControl = 2;
constexpr std::uint8_t kTransferBulk = 3;
constexpr std::int32_t kInProgress = -115; // -EINPROGRESS, the status of a submitted URB

void appendLittleEndian64(Bytes& out, std::uint64_t value)
{
    appendLittleEndian32(out, static_cast<std::uint32_t>(value));
    appendLittleEndian32(out, static_cast<std::uint32_t>(value >> 32));
}

} // namespace

Bytes maskSecrets(ByteView message, const SecretRanges& secret)
{
    Bytes masked(message.begin(), message.end());
    if (trace::revealSecrets() || masked.size() <= kHeaderSize)
        return masked;
    const std::size_t dataSize = masked.size() - kHeaderSize;
    for (const trace::ByteRange& range : secret) {
        const std::size_t begin = std::min(range.offset, dataSize);
        const std::size_t end = std::min(dataSize, begin + range.length);
        std::fill(masked.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + begin),
                  masked.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + end), '*');
    }
    return masked;
}

Result<std::unique_ptr<UsbmonCapture>, std::string> UsbmonCapture::create(const std::string& path)
{
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file)
        return fail(path + ": " + std::strerror(errno));
    Bytes header;
    appendLittleEndian32(header, 0xA1B2C3D4); // microsecond timestamps
    appendLittleEndian16(header, 2);
    appendLittleEndian16(header, 4);
    appendLittleEndian32(header, 0);      // thiszone
    appendLittleEndian32(header, 0);      // sigfigs
    appendLittleEndian32(header, 262144); // snaplen
    appendLittleEndian32(header, kLinkTypeUsbLinuxMmapped);
    std::fwrite(header.data(), 1, header.size(), file);
    std::fflush(file);
    return std::unique_ptr<UsbmonCapture>(new UsbmonCapture(file));
}

UsbmonCapture::~UsbmonCapture()
{
    std::fclose(file_);
}

void UsbmonCapture::write(const Record& record)
{
    timespec now = {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const auto microseconds = static_cast<std::uint32_t>(now.tv_nsec / 1000);
    Bytes header;
    appendLittleEndian64(header, record.urb != 0 ? record.urb : nextUrb_++);
    header.push_back(static_cast<std::uint8_t>(record.type));
    header.push_back(record.transfer);
    header.push_back(record.endpoint);
    header.push_back(record.device);
    appendLittleEndian16(header, 1); // bus
    header.push_back(record.setup ? 0 : '-');
    header.push_back(record.data.empty() ? (record.endpoint & 0x80 ? '<' : '>') : 0);
    appendLittleEndian64(header, static_cast<std::uint64_t>(now.tv_sec));
    appendLittleEndian32(header, microseconds);
    appendLittleEndian32(header, static_cast<std::uint32_t>(record.type == 'S' ? kInProgress : 0));
    appendLittleEndian32(header, record.urbLength);
    appendLittleEndian32(header, static_cast<std::uint32_t>(record.data.size()));
    Bytes setup = record.setupBytes;
    setup.resize(8, 0);
    header.insert(header.end(), setup.begin(), setup.end());
    for (int field = 0; field < 4; ++field) // interval, start_frame, xfer_flags, ndesc
        appendLittleEndian32(header, 0);

    Bytes packet;
    const auto length = static_cast<std::uint32_t>(header.size() + record.data.size());
    appendLittleEndian32(packet, static_cast<std::uint32_t>(now.tv_sec));
    appendLittleEndian32(packet, microseconds);
    appendLittleEndian32(packet, length);
    appendLittleEndian32(packet, length);
    packet.insert(packet.end(), header.begin(), header.end());
    packet.insert(packet.end(), record.data.begin(), record.data.end());
    std::fwrite(packet.data(), 1, packet.size(), file_);
    std::fflush(file_); // a capture of a server that gets killed must still be readable
}

std::uint8_t UsbmonCapture::addDevice(const ClassDescriptor& descriptor)
{
    const std::uint8_t device = nextDevice_++;
    const Bytes configuration = configurationDescriptor(descriptor);
    const auto length = static_cast<std::uint16_t>(configuration.size());
    // GET_DESCRIPTOR(CONFIGURATION) on endpoint 0, as a host enumerating the reader does.
    const Bytes setup{0x80,
                      0x06,
                      0x00,
                      0x02,
                      0x00,
                      0x00,
                      static_cast<std::uint8_t>(length),
                      static_cast<std::uint8_t>(length >> 8)};
    // Submission and completion carry the same URB id: that is how tshark pairs them.
    const std::uint64_t urb = nextUrb_++;
    write(Record{'S', kTransferControl, 0x80, device, true, setup, length, {}, urb});
    write(Record{'C', kTransferControl, 0x80, device, false, {}, length, configuration, urb});
    secrets_.emplace(device, SecretTracker(exchangeLevelOf(descriptor)));
    return device;
}

SecretTracker& UsbmonCapture::secretsOf(std::uint8_t device)
{
    // Every device comes from addDevice(); one that did not would still be tracked.
    return secrets_.try_emplace(device, ExchangeLevel::Apdu).first->second;
}

void UsbmonCapture::command(std::uint8_t device, ByteView pcToRdr)
{
    const Bytes masked = maskSecrets(pcToRdr, secretsOf(device).observe(pcToRdr));
    write(Record{'S',
                 kTransferBulk,
                 0x02,
                 device,
                 false,
                 {},
                 static_cast<std::uint32_t>(masked.size()),
                 masked});
}

void UsbmonCapture::reply(std::uint8_t device, ByteView rdrToPc)
{
    const Bytes masked = maskSecrets(rdrToPc, secretsOf(device).observe(rdrToPc));
    write(Record{'C',
                 kTransferBulk,
                 0x82,
                 device,
                 false,
                 {},
                 static_cast<std::uint32_t>(masked.size()),
                 masked});
}

void UsbmonCapture::interrupt(std::uint8_t device, ByteView notification)
{
    write(Record{'C',
                 kTransferInterrupt,
                 0x83,
                 device,
                 false,
                 {},
                 static_cast<std::uint32_t>(notification.size()),
                 notification});
}

} // namespace vscard::ccid
