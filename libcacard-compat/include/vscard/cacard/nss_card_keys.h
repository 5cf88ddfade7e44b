// Card keys from an NSS database: the soft= certificates by nickname, their private keys, the
// token's PIN. One NssDatabase per database path, shared by the cards made from it.
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

class NssCardKeys : public CardKeys {
public:
    // Finds every certificate of the card; fails naming the first nickname it cannot find.
    static Result<std::unique_ptr<NssCardKeys>, std::string>
    open(std::shared_ptr<NssDatabase> database, const std::vector<std::string>& nicknames);
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
    Result<Bytes, std::string> rsaPrivate(std::size_t index, ByteView input) override;

private:
    struct Certificate {
        std::string nickname;
        Bytes der;
        void* certificate = nullptr; // CERTCertificate*
        void* privateKey = nullptr;  // SECKEYPrivateKey*, found at login and kept until logout
    };

    explicit NssCardKeys(std::shared_ptr<NssDatabase> database) : database_(std::move(database)) {}
    void* slot() const;

    std::shared_ptr<NssDatabase> database_;
    std::vector<Certificate> certificates_;
    bool loggedIn_ = false;
};

} // namespace vscard::cacard
