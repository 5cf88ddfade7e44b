// The private keys of a PIV card's slots, held by NSS: generated on the card, imported, or
// taken from the user's NSS database (a card made from certificates). With a state directory
// they are permanent objects of an NSS database inside it (nssdb/), named by slot, protected
// as NSS protects keys and never written anywhere in the clear; without one they are session
// objects that live as long as the process. Public keys are returned as SubjectPublicKeyInfo
// DER and kept by the card's state, not here.
#pragma once

#include "piv_algorithms.h"
#include "vscard/bytes.h"
#include "vscard/result.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace vscard::cacard::piv {

struct RsaComponents { // IMPORT ASYMMETRIC KEY's tags 01..05
    Bytes p, q, dp, dq, qinv;
};

class KeyStore {
public:
    // directory: the card's state directory (its nssdb/ is created on first use); tokenLabel
    // tells this card's database apart from others open in the process.
    static Result<std::unique_ptr<KeyStore>, std::string>
    open(const std::optional<std::string>& directory, const std::string& tokenLabel);
    ~KeyStore();
    KeyStore(const KeyStore&) = delete;
    KeyStore& operator=(const KeyStore&) = delete;

    bool has(std::uint8_t slot) const { return keys_.count(slot) != 0; }
    std::optional<Algorithm> algorithm(std::uint8_t slot) const;
    // A new key pair in the slot, replacing what was there; its SubjectPublicKeyInfo.
    Result<Bytes, std::string> generate(std::uint8_t slot, Algorithm algorithm);
    Result<Bytes, std::string> importRsa(std::uint8_t slot, Algorithm algorithm,
                                         const RsaComponents& components);
    Result<Bytes, std::string> importEcc(std::uint8_t slot, Algorithm algorithm,
                                         ByteView privateScalar);
    // Holds a copy of someone else's key (a SECKEYPrivateKey*) for the slot, this process
    // only: the keys of a card made from an NSS database stay in that database.
    Result<Bytes, std::string> adopt(std::uint8_t slot, void* privateKey);
    void erase(std::uint8_t slot);
    // Every key but those in `keep` (a RESET keeps the attestation key, as a YubiKey does).
    void eraseAllBut(std::uint8_t keep);

    // The raw RSA private operation on one modulus-sized block (signature or decryption).
    Result<Bytes, std::string> rsaPrivate(std::uint8_t slot, ByteView block);
    // ECDSA over a digest: the DER signature (SEQUENCE of r and s) PIV answers with.
    Result<Bytes, std::string> ecdsaSign(std::uint8_t slot, ByteView digest);
    // ECDH with an uncompressed peer point: the shared secret's x coordinate.
    Result<Bytes, std::string> ecdh(std::uint8_t slot, ByteView peerPoint);
    // The DER of a signed X.509 certificate whose TBSCertificate is given, signed by the
    // slot's key (the attestation key signing what ATTEST answers).
    Result<Bytes, std::string> signCertificate(std::uint8_t slot, ByteView tbsCertificate);
    // The algorithm identifier signCertificate uses for the slot's key (SECOidTag).
    int certificateSignatureAlgorithm(std::uint8_t slot) const;

    // The public key of a SubjectPublicKeyInfo as PIV's 7F49 template holds it: 81 modulus
    // and 82 exponent, or 86 the EC point (the members, without 7F49).
    static Result<Bytes, std::string> publicKeyMembers(ByteView publicKeyInfo);
    // The PIV algorithm of a SubjectPublicKeyInfo's key, if it has one.
    static std::optional<Algorithm> algorithmOfPublicKey(ByteView publicKeyInfo);

private:
    struct Held {
        void* privateKey; // SECKEYPrivateKey*
        Algorithm algorithm;
    };
    KeyStore(void* context, void* slot, bool persistent)
        : context_(context), slot_(slot), persistent_(persistent)
    {
    }
    void loadPermanentKeys();
    Result<Bytes, std::string> hold(std::uint8_t slot, void* privateKey, void* publicKey);
    // The tail of both imports: the key's public half, the slot's older keys removed from the
    // token, the key held. Takes the private key (a SECKEYPrivateKey*) over.
    Result<Bytes, std::string> holdImported(std::uint8_t slot, void* privateKey);
    void* keyOf(std::uint8_t slot) const;

    void* context_; // NSSInitContext*, keeps NSS up while the card lives
    void* slot_;    // PK11SlotInfo*: the state database's token, or NSS's internal one
    bool persistent_;
    std::map<std::uint8_t, Held> keys_;
};

} // namespace vscard::cacard::piv
