// Virtual readers: reference counted, each with at most one card, kept in one process-wide
// list that consumers copy (vreader_get_reader_list) and search by id or name.
#include "capi_internal.h"
#include "qemu_host.h"

#include "vscard/fault_injection.h"
#include "vscard/qemu_quirks.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct VReaderStruct {
    std::atomic<int> reference_count{1};
    std::mutex lock; // guards card and heldTail
    VCard* card = nullptr;
    vscard::Bytes heldTail; // of the last response, for QEMU's usb-ccid (qemu_quirks.h)
    std::string name;
    std::atomic<vreader_id_t> id{static_cast<vreader_id_t>(-1)};
    VReaderEmul* reader_private = nullptr;
    VReaderEmulFree reader_private_free = nullptr;
};

struct VReaderListEntryStruct {
    VReaderListEntry* next = nullptr;
    VReader* reader = nullptr; // referenced
};

struct VReaderListStruct {
    VReaderListEntry* head = nullptr;
};

namespace {

struct ReaderList {
    std::mutex mutex;
    std::vector<VReader*> readers; // each referenced by the list
};

// Immortal, as the readers it holds: consumers may use them until the process ends, and
// there is no call that ends the list.
ReaderList& readerList()
{
    return vscard::capi::immortal<ReaderList>();
}

// The first listed reader that matches, referenced; nullptr if none.
template <typename Matches>
VReader* findReader(Matches&& matches)
{
    ReaderList& all = readerList();
    std::lock_guard lock(all.mutex);
    for (VReader* reader : all.readers)
        if (matches(reader))
            return vreader_reference(reader);
    return nullptr;
}

std::optional<vscard::Bytes> takeHeldTail(VReader* reader)
{
    std::lock_guard lock(reader->lock);
    if (reader->heldTail.empty())
        return std::nullopt;
    return std::exchange(reader->heldTail, {});
}

VCard* cardOf(VReader* reader)
{
    std::lock_guard lock(reader->lock);
    return vcard_reference(reader->card);
}

VReaderStatus resetCard(VReader* reader, VCardPower power, unsigned char* atr, int* length)
{
    (void)takeHeldTail(reader); // a reset ends what was pending
    VCard* card = cardOf(reader);
    if (!card)
        return VREADER_NO_CARD;
    vcard_reset(card, power);
    if (atr && length)
        vcard_get_atr(card, atr, length);
    vcard_free(card);
    return VREADER_OK;
}

} // namespace

extern "C" {

VReader* vreader_new(const char* name, VReaderEmul* emulPrivate, VReaderEmulFree privateFree)
{
    return vscard::capi::guarded("vreader_new", static_cast<VReader*>(nullptr), [&] {
        auto* reader = new VReader;
        reader->name = name ? name : "";
        reader->reader_private = emulPrivate;
        reader->reader_private_free = privateFree;
        return reader;
    });
}

VReader* vreader_reference(VReader* reader)
{
    if (reader)
        ++reader->reference_count;
    return reader;
}

void vreader_free(VReader* reader)
{
    vscard::capi::guardedVoid("vreader_free", [reader] {
        if (!reader || --reader->reference_count > 0)
            return;
        vcard_free(reader->card);
        if (reader->reader_private_free)
            reader->reader_private_free(reader->reader_private);
        delete reader;
    });
}

VReaderEmul* vreader_get_private(VReader* reader)
{
    return reader ? reader->reader_private : nullptr;
}

VReaderStatus vreader_card_is_present(VReader* reader)
{
    return vscard::capi::guarded("vreader_card_is_present", VREADER_NO_CARD, [reader] {
        if (!reader)
            return VREADER_NO_CARD;
        VCard* card = cardOf(reader);
        if (!card)
            return VREADER_NO_CARD;
        vcard_free(card);
        return VREADER_OK;
    });
}

vreader_id_t vreader_get_id(VReader* reader)
{
    return reader ? reader->id.load() : static_cast<vreader_id_t>(-1);
}

VReaderStatus vreader_set_id(VReader* reader, vreader_id_t id)
{
    if (!reader)
        return VREADER_NO_CARD;
    reader->id = id;
    return VREADER_OK;
}

const char* vreader_get_name(VReader* reader)
{
    return reader ? reader->name.c_str() : nullptr;
}

VReaderStatus vreader_power_on(VReader* reader, unsigned char* atr, int* len)
{
    if (!reader)
        return VREADER_NO_CARD;
    return vscard::capi::guarded("vreader_power_on", VREADER_NO_CARD,
                                 [&] { return resetCard(reader, VCARD_POWER_ON, atr, len); });
}

VReaderStatus vreader_power_off(VReader* reader)
{
    if (!reader)
        return VREADER_NO_CARD;
    return vscard::capi::guarded("vreader_power_off", VREADER_NO_CARD, [reader] {
        return resetCard(reader, VCARD_POWER_OFF, nullptr, nullptr);
    });
}

namespace {

struct CardReference {
    VCard* card;
    ~CardReference() { vcard_free(card); }
};
struct ExchangeParts {
    VCardAPDU* apdu = nullptr;
    VCardResponse* response = nullptr;
    ~ExchangeParts()
    {
        vcard_response_delete(response);
        vcard_apdu_delete(apdu);
    }
};

VReaderStatus transfer(VReader* reader, unsigned char* sendBuffer, int sendLength,
                       unsigned char* receiveBuffer, int* receiveLength)
{
    VCard* card = cardOf(reader);
    if (!card)
        return VREADER_NO_CARD;
    const CardReference held{card};
    vscard::faultPoint("vreader_xfr_bytes/exchange"); // with a card reference held
    if (auto tail = takeHeldTail(reader)) {
        if (sendBuffer && sendLength >= 4 &&
            vscard::fetchesHeldTail(
                vscard::ByteView(sendBuffer, static_cast<std::size_t>(sendLength)))) {
            const int size = std::min(*receiveLength, static_cast<int>(tail->size()));
            std::memcpy(receiveBuffer, tail->data(), static_cast<std::size_t>(std::max(size, 0)));
            *receiveLength = size;
            return VREADER_OK;
        }
    }
    ExchangeParts parts;
    VCardStatus status = VCARD_DONE;
    unsigned short parseStatus = 0;
    parts.apdu = vcard_apdu_new(sendBuffer, sendLength, &parseStatus);
    if (!parts.apdu)
        parts.response = vcard_make_response(parseStatus);
    else
        status = vcard_process_apdu(card, parts.apdu, &parts.response);
    if (status == VCARD_FAIL || !parts.response) {
        *receiveLength = 0;
        return VREADER_NO_CARD;
    }
    vscard::ByteView answer(parts.response->b_data,
                            static_cast<std::size_t>(parts.response->b_total_len));
    vscard::Bytes first;
    if (vscard::capi::answersReachQemuUsbCcid()) {
        auto [now, tail] = vscard::qemuSafeResponse(answer);
        if (!tail.empty()) {
            std::lock_guard lock(reader->lock);
            reader->heldTail = std::move(tail);
            first = std::move(now);
            answer = first;
        }
    }
    const int size = std::min(*receiveLength, static_cast<int>(answer.size()));
    if (size > 0)
        std::memcpy(receiveBuffer, answer.data(), static_cast<std::size_t>(size));
    *receiveLength = size;
    return VREADER_OK;
}

} // namespace

VReaderStatus vreader_xfr_bytes(VReader* reader, unsigned char* sendBuffer, int sendLength,
                                unsigned char* receiveBuffer, int* receiveLength)
{
    if (!reader || !receiveLength)
        return VREADER_NO_CARD;
    // QEMU's per-APDU entry: whatever fails in here (an allocation, say) is an error code for
    // this APDU, never an exception through QEMU with the guest in it.
    return vscard::capi::guarded("vreader_xfr_bytes", VREADER_NO_CARD, [&] {
        return transfer(reader, sendBuffer, sendLength, receiveBuffer, receiveLength);
    });
}

VReaderList* vreader_get_reader_list(void)
{
    return vscard::capi::guarded("vreader_get_reader_list", static_cast<VReaderList*>(nullptr), [] {
        auto* list = new VReaderList;
        ReaderList& all = readerList();
        std::lock_guard lock(all.mutex);
        VReaderListEntry** link = &list->head;
        for (VReader* reader : all.readers) {
            auto* entry = new VReaderListEntry;
            entry->reader = vreader_reference(reader);
            *link = entry;
            link = &entry->next;
        }
        return list;
    });
}

void vreader_list_delete(VReaderList* list)
{
    // vreader_free is guarded and deleting an entry cannot throw: nothing to guard here.
    if (!list)
        return;
    for (VReaderListEntry* entry = list->head; entry;) {
        VReaderListEntry* next = entry->next;
        vreader_free(entry->reader);
        delete entry;
        entry = next;
    }
    delete list;
}

VReaderListEntry* vreader_list_get_first(VReaderList* list)
{
    return list ? list->head : nullptr;
}

VReaderListEntry* vreader_list_get_next(VReaderListEntry* entry)
{
    return entry ? entry->next : nullptr;
}

VReader* vreader_list_get_reader(VReaderListEntry* entry)
{
    return entry ? vreader_reference(entry->reader) : nullptr;
}

VReader* vreader_get_reader_by_id(vreader_id_t id)
{
    if (id == static_cast<vreader_id_t>(-1))
        return nullptr;
    return vscard::capi::guarded("vreader_get_reader_by_id", static_cast<VReader*>(nullptr), [id] {
        return findReader([id](VReader* reader) { return reader->id == id; });
    });
}

VReader* vreader_get_reader_by_name(const char* name)
{
    if (!name)
        return nullptr;
    return vscard::capi::guarded(
        "vreader_get_reader_by_name", static_cast<VReader*>(nullptr),
        [name] { return findReader([name](VReader* reader) { return reader->name == name; }); });
}

void vreader_init(void)
{
    (void)readerList(); // builds in static storage: allocates nothing, cannot throw
}

VReaderStatus vreader_add_reader(VReader* reader)
{
    if (!reader)
        return VREADER_NO_CARD;
    return vscard::capi::guarded("vreader_add_reader", VREADER_OUT_OF_MEMORY, [reader] {
        {
            ReaderList& all = readerList();
            std::lock_guard lock(all.mutex);
            all.readers.push_back(reader);
        }
        vreader_reference(reader); // the list's, once it is in the list
        vevent_queue_vevent(vevent_new(VEVENT_READER_INSERT, reader, nullptr));
        return VREADER_OK;
    });
}

VReaderStatus vreader_remove_reader(VReader* reader)
{
    if (!reader)
        return VREADER_OK;
    // libcacard's answer is VREADER_OK whatever happens; a failure is logged by the guard.
    return vscard::capi::guarded("vreader_remove_reader", VREADER_OK, [reader] {
        bool found = false;
        {
            ReaderList& all = readerList();
            std::lock_guard lock(all.mutex);
            const auto it = std::find(all.readers.begin(), all.readers.end(), reader);
            if (it != all.readers.end()) {
                all.readers.erase(it);
                found = true;
            }
        }
        vevent_queue_vevent(vevent_new(VEVENT_READER_REMOVE, reader, nullptr));
        if (found)
            vreader_free(reader); // the list's reference
        return VREADER_OK;
    });
}

void vreader_queue_card_event(VReader* reader)
{
    if (!reader)
        return;
    vscard::capi::guardedVoid("vreader_queue_card_event", [reader] {
        VCard* card = cardOf(reader);
        const CardReference held{card};
        vevent_queue_vevent(
            vevent_new(card ? VEVENT_CARD_INSERT : VEVENT_CARD_REMOVE, reader, card));
    });
}

VReaderStatus vreader_insert_card(VReader* reader, VCard* card)
{
    if (!reader)
        return VREADER_NO_CARD;
    return vscard::capi::guarded("vreader_insert_card", VREADER_OUT_OF_MEMORY, [reader, card] {
        VCard* previous = nullptr;
        {
            std::lock_guard lock(reader->lock);
            previous = reader->card;
            reader->card = vcard_reference(card);
            reader->heldTail.clear();
        }
        vcard_free(previous);
        vreader_queue_card_event(reader);
        return VREADER_OK;
    });
}

} // extern "C"
