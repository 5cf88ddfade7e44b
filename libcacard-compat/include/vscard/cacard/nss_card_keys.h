// Card keys from an NSS database: the soft= certificates by nickname, or every certificate of a
// hardware token NSS reaches through a PKCS#11 module (use_hw=), their private keys, the
// token's PIN and its data objects. One NssDatabase per database path, shared by its cards.
#pragma once

#include "vscard/cacard/card_keys.h"
#include "vscard/cacard/emul_options.h"

#include <map>
#include <memory>
#include <mutex>

namespace vscard::cacard {

class NssDatabase : public std::enable_shared_from_this<NssDatabase> {
public:
    // Opens the database ("sql:/path", "/path", or NSS's default when empty) read-only.
    static Result<std::shared_ptr<NssDatabase>, std::string> open(const std::string& path);
    ~NssDatabase();
    NssDatabase(const NssDatabase&) = delete;
    NssDatabase& operator=(const NssDatabase&) = delete;

    const std::string& path() const { return path_; }

    // Several cards may log into the same token: it is logged out when the last one leaves.
    void acquireLogin(void* slot);
    void releaseLogin(void* slot);

private:
    NssDatabase(std::string path, void* context) : path_(std::move(path)), context_(context) {}

    std::string path_;
    void* context_; // NSSInitContext*
    std::mutex loginMutex_;
    std::map<void*, int> logins_;
};

// How a private-key operation reaches the token. Raw RSA (CKM_RSA_X_509) is what SIGN and
// DECRYPT ask for; a token without it gets the PKCS#1 mechanisms the block asks for, as
// libcacard does.
enum class RsaMechanisms {
    RawWhereOffered, // raw when the token lists CKM_RSA_X_509, else PKCS#1
    Pkcs1Only,       // as a token without raw RSA would be used
};

// Where a soft= card's keys are and what to do about a nickname that is not in the database.
struct SoftCardSource {
    std::vector<std::string> nicknames;
    std::string slotName;     // the token holding the keys; empty: the certificate's own
    bool skipMissing = false; // libcacard's C API skips them; server-ccid refuses to start
};

class NssCardKeys : public CardKeys {
public:
    // Finds every certificate of the card; fails naming the first nickname it cannot find
    // (unless told to skip them) or a token name NSS does not know.
    static Result<std::unique_ptr<NssCardKeys>, std::string>
    open(std::shared_ptr<NssDatabase> database, const SoftCardSource& source,
         RsaMechanisms mechanisms = RsaMechanisms::RawWhereOffered);
    static Result<std::unique_ptr<NssCardKeys>, std::string>
    open(std::shared_ptr<NssDatabase> database, const std::vector<std::string>& nicknames,
         RsaMechanisms mechanisms = RsaMechanisms::RawWhereOffered)
    {
        return open(std::move(database), SoftCardSource{nicknames, {}, false}, mechanisms);
    }
    // Every certificate on the token in slot (a PK11SlotInfo*), at most 10, as libcacard
    // mirrors a card: read as objects, so a token that is not logged in shows them too.
    static Result<std::unique_ptr<NssCardKeys>, std::string>
    openToken(std::shared_ptr<NssDatabase> database, void* slot,
              RsaMechanisms mechanisms = RsaMechanisms::RawWhereOffered);
    ~NssCardKeys() override;

    std::size_t certificateCount() const override { return certificates_.size(); }
    const Bytes& certificate(std::size_t index) const override
    {
        return certificates_.at(index).der;
    }
    std::size_t keyBits(std::size_t index) const override;
    Bytes sha256(ByteView data) const override;
    Bytes random(std::size_t count) const override;
    PinCheck login(std::string_view pin) override;
    void logout() override;
    bool loggedIn() const override { return loggedIn_; }
    bool needsLogin() const override;
    bool pinTriesAreOurs() const override;
    Result<Bytes, std::string> rsaPrivate(std::size_t index, ByteView input) override;
    std::optional<Bytes> dataObject(std::string_view label) override;

    const std::string& tokenName() const { return tokenName_; }
    // The SECKEYPrivateKey* of certificate `index`, held while logged in (nullptr before).
    void* privateKey(std::size_t index) const { return certificates_.at(index).privateKey; }
    // Its SubjectPublicKeyInfo DER.
    Bytes publicKeyInfo(std::size_t index) const;

private:
    struct Certificate {
        std::string nickname;
        Bytes der;
        void* certificate = nullptr; // CERTCertificate*
        void* privateKey = nullptr;  // SECKEYPrivateKey*, found at login and kept until logout
    };

    NssCardKeys(std::shared_ptr<NssDatabase> database, void* slot, RsaMechanisms mechanisms);
    Result<Bytes, std::string> rsaWithPkcs1(void* key, ByteView input, std::size_t modulus);

    std::shared_ptr<NssDatabase> database_;
    void* slot_; // PK11SlotInfo*, referenced: the token that holds the keys and checks the PIN
    std::string tokenName_;
    bool rawRsa_;
    std::vector<Certificate> certificates_;
    bool loggedIn_ = false;
};

} // namespace vscard::cacard
