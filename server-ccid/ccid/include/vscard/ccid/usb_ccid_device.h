// A CCID reader as a USB device seen through USB/IP: the control endpoint (standard requests
// and the CCID class requests), bulk-out carrying PC_to_RDR messages into a CcidDevice, bulk-in
// carrying its replies and interrupt-in carrying NotifySlotChange. URBs complete in order per
// endpoint, an IN URB never gets more than it asked for, and an unlinked URB is never
// completed. Qt-free and single-threaded, like CcidDevice.
#pragma once

#include "vscard/ccid/ccid_device.h"
#include "vscard/ccid/usbip_wire.h"

#include <deque>
#include <functional>
#include <memory>
#include <string>

namespace vscard::ccid {

// What the device says it is: the vendor and product IDs decide which host driver takes it.
// The default is the identity of QEMU's usb-ccid (a Gemalto GemPC433 ID that libccid lists):
// any guest that drives QEMU's reader drives this one.
struct UsbIdentity {
    std::uint16_t vendorId = 0x08E6;
    std::uint16_t productId = 0x4433;
    std::uint16_t bcdDevice = 0x0100;
    std::string manufacturer = "vscard";
    std::string product = "vscard USB CCID reader";
    std::string serialNumber;
    // iInterface: pcscd puts it in the PC/SC reader name between brackets.
    std::string interfaceName;
};

class UsbCcidDevice {
public:
    static constexpr std::uint8_t kBulkOut = 0x02;
    static constexpr std::uint8_t kBulkIn = 0x82;
    static constexpr std::uint8_t kInterruptIn = 0x83;
    static constexpr std::uint8_t kConfigurationValue = 1;

    struct Output {
        // A finished URB; `direction` is the submitted URB's (IN replies carry data).
        std::function<void(const usbip::SubmitReply&, std::uint32_t direction)> completed;
        std::function<void(const usbip::UnlinkReply&)> unlinked;
        std::function<void(const std::string&)> log;
        // Every whole bulk message, either way, for traces: URBs may cut one in pieces.
        // PC_to_RDR before the CCID model takes it, RDR_to_PC as the model sends it.
        std::function<void(ByteView)> bulkMessage;
    };

    UsbCcidDevice(UsbIdentity identity, DeviceConfig config, Output output);
    ~UsbCcidDevice();
    UsbCcidDevice(const UsbCcidDevice&) = delete;
    UsbCcidDevice& operator=(const UsbCcidDevice&) = delete;

    // What OP_REP_DEVLIST and OP_REP_IMPORT say of a device with this identity.
    static usbip::Device describe(const UsbIdentity& identity, std::string path, std::string busId,
                                  std::uint32_t busNumber, std::uint32_t deviceNumber);

    void submit(usbip::Submit urb);
    void unlink(const usbip::Unlink& request);

    // The card side and the time-extension pulse go straight to the CCID model.
    CcidDevice& ccid() { return *ccid_; }

    // The descriptors, for tests and captures.
    Bytes deviceDescriptor() const;
    Bytes configurationDescriptor() const;
    const ClassDescriptor& classDescriptor() const { return classDescriptor_; }

private:
    struct PendingIn {
        std::uint32_t seqnum;
        std::uint32_t length;
    };

    void control(const usbip::Submit& urb);
    std::optional<Bytes> standardRequest(std::uint8_t requestType, std::uint8_t request,
                                         std::uint16_t value, std::uint16_t index,
                                         const Bytes& data);
    std::optional<Bytes> classRequest(std::uint8_t requestType, std::uint8_t request,
                                      std::uint16_t value, const Bytes& data);
    std::optional<Bytes> stringDescriptor(std::uint8_t index) const;
    void bulkOut(const usbip::Submit& urb);
    void queueBulkIn(const Bytes& reply);
    void queueInterrupt(const Bytes& notification);
    // Hands queued data to waiting IN URBs: each URB gets at most its length and never parts
    // of two messages, as a USB transfer ends with each message's short packet.
    void pumpIn(std::deque<PendingIn>& urbs, std::deque<Bytes>& data);
    void complete(std::uint32_t seqnum, std::int32_t status, std::uint32_t direction,
                  Bytes data = {}, std::uint32_t actualLength = 0);
    bool halted(std::uint8_t endpoint) const;
    void log(const std::string& line);

    UsbIdentity identity_;
    ClassDescriptor classDescriptor_;
    Output output_;
    std::unique_ptr<CcidDevice> ccid_;
    std::uint8_t configuration_ = 0;
    Bytes partialCommand_; // bulk-out bytes of a message not yet whole
    std::deque<PendingIn> bulkInUrbs_;
    std::deque<Bytes> bulkInData_;
    std::deque<PendingIn> interruptUrbs_;
    std::deque<Bytes> interruptData_;
    bool bulkOutHalted_ = false;
    bool bulkInHalted_ = false;
};

} // namespace vscard::ccid
