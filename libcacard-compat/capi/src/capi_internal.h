// The structures behind libcacard's opaque types, and what ties them to our emulator core.
// Internal to libcacard.so: none of this is exported (libcacard.map).
#pragma once

extern "C" {
#include "cac.h"
#include "card_7816.h"
#include "vcard.h"
#include "vcard_emul.h"
#include "vcard_emul_type.h"
#include "vevent.h"
#include "vreader.h"
}

#include "vscard/bytes.h"
#include "vscard/cacard/cac_card.h"
#include "vscard/cacard/nss_card_keys.h"
#include "vscard/cacard/piv_card.h"
#include "vscard/fault_injection.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <new>

namespace vscard::capi {

// What a card made by our emulator runs on instead of libcacard's applet framework: our CAC
// or our PIV card. One APDU at a time (QEMU calls from its own thread while tokens come and
// go on another).
class CardBackend {
public:
    explicit CardBackend(std::unique_ptr<cacard::CacCard> card)
        : cac_(card.get()), card_(std::move(card))
    {
    }
    explicit CardBackend(std::unique_ptr<cacard::PivCard> card)
        : piv_(card.get()), card_(std::move(card))
    {
    }

    Bytes process(ByteView command)
    {
        std::lock_guard lock(mutex_);
        return card_->process(command);
    }
    void reset()
    {
        std::lock_guard lock(mutex_);
        card_->reset();
    }
    bool loggedIn()
    {
        std::lock_guard lock(mutex_);
        return card_->loggedIn();
    }
    int triesLeft()
    {
        std::lock_guard lock(mutex_);
        return static_cast<int>(cac_ ? cac_->pinState().remaining() : piv_->pinTriesLeft());
    }
    // The token's data objects of a CAC's Person Instance and Personnel applets; a PIV card
    // keeps its objects itself.
    std::optional<Bytes> dataObject(std::string_view label)
    {
        std::lock_guard lock(mutex_);
        if (!cac_)
            return std::nullopt;
        return cac_->keys().dataObject(label);
    }
    // The VERIFY of this card type for a PIN as vcard_emul_login() gets it: a CAC's key
    // reference 00 with the PIN as it is, PIV's 80 with the PIN padded to 8 bytes.
    Bytes verifyCommand(ByteView pin) const
    {
        if (cac_) {
            Bytes verify = {0x00, 0x20, 0x00, 0x00, static_cast<std::uint8_t>(pin.size())};
            verify.insert(verify.end(), pin.begin(), pin.end());
            return verify;
        }
        Bytes padded(pin.begin(), pin.end());
        if (padded.size() < 8)
            padded.resize(8, 0xFF);
        Bytes verify = {0x00, 0x20, 0x00, 0x80, static_cast<std::uint8_t>(padded.size())};
        verify.insert(verify.end(), padded.begin(), padded.end());
        return verify;
    }
    const Bytes& atr() const { return card_->answerToReset(); }

private:
    std::mutex mutex_;
    cacard::CacCard* cac_ = nullptr; // one of the two, the card's type
    cacard::PivCard* piv_ = nullptr;
    std::unique_ptr<cacard::VirtualCard> card_;
};

// The one T of the process, built on first use in static storage and never destroyed (the
// library's state outlives every caller, as libcacard's does). Building it allocates nothing,
// so the first call of a C function reaching it cannot throw outside its guard.
template <typename T>
T& immortal()
{
    alignas(T) static unsigned char storage[sizeof(T)];
    static T* instance = new (storage) T;
    return *instance;
}

// Runs f, turning any exception into the fallback value: no exception crosses the C ABI.
// Every exported function that can throw (it allocates, locks a mutex, or reaches NSS or our
// card) runs all of its body in here; the ones left outside only read or set a field, count
// a reference, or malloc. A test build can make the guard itself fail once (fault_injection.h,
// VSCARD_FAULT=<function>), which is how tst_foreign_process_faults checks each of them.
template <typename F, typename T>
auto guarded(const char* function, T fallback, F&& f) noexcept -> decltype(f())
{
    try {
        faultPoint(function);
        return f();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "libcacard: %s: %s\n", function, e.what());
    } catch (...) {
        std::fprintf(stderr, "libcacard: %s failed\n", function);
    }
    return fallback;
}

template <typename F>
void guardedVoid(const char* function, F&& f) noexcept
{
    try {
        faultPoint(function);
        f();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "libcacard: %s: %s\n", function, e.what());
    } catch (...) {
        std::fprintf(stderr, "libcacard: %s failed\n", function);
    }
}

} // namespace vscard::capi

struct VCardAppletStruct {
    VCardApplet* next = nullptr;
    VCardProcessAPDU process_apdu = nullptr;
    VCardResetApplet reset_applet = nullptr;
    vscard::Bytes aid;
    VCardAppletPrivate* applet_private = nullptr;
    VCardAppletPrivateFree applet_private_free = nullptr;
};

struct VCardStruct {
    std::atomic<int> reference_count{1};
    VCardApplet* applet_list = nullptr; // newest first, as libcacard keeps them
    std::array<VCardApplet*, MAX_CHANNEL> current_applet{};
    VCardBufferResponse* buffer_response = nullptr;
    VCardType type = VCARD_VM;
    VCardEmul* vcard_private = nullptr;
    VCardEmulFree vcard_private_free = nullptr;
    VCardGetAtr get_atr = nullptr;
    unsigned compat = 0;
    std::array<unsigned char, 32> serial{};
    int serial_len = 0;
    std::unique_ptr<vscard::capi::CardBackend> backend; // set by cac_card_init
};

// A certificate's private key: the card's NSS keys and which of them.
struct VCardKeyStruct {
    std::shared_ptr<vscard::cacard::NssCardKeys> keys;
    std::size_t index = 0;
};

namespace vscard::capi {

// Readers the emulator made keep this as their private data.
struct EmulatedReader {
    VCard* savedCard = nullptr; // a soft card, for vcard_emul_force_card_insert()
    std::optional<std::size_t> hardwareSlot;
};

// Whether a reader's private data is an EmulatedReader (readers made by the caller with
// vreader_new() carry their own).
EmulatedReader* emulatedReader(VReader* reader);
bool emulatorInitialised();
// Makes the card of a token now in a hardware slot; nullptr if it cannot be made.
VCard* mirrorToken(VReader* reader, std::size_t slot);

} // namespace vscard::capi
