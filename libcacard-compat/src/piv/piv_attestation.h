// Attestation, as the YubiKey extension ATTEST offers it: a certificate, signed by the card's
// attestation key (slot F9), saying that a slot's key was generated on this card, with its
// policies and the card's serial. The attestation key and its self-signed certificate
// (object 5FFF01) are the card's own, made at its first start; they are not Yubico's, and
// nothing chains to Yubico's root. The extensions use the OIDs YubiKey attestations use
// (1.3.6.1.4.1.41482.3.x: version, serial, policy), which ykman and go-piv read.
#pragma once

#include "piv_key_store.h"
#include "piv_state.h"

namespace vscard::cacard::piv {

struct AttestationKey {
    Bytes publicKeyInfo;
    Bytes certificate; // DER, self-signed
};
// The attestation key and its certificate, for a card that has none.
Result<AttestationKey, std::string> makeAttestationKey(KeyStore& keys, std::uint32_t serial);

// The certificate for the key in `slot`, signed by the attestation key.
Result<Bytes, std::string> attestKey(KeyStore& keys, std::uint8_t slot, const KeySlot& key,
                                     std::uint32_t serial, ByteView attestationCertificate);

} // namespace vscard::cacard::piv
