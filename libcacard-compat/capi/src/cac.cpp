// Card types: a CAC is our CacCard behind the VCard, reached through its CardBackend.
#include "capi_internal.h"

#include "vscard/cacard/pin_retry_state.h"

#include <strings.h>

namespace {

using namespace vscard;

// The CardKeys of a CAC made by cac_card_init(): the certificates it was given, the keys it
// adopted (all of one card, sharing its NSS keys and login).
class AdoptedKeys : public cacard::CardKeys {
public:
    AdoptedKeys(std::vector<Bytes> certificates, std::vector<VCardKey*> keys)
        : certificates_(std::move(certificates)), keys_(std::move(keys)),
          owner_(keys_.front()->keys)
    {
    }
    ~AdoptedKeys() override
    {
        for (VCardKey* key : keys_)
            vcard_emul_delete_key(key);
    }

    std::size_t certificateCount() const override { return certificates_.size(); }
    const Bytes& certificate(std::size_t index) const override { return certificates_.at(index); }
    std::size_t keyBits(std::size_t index) const override
    {
        return owner_->keyBits(keys_.at(index)->index);
    }
    Bytes sha256(ByteView data) const override { return owner_->sha256(data); }
    Bytes random(std::size_t count) const override { return owner_->random(count); }
    cacard::PinCheck login(std::string_view pin) override { return owner_->login(pin); }
    void logout() override { owner_->logout(); }
    bool loggedIn() const override { return owner_->loggedIn(); }
    bool needsLogin() const override { return owner_->needsLogin(); }
    bool pinTriesAreOurs() const override { return owner_->pinTriesAreOurs(); }
    Result<Bytes, std::string> rsaPrivate(std::size_t index, ByteView input) override
    {
        if (index >= keys_.size())
            return fail(std::string("no such key"));
        return owner_->rsaPrivate(keys_[index]->index, input);
    }
    std::optional<Bytes> dataObject(std::string_view label) override
    {
        return owner_->dataObject(label);
    }

private:
    std::vector<Bytes> certificates_;
    std::vector<VCardKey*> keys_;
    std::shared_ptr<cacard::NssCardKeys> owner_;
};

} // namespace

extern "C" {

VCardStatus cac_card_init(VReader*, VCard* card, unsigned char* const* cert, int cert_len[],
                          VCardKey* key[], int cert_count)
{
    auto dropKeys = [&] {
        for (int i = 0; key && i < cert_count; ++i)
            vcard_emul_delete_key(key[i]);
    };
    if (!card || !cert || !cert_len || !key || cert_count <= 0 ||
        cert_count > static_cast<int>(cacard::kMaxCertificatesPerCard)) {
        dropKeys();
        return VCARD_FAIL;
    }
    for (int i = 0; i < cert_count; ++i) {
        // Keys of one card, made by this emulator: they share its NSS keys and login.
        if (!key[i] || !key[i]->keys || key[i]->keys != key[0]->keys || !cert[i] ||
            cert_len[i] <= 0) {
            dropKeys();
            return VCARD_FAIL;
        }
    }
    // The keys are ours whatever happens: freed here until AdoptedKeys holds them.
    bool adopted = false;
    const VCardStatus status = capi::guarded("cac_card_init", VCARD_FAIL, [&] {
        std::vector<Bytes> certificates;
        std::vector<VCardKey*> keys;
        for (int i = 0; i < cert_count; ++i) {
            certificates.emplace_back(cert[i], cert[i] + cert_len[i]);
            keys.push_back(key[i]);
        }
        auto cardKeys = std::make_unique<AdoptedKeys>(std::move(certificates), std::move(keys));
        adopted = true;
        // libcacard keeps no PIN counter; ours lives as long as the card.
        auto pin = cacard::PinRetryState::open(std::nullopt, "capi");
        if (!pin)
            return VCARD_FAIL;
        card->backend = std::make_unique<capi::CardBackend>(
            std::make_unique<cacard::CacCard>(std::move(cardKeys), std::move(pin).value()));
        return VCARD_DONE;
    });
    if (!adopted)
        dropKeys();
    return status;
}

VCardStatus vcard_init(VReader* reader, VCard* card, VCardEmulType type, const char*,
                       unsigned char* const* cert, int cert_len[], VCardKey* key[], int cert_count)
{
    if (type == VCARD_EMUL_CAC)
        return cac_card_init(reader, card, cert, cert_len, key, cert_count);
    return VCARD_FAIL;
}

VCardEmulType vcard_emul_type_select(VReader*)
{
    return VCARD_EMUL_CAC;
}

VCardEmulType vcard_emul_type_from_string(const char* type)
{
    if (!type)
        return VCARD_EMUL_NONE;
    if (strcasecmp(type, "CAC") == 0)
        return VCARD_EMUL_CAC;
    if (strcasecmp(type, "PASSTHRU") == 0)
        return VCARD_EMUL_PASSTHRU;
    return VCARD_EMUL_NONE;
}

} // extern "C"
