// libifd-vscard.so: the IFDHandler API that pcscd calls, translated into CCID commands on the
// link to server-ccid. Nothing here throws across the C ABI or waits without a bound.
#include "device_name.h"
#include "driver_link.h"
#include "driver_log.h"
#include "vscard/atr.h"
#include "vscard/fault_injection.h"

// pcsc-lite's driver headers declare the IFDH functions without C linkage guards.
extern "C" {
#include <ifdhandler.h>
#include <reader.h>
}

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#define VSCARD_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using vscard::Bytes;
using vscard::ifd::DriverLink;
using vscard::ifd::log;
namespace ccid = vscard::ccid;

// One reader.conf entry: pcscd gives it Luns (index << 16) | slot and opens each slot.
struct Reader {
    std::string deviceName;
    std::unique_ptr<DriverLink> link;
    unsigned openSlots = 0;
    std::mutex atrMutex;
    std::vector<Bytes> atrs; // the ATR of each slot's last power-up
};

std::mutex readersMutex;
std::map<DWORD, std::shared_ptr<Reader>> readers;

DWORD readerIndex(DWORD lun)
{
    return lun >> 16;
}
std::uint8_t slotOf(DWORD lun)
{
    return static_cast<std::uint8_t>(lun & 0xFFFF);
}

std::shared_ptr<Reader> findReader(DWORD lun)
{
    std::lock_guard lock(readersMutex);
    const auto found = readers.find(readerIndex(lun));
    if (found == readers.end() || slotOf(lun) >= found->second->link->slotCount())
        return nullptr;
    return found->second;
}

// Every function pcscd calls, the polling functions it is handed included, runs in here: an
// exception is logged and becomes an error code, never a terminated pcscd. In a test build
// VSCARD_FAULT=<what> makes the guard itself fail once (vscard/fault_injection.h).
template <typename Function>
RESPONSECODE guarded(const char* what, Function&& function) noexcept
{
    try {
        vscard::faultPoint(what);
        return function();
    } catch (const std::exception& error) {
        log("%s: %s", what, error.what());
    } catch (...) {
        log("%s: unknown failure", what);
    }
    return IFD_COMMUNICATION_ERROR;
}

// pcscd's polling thread calls these through the pointers IFDHGetCapabilities hands it.
RESPONSECODE pollForEvent(DWORD lun, int timeoutMs)
{
    return guarded("polling function", [&]() -> RESPONSECODE {
        if (auto reader = findReader(lun))
            reader->link->waitForEvent(slotOf(lun), timeoutMs);
        return IFD_SUCCESS;
    });
}

RESPONSECODE stopPolling(DWORD lun)
{
    return guarded("stop-polling function", [&]() -> RESPONSECODE {
        if (auto reader = findReader(lun))
            reader->link->stopWaiting(slotOf(lun));
        return IFD_SUCCESS;
    });
}

ccid::Message command(ccid::MessageType type, DWORD lun, Bytes data = {},
                      std::array<std::uint8_t, 3> specific = {})
{
    return ccid::Message{static_cast<std::uint8_t>(type), slotOf(lun), 0, specific,
                         std::move(data)};
}

// The reply if the command succeeded; logs and returns nullopt otherwise.
std::optional<ccid::Message> exchange(Reader& reader, const ccid::Message& request)
{
    auto reply = reader.link->exchange(request);
    if (!reply) {
        log("slot %u: %s: %s", request.slot, ccid::messageTypeName(request.type).data(),
            reply.error().c_str());
        return std::nullopt;
    }
    if (ccid::commandStatusOf(reply->specific[0]) != ccid::CommandStatus::Ok) {
        log("slot %u: %s failed: bError %02X (%s)", request.slot,
            ccid::messageTypeName(request.type).data(), reply->specific[1],
            ccid::errorName(reply->specific[1]).data());
        return std::nullopt;
    }
    return std::move(reply).value();
}

RESPONSECODE copyOut(const void* data, std::size_t size, PDWORD length, PUCHAR value)
{
    if (*length < size)
        return IFD_ERROR_INSUFFICIENT_BUFFER;
    std::memcpy(value, data, size);
    *length = static_cast<DWORD>(size);
    return IFD_SUCCESS;
}

RESPONSECODE copyByte(std::uint8_t byte, PDWORD length, PUCHAR value)
{
    return copyOut(&byte, 1, length, value);
}

// PC/SC part 10: the ioctl behind FEATURE_GET_TLV_PROPERTIES, and its answer, which tells
// OpenSC that this reader takes extended APDUs.
constexpr DWORD kIoctlGetTlvProperties = SCARD_CTL_CODE(0x330000 + FEATURE_GET_TLV_PROPERTIES);

} // namespace

VSCARD_EXPORT RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
    return guarded("IFDHCreateChannelByName", [&]() -> RESPONSECODE {
        auto name = vscard::ifd::DeviceName::parse(DeviceName ? DeviceName : "");
        if (!name) {
            log("%s", name.error().c_str());
            return IFD_COMMUNICATION_ERROR;
        }
        std::lock_guard lock(readersMutex);
        auto& reader = readers[readerIndex(Lun)];
        if (!reader) {
            reader = std::make_shared<Reader>();
            reader->deviceName = DeviceName;
            reader->link = std::make_unique<DriverLink>(name->socketPath, name->slots);
            reader->atrs.resize(name->slots);
        } else if (reader->deviceName != DeviceName) {
            log("Lun %lX: DEVICENAME %s differs from %s of the same reader", Lun, DeviceName,
                reader->deviceName.c_str());
            return IFD_COMMUNICATION_ERROR;
        }
        if (slotOf(Lun) >= reader->link->slotCount())
            return IFD_COMMUNICATION_ERROR;
        ++reader->openSlots;
        return IFD_SUCCESS;
    });
}

VSCARD_EXPORT RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
    log("Lun %lX: CHANNELID %lu without DEVICENAME; set DEVICENAME to the server's socket", Lun,
        Channel);
    return IFD_COMMUNICATION_ERROR;
}

VSCARD_EXPORT RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
    return guarded("IFDHCloseChannel", [&]() -> RESPONSECODE {
        std::shared_ptr<Reader> closing;
        {
            std::lock_guard lock(readersMutex);
            const auto found = readers.find(readerIndex(Lun));
            if (found == readers.end())
                return IFD_SUCCESS;
            if (--found->second->openSlots == 0) {
                closing = std::move(found->second);
                readers.erase(found);
            }
        }
        return IFD_SUCCESS; // the last slot's close stops the link thread here
    });
}

VSCARD_EXPORT RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
    return guarded("IFDHGetCapabilities", [&]() -> RESPONSECODE {
        auto reader = findReader(Lun);
        if (!reader)
            return IFD_COMMUNICATION_ERROR;
        switch (Tag) {
        case TAG_IFD_ATR:
        case SCARD_ATTR_ATR_STRING: {
            std::lock_guard lock(reader->atrMutex);
            const Bytes& atr = reader->atrs[slotOf(Lun)];
            return copyOut(atr.data(), atr.size(), Length, Value);
        }
        case SCARD_ATTR_ICC_PRESENCE:
            return copyByte(reader->link->reportPresence(slotOf(Lun)) ? 2 : 0, Length, Value);
        case TAG_IFD_SLOTS_NUMBER:
            return copyByte(static_cast<std::uint8_t>(reader->link->slotCount()), Length, Value);
        case TAG_IFD_SLOT_THREAD_SAFE:
        case TAG_IFD_THREAD_SAFE: return copyByte(1, Length, Value);
        case TAG_IFD_SIMULTANEOUS_ACCESS: return copyByte(16, Length, Value);
        case TAG_IFD_POLLING_THREAD_KILLABLE: return copyByte(0, Length, Value);
        case TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: {
            auto* function = &pollForEvent;
            return copyOut(&function, sizeof function, Length, Value);
        }
        case TAG_IFD_STOP_POLLING_THREAD: {
            auto* function = &stopPolling;
            return copyOut(&function, sizeof function, Length, Value);
        }
        case SCARD_ATTR_VENDOR_NAME: return copyOut("vscard", 6, Length, Value);
        case SCARD_ATTR_MAXINPUT: {
            const std::uint32_t maxInput = 65544;
            return copyOut(&maxInput, sizeof maxInput, Length, Value);
        }
        default: return IFD_ERROR_TAG;
        }
    });
}

VSCARD_EXPORT RESPONSECODE IFDHSetCapabilities(DWORD, DWORD, DWORD, PUCHAR)
{
    return IFD_NOT_SUPPORTED;
}

VSCARD_EXPORT RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR, UCHAR, UCHAR,
                                                     UCHAR)
{
    return guarded("IFDHSetProtocolParameters", [&]() -> RESPONSECODE {
        auto reader = findReader(Lun);
        if (!reader)
            return IFD_COMMUNICATION_ERROR;
        Bytes atr;
        {
            std::lock_guard lock(reader->atrMutex);
            atr = reader->atrs[slotOf(Lun)];
        }
        // An APDU-level reader negotiates nothing: it accepts a protocol the card offers, and
        // for any other pcscd falls back to the card's default (IFD_NOT_SUPPORTED).
        const auto parsed = vscard::Atr::parse(atr);
        const unsigned t = Protocol == SCARD_PROTOCOL_T1 ? 1 : 0;
        if (parsed && parsed->offersProtocol(t))
            return IFD_SUCCESS;
        return IFD_NOT_SUPPORTED;
    });
}

VSCARD_EXPORT RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
    return guarded("IFDHPowerICC", [&]() -> RESPONSECODE {
        auto reader = findReader(Lun);
        if (!reader)
            return IFD_COMMUNICATION_ERROR;
        const std::uint8_t slot = slotOf(Lun);
        if (Action == IFD_POWER_DOWN) {
            {
                std::lock_guard lock(reader->atrMutex);
                reader->atrs[slot].clear();
            }
            *AtrLength = 0;
            return exchange(*reader, command(ccid::MessageType::IccPowerOff, Lun))
                       ? IFD_SUCCESS
                       : IFD_ERROR_POWER_ACTION;
        }
        if (Action != IFD_POWER_UP && Action != IFD_RESET)
            return IFD_NOT_SUPPORTED;
        // IccPowerOn on a powered card is the reset a CCID reader can do; the server forwards
        // it to a card side that announced card-power, so the card logs out.
        const auto reply = exchange(*reader, command(ccid::MessageType::IccPowerOn, Lun));
        if (!reply) {
            *AtrLength = 0;
            return IFD_ERROR_POWER_ACTION;
        }
        if (reply->data.size() > MAX_ATR_SIZE || reply->data.size() > *AtrLength) {
            log("slot %u: ATR of %zu bytes does not fit", slot, reply->data.size());
            *AtrLength = 0;
            return IFD_ERROR_POWER_ACTION;
        }
        std::memcpy(Atr, reply->data.data(), reply->data.size());
        *AtrLength = static_cast<DWORD>(reply->data.size());
        std::lock_guard lock(reader->atrMutex);
        reader->atrs[slot] = reply->data;
        return IFD_SUCCESS;
    });
}

VSCARD_EXPORT RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER, PUCHAR TxBuffer,
                                             DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
                                             PSCARD_IO_HEADER)
{
    return guarded("IFDHTransmitToICC", [&]() -> RESPONSECODE {
        auto reader = findReader(Lun);
        if (!reader) {
            *RxLength = 0;
            return IFD_COMMUNICATION_ERROR;
        }
        const auto reply = exchange(*reader, command(ccid::MessageType::XfrBlock, Lun,
                                                     Bytes(TxBuffer, TxBuffer + TxLength)));
        if (!reply) {
            *RxLength = 0;
            return IFD_COMMUNICATION_ERROR;
        }
        if (reply->data.size() > *RxLength) {
            log("slot %u: response of %zu bytes, pcscd's buffer holds %lu", slotOf(Lun),
                reply->data.size(), *RxLength);
            *RxLength = 0;
            return IFD_ERROR_INSUFFICIENT_BUFFER;
        }
        std::memcpy(RxBuffer, reply->data.data(), reply->data.size());
        *RxLength = static_cast<DWORD>(reply->data.size());
        return IFD_SUCCESS;
    });
}

VSCARD_EXPORT RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR, DWORD,
                                       PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
    return guarded("IFDHControl", [&]() -> RESPONSECODE {
        *pdwBytesReturned = 0;
        if (!findReader(Lun))
            return IFD_COMMUNICATION_ERROR;
        if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST) {
            // One feature: FEATURE_GET_TLV_PROPERTIES, its ioctl code big-endian.
            const std::uint8_t answer[] = {FEATURE_GET_TLV_PROPERTIES,
                                           4,
                                           static_cast<std::uint8_t>(kIoctlGetTlvProperties >> 24),
                                           static_cast<std::uint8_t>(kIoctlGetTlvProperties >> 16),
                                           static_cast<std::uint8_t>(kIoctlGetTlvProperties >> 8),
                                           static_cast<std::uint8_t>(kIoctlGetTlvProperties)};
            if (RxLength < sizeof answer)
                return IFD_ERROR_INSUFFICIENT_BUFFER;
            std::memcpy(RxBuffer, answer, sizeof answer);
            *pdwBytesReturned = sizeof answer;
            return IFD_SUCCESS;
        }
        if (dwControlCode == kIoctlGetTlvProperties) {
            // dwMaxAPDUDataSize 65536, little-endian: extended APDUs pass.
            const std::uint8_t answer[] = {
                PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize, 4, 0x00, 0x00, 0x01, 0x00};
            if (RxLength < sizeof answer)
                return IFD_ERROR_INSUFFICIENT_BUFFER;
            std::memcpy(RxBuffer, answer, sizeof answer);
            *pdwBytesReturned = sizeof answer;
            return IFD_SUCCESS;
        }
        return IFD_ERROR_NOT_SUPPORTED;
    });
}

VSCARD_EXPORT RESPONSECODE IFDHICCPresence(DWORD Lun)
{
    return guarded("IFDHICCPresence", [&]() -> RESPONSECODE {
        auto reader = findReader(Lun);
        if (!reader)
            return IFD_COMMUNICATION_ERROR;
        return reader->link->reportPresence(slotOf(Lun)) ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
    });
}
