#include "vscard/ccid/usb_ccid_device.h"

#include <algorithm>

namespace vscard::ccid {

namespace {

// USB 2.0 chapter 9.
namespace request {
constexpr std::uint8_t GetStatus = 0x00;
constexpr std::uint8_t ClearFeature = 0x01;
constexpr std::uint8_t SetFeature = 0x03;
constexpr std::uint8_t SetAddress = 0x05;
constexpr std::uint8_t GetDescriptor = 0x06;
constexpr std::uint8_t GetConfiguration = 0x08;
constexpr std::uint8_t SetConfiguration = 0x09;
constexpr std::uint8_t GetInterface = 0x0A;
constexpr std::uint8_t SetInterface = 0x0B;
// CCID 5.3.
constexpr std::uint8_t Abort = 0x01;
constexpr std::uint8_t GetClockFrequencies = 0x02;
constexpr std::uint8_t GetDataRates = 0x03;
} // namespace request

constexpr std::uint8_t kDescriptorDevice = 1;
constexpr std::uint8_t kDescriptorConfiguration = 2;
constexpr std::uint8_t kDescriptorString = 3;
constexpr std::uint8_t kDescriptorCcid = 0x21;
constexpr std::uint16_t kFeatureEndpointHalt = 0;
constexpr std::uint8_t kStringManufacturer = 1;
constexpr std::uint8_t kStringProduct = 2;
constexpr std::uint8_t kStringSerial = 3;
constexpr std::uint8_t kStringInterface = 4;
constexpr std::uint8_t kMaxPacketSize0 = 64;

std::uint16_t littleEndian16(const std::array<std::uint8_t, 8>& setup, std::size_t offset)
{
    return static_cast<std::uint16_t>(setup[offset] | (setup[offset + 1] << 8));
}

// UTF-8 to the UTF-16LE of a string descriptor; what does not decode becomes '?'.
Bytes stringDescriptorOf(const std::string& text)
{
    Bytes out{0, kDescriptorString};
    auto appendUnit = [&out](std::uint32_t unit) {
        out.push_back(static_cast<std::uint8_t>(unit));
        out.push_back(static_cast<std::uint8_t>(unit >> 8));
    };
    for (std::size_t i = 0; i < text.size() && out.size() + 4 <= 255;) {
        const auto lead = static_cast<std::uint8_t>(text[i]);
        const int extra = lead < 0x80 ? 0 : (lead >> 5) == 6 ? 1 : (lead >> 4) == 14 ? 2 : -1;
        std::uint32_t code = extra == 0 ? lead : extra == 1 ? lead & 0x1F : lead & 0x0F;
        bool valid = extra >= 0 && i + static_cast<std::size_t>(extra) < text.size();
        for (int k = 1; valid && k <= extra; ++k) {
            const auto next = static_cast<std::uint8_t>(text[i + static_cast<std::size_t>(k)]);
            valid = (next & 0xC0) == 0x80;
            code = (code << 6) | (next & 0x3F);
        }
        appendUnit(valid ? code : '?');
        i += valid ? static_cast<std::size_t>(extra) + 1 : 1;
    }
    out[0] = static_cast<std::uint8_t>(out.size());
    return out;
}

// Two pending NotifySlotChange messages as one: the latest presence, every change kept.
void mergeNotification(Bytes& pending, const Bytes& next)
{
    if (pending.size() != next.size() ||
        pending[0] != static_cast<std::uint8_t>(MessageType::NotifySlotChange))
        return;
    for (std::size_t i = 1; i < pending.size(); ++i) {
        const std::uint8_t changedBits = (pending[i] | next[i]) & 0xAA;
        pending[i] = static_cast<std::uint8_t>((next[i] & 0x55) | changedBits);
    }
}

} // namespace

UsbCcidDevice::UsbCcidDevice(UsbIdentity identity, DeviceConfig config, Output output)
    : identity_(std::move(identity)), output_(std::move(output))
{
    classDescriptor_.maxSlotIndex = static_cast<std::uint8_t>(config.slotCount - 1);
    classDescriptor_.features =
        config.level == ExchangeLevel::Apdu ? kApduLevelFeatures : kGemPcSerialFeatures;
    classDescriptor_.maxMessageLength = static_cast<std::uint32_t>(config.maxMessageSize);
    CcidDevice::Output ccidOutput;
    ccidOutput.bulkIn = [this](const Bytes& reply) { queueBulkIn(reply); };
    ccidOutput.interrupt = [this](const Bytes& notification) { queueInterrupt(notification); };
    ccidOutput.log = [this](const std::string& line) { log(line); };
    ccid_ = std::make_unique<CcidDevice>(std::move(config), std::move(ccidOutput));
}

UsbCcidDevice::~UsbCcidDevice() = default;

usbip::Device UsbCcidDevice::describe(const UsbIdentity& identity, std::string path,
                                      std::string busId, std::uint32_t busNumber,
                                      std::uint32_t deviceNumber)
{
    usbip::Device device;
    device.path = std::move(path);
    device.busId = std::move(busId);
    device.busNumber = busNumber;
    device.deviceNumber = deviceNumber;
    device.speed = usbip::kSpeedFull;
    device.vendorId = identity.vendorId;
    device.productId = identity.productId;
    device.bcdDevice = identity.bcdDevice;
    device.configurationValue = kConfigurationValue;
    device.numConfigurations = 1;
    device.interfaces = {usbip::Interface{0x0B, 0x00, 0x00}};
    return device;
}

Bytes UsbCcidDevice::deviceDescriptor() const
{
    Bytes out;
    out.reserve(18);
    out.push_back(18);
    out.push_back(kDescriptorDevice);
    appendLittleEndian16(out, 0x0110);           // USB 1.1: full speed, no BOS to ask for
    for (std::uint8_t byte : {0x00, 0x00, 0x00}) // the class is the interface's
        out.push_back(byte);
    out.push_back(kMaxPacketSize0);
    appendLittleEndian16(out, identity_.vendorId);
    appendLittleEndian16(out, identity_.productId);
    appendLittleEndian16(out, identity_.bcdDevice);
    out.push_back(kStringManufacturer);
    out.push_back(kStringProduct);
    out.push_back(identity_.serialNumber.empty() ? 0 : kStringSerial);
    out.push_back(1); // bNumConfigurations
    return out;
}

Bytes UsbCcidDevice::configurationDescriptor() const
{
    return ccid::configurationDescriptor(classDescriptor_,
                                         identity_.interfaceName.empty() ? 0 : kStringInterface);
}

void UsbCcidDevice::submit(usbip::Submit urb)
{
    const std::uint8_t endpoint =
        static_cast<std::uint8_t>(urb.endpoint | (urb.direction == usbip::kDirIn ? 0x80 : 0x00));
    if (urb.endpoint == 0) {
        control(urb);
    } else if (endpoint == kBulkOut) {
        bulkOut(urb);
    } else if (configuration_ == 0 || halted(endpoint)) {
        complete(urb.seqnum, usbip::kEpipe, urb.direction);
    } else if (endpoint == kBulkIn) {
        bulkInUrbs_.push_back({urb.seqnum, urb.transferLength});
        pumpIn(bulkInUrbs_, bulkInData_);
    } else if (endpoint == kInterruptIn) {
        interruptUrbs_.push_back({urb.seqnum, urb.transferLength});
        pumpIn(interruptUrbs_, interruptData_);
    } else {
        log("URB for endpoint " + std::to_string(endpoint) + ", which this reader lacks: stalled");
        complete(urb.seqnum, usbip::kEpipe, urb.direction);
    }
}

void UsbCcidDevice::unlink(const usbip::Unlink& request)
{
    bool found = false;
    for (auto* urbs : {&bulkInUrbs_, &interruptUrbs_}) {
        const auto it = std::find_if(urbs->begin(), urbs->end(), [&](const PendingIn& pending) {
            return pending.seqnum == request.unlinkSeqnum;
        });
        if (it != urbs->end()) {
            urbs->erase(it);
            found = true;
        }
    }
    // -ECONNRESET: unlinked before completion, no RET_SUBMIT follows. 0: it had completed.
    output_.unlinked({request.seqnum, found ? usbip::kEconnreset : 0});
}

void UsbCcidDevice::control(const usbip::Submit& urb)
{
    const std::uint8_t requestType = urb.setup[0];
    const std::uint8_t requestCode = urb.setup[1];
    const std::uint16_t value = littleEndian16(urb.setup, 2);
    const std::uint16_t index = littleEndian16(urb.setup, 4);
    const std::uint16_t length = littleEndian16(urb.setup, 6);
    const auto kind = (requestType >> 5) & 0x03;
    std::optional<Bytes> answer;
    if (kind == 0)
        answer = standardRequest(requestType, requestCode, value, index, urb.data);
    else if (kind == 1 && (requestType & 0x1F) == 1 && (index & 0xFF) == 0)
        answer = classRequest(requestType, requestCode, value, urb.data);
    if (!answer) {
        complete(urb.seqnum, usbip::kEpipe, urb.direction);
        return;
    }
    if (urb.direction == usbip::kDirOut) {
        complete(urb.seqnum, 0, urb.direction, {}, static_cast<std::uint32_t>(urb.data.size()));
        return;
    }
    const std::size_t size = std::min<std::size_t>(
        {answer->size(), length, static_cast<std::size_t>(urb.transferLength)});
    answer->resize(size);
    complete(urb.seqnum, 0, urb.direction, std::move(*answer), static_cast<std::uint32_t>(size));
}

std::optional<Bytes> UsbCcidDevice::standardRequest(std::uint8_t requestType, std::uint8_t request,
                                                    std::uint16_t value, std::uint16_t index,
                                                    const Bytes& /*data*/)
{
    const auto recipient = requestType & 0x1F;
    const bool toEndpoint = recipient == 2;
    const auto endpoint = static_cast<std::uint8_t>(index & 0xFF);
    const bool knownEndpoint =
        endpoint == kBulkOut || endpoint == kBulkIn || endpoint == kInterruptIn;
    switch (request) {
    case request::GetStatus:
        if (toEndpoint && knownEndpoint)
            return Bytes{static_cast<std::uint8_t>(halted(endpoint) ? 1 : 0), 0};
        return Bytes{0, 0}; // bus powered, no remote wakeup
    case request::ClearFeature:
    case request::SetFeature:
        if (toEndpoint && value == kFeatureEndpointHalt && knownEndpoint) {
            const bool halt = request == request::SetFeature;
            if (endpoint == kBulkOut) {
                bulkOutHalted_ = halt;
                partialCommand_.clear(); // the host starts the next message afresh
            } else if (endpoint == kBulkIn) {
                bulkInHalted_ = halt;
            }
            return Bytes{};
        }
        return std::nullopt;
    case request::SetAddress: return Bytes{};
    case request::GetDescriptor: {
        const auto type = static_cast<std::uint8_t>(value >> 8);
        if (type == kDescriptorDevice)
            return deviceDescriptor();
        if (type == kDescriptorConfiguration && (value & 0xFF) == 0)
            return configurationDescriptor();
        if (type == kDescriptorString)
            return stringDescriptor(static_cast<std::uint8_t>(value & 0xFF));
        if (type == kDescriptorCcid)
            return classDescriptor_.encode();
        return std::nullopt; // device qualifier and the rest: a full-speed-only device
    }
    case request::GetConfiguration: return Bytes{configuration_};
    case request::SetConfiguration:
        if (value > kConfigurationValue)
            return std::nullopt;
        configuration_ = static_cast<std::uint8_t>(value);
        bulkOutHalted_ = bulkInHalted_ = false;
        partialCommand_.clear();
        // The host learns which slots hold a card as soon as it listens.
        if (configuration_ != 0)
            queueInterrupt(ccid_->currentSlotState());
        return Bytes{};
    case request::GetInterface: return index == 0 ? std::optional<Bytes>(Bytes{0}) : std::nullopt;
    case request::SetInterface:
        return index == 0 && value == 0 ? std::optional<Bytes>(Bytes{}) : std::nullopt;
    default: return std::nullopt;
    }
}

std::optional<Bytes> UsbCcidDevice::classRequest(std::uint8_t requestType, std::uint8_t request,
                                                 std::uint16_t value, const Bytes& /*data*/)
{
    const bool in = (requestType & 0x80) != 0;
    switch (request) {
    case request::Abort:
        // The host follows it with PC_to_RDR_Abort on bulk-out, which the CCID model answers
        // (CCID 5.3.1); the control half has nothing to return.
        if (in)
            return std::nullopt;
        log("ABORT for slot " + std::to_string(value & 0xFF) + " seq " +
            std::to_string(value >> 8));
        return Bytes{};
    case request::GetClockFrequencies: {
        if (!in)
            return std::nullopt;
        Bytes out;
        appendLittleEndian32(out, classDescriptor_.defaultClockKhz);
        return out;
    }
    case request::GetDataRates: {
        if (!in)
            return std::nullopt;
        Bytes out;
        appendLittleEndian32(out, classDescriptor_.dataRate);
        return out;
    }
    default: return std::nullopt;
    }
}

std::optional<Bytes> UsbCcidDevice::stringDescriptor(std::uint8_t index) const
{
    switch (index) {
    case 0: return Bytes{4, kDescriptorString, 0x09, 0x04}; // English (US) only
    case kStringManufacturer: return stringDescriptorOf(identity_.manufacturer);
    case kStringProduct: return stringDescriptorOf(identity_.product);
    case kStringSerial:
        if (identity_.serialNumber.empty())
            return std::nullopt;
        return stringDescriptorOf(identity_.serialNumber);
    case kStringInterface:
        if (identity_.interfaceName.empty())
            return std::nullopt;
        return stringDescriptorOf(identity_.interfaceName);
    default: return std::nullopt;
    }
}

void UsbCcidDevice::bulkOut(const usbip::Submit& urb)
{
    if (configuration_ == 0 || bulkOutHalted_) {
        complete(urb.seqnum, usbip::kEpipe, urb.direction);
        return;
    }
    partialCommand_.insert(partialCommand_.end(), urb.data.begin(), urb.data.end());
    std::vector<Bytes> commands;
    while (partialCommand_.size() >= kHeaderSize) {
        const std::size_t size = kHeaderSize + announcedLength(partialCommand_);
        if (size > classDescriptor_.maxMessageLength) {
            log("bulk-out message of " + std::to_string(size) + " bytes, over the " +
                std::to_string(classDescriptor_.maxMessageLength) +
                " of dwMaxCCIDMessageLength: endpoint stalled");
            partialCommand_.clear();
            bulkOutHalted_ = true;
            complete(urb.seqnum, usbip::kEpipe, urb.direction);
            return;
        }
        if (partialCommand_.size() < size)
            break;
        commands.emplace_back(partialCommand_.begin(),
                              partialCommand_.begin() + static_cast<std::ptrdiff_t>(size));
        partialCommand_.erase(partialCommand_.begin(),
                              partialCommand_.begin() + static_cast<std::ptrdiff_t>(size));
    }
    // The OUT URB completes before the replies it causes, as on a real bus.
    complete(urb.seqnum, 0, urb.direction, {}, static_cast<std::uint32_t>(urb.data.size()));
    for (const Bytes& command : commands) {
        if (output_.bulkMessage)
            output_.bulkMessage(command);
        ccid_->handleCommand(command);
    }
}

void UsbCcidDevice::queueBulkIn(const Bytes& reply)
{
    if (output_.bulkMessage)
        output_.bulkMessage(reply);
    bulkInData_.push_back(reply);
    pumpIn(bulkInUrbs_, bulkInData_);
}

void UsbCcidDevice::queueInterrupt(const Bytes& notification)
{
    if (!interruptData_.empty())
        mergeNotification(interruptData_.back(), notification);
    else
        interruptData_.push_back(notification);
    pumpIn(interruptUrbs_, interruptData_);
}

void UsbCcidDevice::pumpIn(std::deque<PendingIn>& urbs, std::deque<Bytes>& data)
{
    while (!urbs.empty() && !data.empty()) {
        const PendingIn urb = urbs.front();
        urbs.pop_front();
        Bytes& message = data.front();
        const std::size_t size = std::min<std::size_t>(message.size(), urb.length);
        Bytes chunk(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(size));
        message.erase(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(size));
        if (message.empty())
            data.pop_front();
        complete(urb.seqnum, 0, usbip::kDirIn, std::move(chunk), static_cast<std::uint32_t>(size));
    }
}

void UsbCcidDevice::complete(std::uint32_t seqnum, std::int32_t status, std::uint32_t direction,
                             Bytes data, std::uint32_t actualLength)
{
    usbip::SubmitReply reply;
    reply.seqnum = seqnum;
    reply.status = status;
    reply.actualLength = actualLength;
    reply.data = std::move(data);
    output_.completed(reply, direction);
}

bool UsbCcidDevice::halted(std::uint8_t endpoint) const
{
    return (endpoint == kBulkOut && bulkOutHalted_) || (endpoint == kBulkIn && bulkInHalted_);
}

void UsbCcidDevice::log(const std::string& line)
{
    if (output_.log)
        output_.log(line);
}

} // namespace vscard::ccid
