// --pcap: CCID traffic written as a Linux usbmon capture (pcap link type 220), the format
// Wireshark reads from a real USB bus. Each link is a device on bus 1; its configuration
// descriptor opens the capture so that tshark's usbccid dissector claims it without options,
// and `-d usbccid.subdissector,iso7816` decodes the APDUs. Secrets are masked as in traces:
// each device has its SecretTracker, which sees both directions.
#pragma once

#include "vscard/ccid/ccid_wire.h"
#include "vscard/ccid/secret_tracker.h"

#include <cstdio>
#include <map>
#include <memory>
#include <string>

namespace vscard::ccid {

class UsbmonCapture {
public:
    static Result<std::unique_ptr<UsbmonCapture>, std::string> create(const std::string& path);
    ~UsbmonCapture();
    UsbmonCapture(const UsbmonCapture&) = delete;
    UsbmonCapture& operator=(const UsbmonCapture&) = delete;

    // A new reader on the bus; returns its device address.
    std::uint8_t addDevice(const ClassDescriptor& descriptor);
    void command(std::uint8_t device, ByteView pcToRdr);
    void reply(std::uint8_t device, ByteView rdrToPc);
    void interrupt(std::uint8_t device, ByteView notification);

    static constexpr std::uint32_t kLinkTypeUsbLinuxMmapped = 220;

private:
    struct Record {
        char type;             // 'S' submit, 'C' complete
        std::uint8_t transfer; // 1 interrupt, 2 control, 3 bulk
        std::uint8_t endpoint; // bit 7: IN
        std::uint8_t device;
        bool setup = false;
        Bytes setupBytes;
        std::uint32_t urbLength = 0;
        ByteView data;
        std::uint64_t urb = 0; // 0: a new id
    };

    explicit UsbmonCapture(std::FILE* file) : file_(file) {}
    void write(const Record& record);
    SecretTracker& secretsOf(std::uint8_t device);

    std::FILE* file_;
    std::uint64_t nextUrb_ = 1;
    std::uint8_t nextDevice_ = 2;
    std::map<std::uint8_t, SecretTracker> secrets_; // per device
};

// One link's view of the capture: a device on the bus, or nothing when there is no --pcap.
class CaptureTap {
public:
    CaptureTap() = default;
    CaptureTap(UsbmonCapture* capture, const ClassDescriptor& descriptor)
        : capture_(capture), device_(capture ? capture->addDevice(descriptor) : 0)
    {
    }
    void command(ByteView bytes) const
    {
        if (capture_)
            capture_->command(device_, bytes);
    }
    void reply(ByteView bytes) const
    {
        if (capture_)
            capture_->reply(device_, bytes);
    }
    void interrupt(ByteView bytes) const
    {
        if (capture_)
            capture_->interrupt(device_, bytes);
    }

private:
    UsbmonCapture* capture_ = nullptr;
    std::uint8_t device_ = 0;
};

// A bulk message as a capture may keep it: the secret data bytes (a SecretTracker's ranges,
// offsets into the data after the header) replaced by '*', unless --trace-secrets.
Bytes maskSecrets(ByteView message, const SecretRanges& secret);

} // namespace vscard::ccid
