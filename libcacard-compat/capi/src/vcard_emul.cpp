// The NSS card emulator behind libcacard's vcard_emul_* functions: soft= cards from the
// database's certificates, the database's hardware tokens mirrored (use_hw=), PIN and key
// operations, the options string. One emulator per process, initialised once, as libcacard.
#include "capi_internal.h"

#include "vscard/cacard/emul_options.h"
#include "vscard/cacard/hardware_tokens.h"
#include "vscard/cacard/soft_cards.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <thread>

struct VCardEmulOptionsStruct {
    vscard::cacard::EmulOptions parsed;
};

namespace vscard::capi {

namespace {

// libcacard's event thread waits 500 ms per round; so do we, polling.
constexpr auto kPollInterval = std::chrono::milliseconds(500);

struct Emulator {
    std::mutex mutex; // guards everything below but the poller's wake-up
    bool initCalled = false;
    bool initialised = false;
    std::shared_ptr<cacard::NssDatabase> database;
    std::string hardwareParams;
    std::unique_ptr<cacard::HardwareTokens> tokens;
    std::map<std::size_t, VReader*> hardwareReaders; // referenced
    std::set<EmulatedReader*> readers;

    std::mutex pollerMutex;
    std::condition_variable wake;
    bool stopping = false;
    std::thread poller;

    void stopPolling()
    {
        {
            std::lock_guard lock(pollerMutex);
            stopping = true;
        }
        wake.notify_all();
        // Not from the poller itself (a consumer's event handler may finalize): it cannot
        // join itself, and it ends on its own now that stopping is set.
        if (poller.joinable() && poller.get_id() != std::this_thread::get_id())
            poller.join();
    }
};

// Immortal, like libcacard's state: cards made from it may be used until the process ends,
// and nothing of NSS is torn down behind them at exit (vcard_emul_finalize() does that).
Emulator& emulator()
{
    return immortal<Emulator>();
}

void freeEmulatedReader(VReaderEmul* emul)
{
    auto* reader = reinterpret_cast<EmulatedReader*>(emul);
    if (!reader)
        return;
    {
        std::lock_guard lock(emulator().mutex);
        emulator().readers.erase(reader);
    }
    vcard_free(reader->savedCard);
    delete reader;
}

// The reader owns emul from here on, whatever happens (freeEmulatedReader ends it).
VReader* newEmulatedReader(const std::string& name, std::unique_ptr<EmulatedReader> emul)
{
    {
        std::lock_guard lock(emulator().mutex);
        emulator().readers.insert(emul.get());
    }
    auto* owned = reinterpret_cast<VReaderEmul*>(emul.release());
    VReader* reader = vreader_new(name.c_str(), owned, freeEmulatedReader);
    if (!reader)
        freeEmulatedReader(owned);
    return reader;
}

// A CAC made from card keys the way libcacard makes one: a VCard with a serial from the
// first certificate, a key per certificate, vcard_init() of the CAC type.
VCard* makeCard(VReader* reader, std::unique_ptr<cacard::NssCardKeys> opened,
                const std::string& params)
{
    std::shared_ptr<cacard::NssCardKeys> keys(std::move(opened));
    const std::size_t count = keys->certificateCount();
    if (count == 0)
        return nullptr;
    std::vector<unsigned char*> certificates;
    std::vector<int> lengths;
    std::vector<std::unique_ptr<VCardKey>> ownedKeys;
    for (std::size_t i = 0; i < count; ++i) {
        certificates.push_back(const_cast<unsigned char*>(keys->certificate(i).data()));
        lengths.push_back(static_cast<int>(keys->certificate(i).size()));
        ownedKeys.push_back(std::make_unique<VCardKey>(VCardKey{keys, i}));
    }
    const Bytes serial = keys->sha256(keys->certificate(0));
    std::vector<VCardKey*> cardKeys(count);
    VCard* card = vcard_new(nullptr, nullptr);
    if (!card)
        return nullptr;
    vcard_set_serial(card, const_cast<unsigned char*>(serial.data()), serial.size());
    // vcard_init owns the keys from here, whether it succeeds or not; nothing below throws.
    for (std::size_t i = 0; i < count; ++i)
        cardKeys[i] = ownedKeys[i].release();
    if (vcard_init(reader, card, VCARD_EMUL_CAC, params.c_str(), certificates.data(),
                   lengths.data(), cardKeys.data(), static_cast<int>(count)) != VCARD_DONE) {
        vcard_free(card);
        return nullptr;
    }
    return card;
}

// A PIV card of soft=(,NAME,PIV,state=DIR[,cert1,...]): no applets of libcacard's, the
// card itself is its VCard's backend. Its notices (the default management key) go to stderr, as
// libcacard reports.
VCard* makePivCard(const cacard::SoftCard& soft,
                   const std::shared_ptr<cacard::NssDatabase>& database)
{
    cacard::CardSettings settings;
    settings.notice = [](const std::string& text) {
        std::fprintf(stderr, "libcacard: %s\n", text.c_str());
    };
    auto piv = cacard::makePivCard(soft, database, settings, true);
    if (!piv) {
        std::fprintf(stderr, "libcacard: soft=(%s,%s,PIV,...): %s\n", soft.slotName.c_str(),
                     soft.readerName.c_str(), piv.error().c_str());
        return nullptr;
    }
    VCard* card = vcard_new(nullptr, nullptr);
    if (!card)
        return nullptr;
    Bytes serial;
    appendBigEndian32(serial, (*piv)->serialNumber());
    vcard_set_serial(card, serial.data(), serial.size());
    card->backend = std::make_unique<capi::CardBackend>(std::move(piv).value());
    return card;
}

// A reader for a slot found, a card for a token inserted, none for one removed.
void handleTokenEvent(const cacard::TokenEvent& event)
{
    Emulator& e = emulator();
    VReader* reader = nullptr;
    {
        std::lock_guard lock(e.mutex);
        const auto found = e.hardwareReaders.find(event.slot);
        if (found != e.hardwareReaders.end())
            reader = found->second;
    }
    switch (event.kind) {
    case cacard::TokenEvent::Kind::SlotFound: {
        auto emul = std::make_unique<EmulatedReader>();
        emul->hardwareSlot = event.slot;
        VReader* added = newEmulatedReader(event.name, std::move(emul));
        if (!added)
            break;
        {
            std::lock_guard lock(e.mutex);
            e.hardwareReaders[event.slot] = added;
        }
        vreader_add_reader(added);
        break;
    }
    case cacard::TokenEvent::Kind::TokenInserted:
        if (reader) {
            VCard* card = mirrorToken(reader, event.slot);
            if (card) {
                vreader_insert_card(reader, card);
                vcard_free(card);
            } else {
                std::fprintf(stderr, "libcacard: the token in \"%s\" is not mirrored\n",
                             event.name.c_str());
            }
        }
        break;
    case cacard::TokenEvent::Kind::TokenRemoved:
        if (reader && vreader_card_is_present(reader) == VREADER_OK)
            vreader_insert_card(reader, nullptr);
        break;
    case cacard::TokenEvent::Kind::SlotSkipped: break;
    }
}

// Readers and cards for what the tokens did since the last round.
void pollTokens()
{
    Emulator& e = emulator();
    std::vector<cacard::TokenEvent> events;
    {
        std::lock_guard lock(e.mutex);
        if (!e.tokens)
            return;
        faultPoint("token poller/round"); // a failing NSS poll, with the mutex held
        events = e.tokens->poll();
    }
    // Each event on its own: one that fails is logged, the others of the round still happen.
    for (const cacard::TokenEvent& event : events)
        guardedVoid("token event", [&event] { handleTokenEvent(event); });
}

// The library's one thread, in QEMU's or spice-gtk's process: nothing may escape it.
void pollerLoop() noexcept
{
    guardedVoid("token poller thread", [] {
        Emulator& e = emulator();
        std::unique_lock lock(e.pollerMutex);
        while (!e.wake.wait_for(lock, kPollInterval, [&e] { return e.stopping; })) {
            lock.unlock();
            // A round that fails is logged; the next round comes as if it had not.
            guardedVoid("token poller", pollTokens);
            lock.lock();
        }
    });
}

VCardEmulError initialise(const cacard::EmulOptions& options)
{
    Emulator& e = emulator();
    if (options.useHardware != cacard::HardwareUse::No && options.hardwareType == "PASSTHRU") {
        std::fprintf(stderr, "libcacard: hw_type=PASSTHRU (passthru) is not supported here; "
                             "vscclient forwards real readers\n");
        return VCARD_EMUL_FAIL;
    }
    // The database only where a CAC or use_hw= needs it: a PIV card keeps its own.
    std::shared_ptr<cacard::NssDatabase> database;
    const bool needsDatabase =
        options.useHardware != cacard::HardwareUse::No ||
        std::any_of(options.softCards.begin(), options.softCards.end(),
                    [](const cacard::SoftCard& soft) {
                        return soft.type != "PIV" || !soft.certificates.empty();
                    });
    if (needsDatabase) {
        auto opened = cacard::NssDatabase::open(options.nssDatabase.value_or(""));
        if (!opened) {
            std::fprintf(stderr, "libcacard: %s\n", opened.error().c_str());
            return VCARD_EMUL_FAIL;
        }
        database = *opened;
    }
    {
        std::lock_guard lock(e.mutex);
        e.database = database;
        e.hardwareParams = options.hardwareParams;
    }
    bool hasCards = false;
    for (const cacard::SoftCard& soft : options.softCards) {
        if (soft.type == "PIV") {
            VCard* card = makePivCard(soft, database);
            if (!card)
                continue;
            auto owned = std::make_unique<EmulatedReader>();
            EmulatedReader* emul = owned.get();
            VReader* reader = newEmulatedReader(soft.readerName, std::move(owned));
            if (!reader) {
                vcard_free(card);
                continue;
            }
            vreader_add_reader(reader);
            vreader_insert_card(reader, card);
            emul->savedCard = card;
            hasCards = true;
            vreader_free(reader);
            continue;
        }
        // As libcacard: a token that is not there means no reader; a nickname that is not
        // there means one certificate fewer.
        auto keys = cacard::NssCardKeys::open(
            database, cacard::SoftCardSource{soft.certificates, soft.slotName, true});
        if (!keys) {
            std::fprintf(stderr, "libcacard: soft=(%s,%s,...): %s\n", soft.slotName.c_str(),
                         soft.readerName.c_str(), keys.error().c_str());
            continue;
        }
        auto owned = std::make_unique<EmulatedReader>();
        EmulatedReader* emul = owned.get(); // the reader's from here on
        VReader* reader = newEmulatedReader(soft.readerName, std::move(owned));
        if (!reader)
            continue;
        vreader_add_reader(reader);
        if ((*keys)->certificateCount() > 0) {
            VCard* card = makeCard(reader, std::move(keys).value(), soft.typeParams);
            if (card) {
                vreader_insert_card(reader, card);
                emul->savedCard = card; // keeps the reference vcard_new gave
                hasCards = true;
            }
        }
        vreader_free(reader);
    }
    if (options.useHardware == cacard::HardwareUse::No) {
        std::lock_guard lock(e.mutex);
        e.initialised = hasCards;
        return hasCards ? VCARD_EMUL_OK : VCARD_EMUL_FAIL;
    }
    {
        std::lock_guard lock(e.mutex);
        e.tokens = std::make_unique<cacard::HardwareTokens>(database, options.useHardware,
                                                            cacard::HardwareTokens::SkipRule{});
    }
    try {
        e.poller = std::thread(pollerLoop);
    } catch (...) {
        // No thread, no tokens: the emulator is not initialised, as the caller is told.
        std::lock_guard lock(e.mutex);
        e.tokens.reset();
        throw;
    }
    {
        std::lock_guard lock(e.mutex);
        e.initialised = true;
    }
    // The tokens present now are cards when vcard_emul_init() returns, as with libcacard (the
    // poller's first round comes kPollInterval later).
    pollTokens();
    return VCARD_EMUL_OK;
}

} // namespace

EmulatedReader* emulatedReader(VReader* reader)
{
    auto* candidate = reinterpret_cast<EmulatedReader*>(vreader_get_private(reader));
    std::lock_guard lock(emulator().mutex);
    return emulator().readers.count(candidate) ? candidate : nullptr;
}

bool emulatorInitialised()
{
    std::lock_guard lock(emulator().mutex);
    return emulator().initialised;
}

VCard* mirrorToken(VReader* reader, std::size_t slot)
{
    Emulator& e = emulator();
    std::unique_ptr<cacard::NssCardKeys> keys;
    std::string params;
    {
        std::lock_guard lock(e.mutex);
        if (!e.tokens)
            return nullptr;
        auto opened = e.tokens->openToken(slot);
        if (!opened) {
            std::fprintf(stderr, "libcacard: %s\n", opened.error().c_str());
            return nullptr;
        }
        keys = std::move(opened).value();
        params = e.hardwareParams;
    }
    return makeCard(reader, std::move(keys), params);
}

} // namespace vscard::capi

using namespace vscard;

extern "C" {

VCardEmulOptions* vcard_emul_options(const char* args)
{
    return capi::guarded("vcard_emul_options", static_cast<VCardEmulOptions*>(nullptr),
                         [args]() -> VCardEmulOptions* {
                             // One options structure, overwritten by every call, as libcacard.
                             static VCardEmulOptions options;
                             auto parsed = cacard::parseEmulOptions(args ? args : "");
                             if (!parsed) {
                                 std::fprintf(stderr, "Error: %s\n",
                                              parsed.error().message.c_str());
                                 return nullptr;
                             }
                             options.parsed = std::move(parsed).value();
                             return &options;
                         });
}

VCardEmulError vcard_emul_init(const VCardEmulOptions* options)
{
    return capi::guarded("vcard_emul_init", VCARD_EMUL_FAIL, [options] {
        capi::Emulator& e = capi::emulator();
        {
            std::lock_guard lock(e.mutex);
            if (e.initCalled)
                return VCARD_EMUL_INIT_ALREADY_INITED;
            e.initCalled = true;
        }
        vreader_init();
        vevent_queue_init();
        return capi::initialise(options ? options->parsed : cacard::EmulOptions{});
    });
}

VCardEmulError vcard_emul_finalize(void)
{
    return capi::guarded("vcard_emul_finalize", VCARD_EMUL_FAIL, [] {
        capi::Emulator& e = capi::emulator();
        e.stopPolling();
        std::lock_guard lock(e.mutex);
        e.tokens.reset();
        // NSS shuts down only when no card made from the database is left, and, as
        // libcacard's NSS_ShutdownContext(), we fail while one is; a later call may succeed.
        if (e.database && e.database.use_count() > 1)
            return VCARD_EMUL_FAIL;
        e.database.reset();
        return VCARD_EMUL_OK;
    });
}

void vcard_emul_replay_insertion_events(void)
{
    capi::guardedVoid("vcard_emul_replay_insertion_events", [] {
        VReaderList* list = vreader_get_reader_list();
        for (VReaderListEntry* entry = vreader_list_get_first(list); entry;
             entry = vreader_list_get_next(entry)) {
            VReader* reader = vreader_list_get_reader(entry);
            vreader_queue_card_event(reader);
            vreader_free(reader);
        }
        vreader_list_delete(list);
    });
}

VCardEmulError vcard_emul_force_card_remove(VReader* reader)
{
    return capi::guarded("vcard_emul_force_card_remove", VCARD_EMUL_FAIL, [reader] {
        if (!capi::emulatorInitialised() || vreader_card_is_present(reader) != VREADER_OK)
            return VCARD_EMUL_FAIL;
        return vreader_insert_card(reader, nullptr) == VREADER_OK ? VCARD_EMUL_OK : VCARD_EMUL_FAIL;
    });
}

VCardEmulError vcard_emul_force_card_insert(VReader* reader)
{
    return capi::guarded("vcard_emul_force_card_insert", VCARD_EMUL_FAIL, [reader] {
        if (!reader || !capi::emulatorInitialised() ||
            vreader_card_is_present(reader) == VREADER_OK)
            return VCARD_EMUL_FAIL;
        capi::EmulatedReader* emul = capi::emulatedReader(reader);
        if (!emul)
            return VCARD_EMUL_FAIL;
        VCard* card = nullptr;
        if (emul->savedCard)
            card = vcard_reference(emul->savedCard);
        else if (emul->hardwareSlot)
            card = capi::mirrorToken(reader, *emul->hardwareSlot);
        if (!card)
            return VCARD_EMUL_FAIL;
        const VReaderStatus inserted = vreader_insert_card(reader, card);
        vcard_free(card);
        return inserted == VREADER_OK ? VCARD_EMUL_OK : VCARD_EMUL_FAIL;
    });
}

int vcard_emul_get_login_count(VCard* card)
{
    // libcacard always answers -1 (unknown); our cards count.
    if (!card || !card->backend)
        return -1;
    return capi::guarded("vcard_emul_get_login_count", -1,
                         [card] { return card->backend->triesLeft(); });
}

vcard_7816_status_t vcard_emul_login(VCard* card, unsigned char* pin, int pinLength)
{
    if (!card || !card->backend || pinLength < 0 || pinLength > 255)
        return VCARD7816_STATUS_ERROR_CONDITION_NOT_SATISFIED;
    return capi::guarded(
        "vcard_emul_login", static_cast<vcard_7816_status_t>(VCARD7816_STATUS_ERROR_GENERAL),
        [&]() -> vcard_7816_status_t {
            if (!capi::emulatorInitialised())
                return VCARD7816_STATUS_ERROR_CONDITION_NOT_SATISFIED;
            // VERIFY through the card: its retry counter sees it too.
            const Bytes answer = card->backend->process(
                card->backend->verifyCommand(ByteView(pin, static_cast<std::size_t>(pinLength))));
            if (answer.size() < 2)
                return static_cast<vcard_7816_status_t>(VCARD7816_STATUS_ERROR_GENERAL);
            return static_cast<vcard_7816_status_t>(answer[answer.size() - 2] << 8 | answer.back());
        });
}

int vcard_emul_is_logged_in(VCard* card)
{
    if (!card || !card->backend)
        return 0;
    return capi::guarded("vcard_emul_is_logged_in", 0,
                         [card] { return card->backend->loggedIn() ? 1 : 0; });
}

void vcard_emul_logout(VCard* card)
{
    if (card && card->backend)
        capi::guardedVoid("vcard_emul_logout", [card] { card->backend->reset(); });
}

void vcard_emul_delete_key(VCardKey* key)
{
    // The last key of a card ends its NSS keys (a logout under a mutex): guarded too.
    capi::guardedVoid("vcard_emul_delete_key", [key] { delete key; });
}

int vcard_emul_rsa_bits(VCardKey* key)
{
    if (!key || !key->keys)
        return -1;
    return capi::guarded("vcard_emul_rsa_bits", -1,
                         [key] { return static_cast<int>(key->keys->keyBits(key->index)); });
}

vcard_7816_status_t vcard_emul_rsa_op(VCard*, VCardKey* key, unsigned char* buffer, int size)
{
    if (!key || !key->keys || !buffer || size <= 0)
        return VCARD7816_STATUS_ERROR_CONDITION_NOT_SATISFIED;
    return capi::guarded(
        "vcard_emul_rsa_op", static_cast<vcard_7816_status_t>(VCARD7816_STATUS_ERROR_GENERAL),
        [&]() -> vcard_7816_status_t {
            if (!capi::emulatorInitialised() || !key->keys->loggedIn())
                return VCARD7816_STATUS_ERROR_CONDITION_NOT_SATISFIED;
            const auto result =
                key->keys->rsaPrivate(key->index, ByteView(buffer, static_cast<std::size_t>(size)));
            if (!result || result->size() > static_cast<std::size_t>(size))
                return VCARD7816_STATUS_ERROR_DATA_INVALID;
            // In place, right-aligned in the block.
            const std::size_t pad = static_cast<std::size_t>(size) - result->size();
            std::memset(buffer, 0, pad);
            std::memcpy(buffer + pad, result->data(), result->size());
            return VCARD7816_STATUS_SUCCESS;
        });
}

void vcard_emul_reset(VCard* card, VCardPower)
{
    // A reset or power-off forgets the PIN, as a real card does.
    vcard_emul_logout(card);
}

void vcard_emul_get_atr(VCard* card, unsigned char* atr, int* atrLength)
{
    if (!atr || !atrLength)
        return;
    capi::guardedVoid("vcard_emul_get_atr", [&] {
        // libcacard answers its CAC's ATR for any card (and for none).
        const Bytes& value = card && card->backend ? card->backend->atr()
                                                   : cacard::CacCard::atr(); // built on first use
        const int length = std::min(*atrLength, static_cast<int>(value.size()));
        if (length > 0)
            std::memcpy(atr, value.data(), static_cast<std::size_t>(length));
        *atrLength = std::max(length, 0);
    });
}

unsigned char* vcard_emul_read_object(VCard* card, const char* label, unsigned int* length)
{
    if (!card || !card->backend || !label || !length)
        return nullptr;
    return capi::guarded(
        "vcard_emul_read_object", static_cast<unsigned char*>(nullptr), [&]() -> unsigned char* {
            const auto value = card->backend->dataObject(label);
            if (!value)
                return nullptr;
            auto* copy =
                static_cast<unsigned char*>(std::malloc(std::max<std::size_t>(value->size(), 1)));
            if (!copy)
                return nullptr;
            std::memcpy(copy, value->data(), value->size());
            *length = static_cast<unsigned int>(value->size());
            return copy;
        });
}

void vcard_emul_usage(void)
{
    std::fputs("emul args: blank-separated options, in any order:\n"
               " db=\"{nss_database}\"             the NSS database (default sql:/etc/pki/nssdb)\n"
               " use_hw=[yes|no|removable]       mirror the database's tokens (default yes)\n"
               " hw_type={card_type}             the card mirrored tokens become (default CAC)\n"
               " hw_params={params}              parameters of that card type (default none)\n"
               " nssemul                         use_hw=yes hw_type=CAC\n"
               " soft=({slot_name},{vreader_name},{card_type},{params},{cert1},{cert2},...)\n"
               "                                 a card from up to 10 certificates (repeatable)\n"
               "\n"
               "  {slot_name}     the NSS token holding the certificates (empty: the database's)\n"
               "  {vreader_name}  the name of the virtual reader the card is in\n"
               "  {card_type}     CAC, or PIV (params state={directory}; with no certificates,\n"
               "                  a blank card whose keys are generated on it)\n"
               "  {certN}         the nickname of a certificate with its private key\n"
               "\n"
               "With use_hw=yes every removable hardware token is presented as a card of hw_type,\n"
               "with use_hw=removable every removable token; inserting and removing tokens are\n"
               "card events.\n",
               stderr);
}

} // extern "C"
