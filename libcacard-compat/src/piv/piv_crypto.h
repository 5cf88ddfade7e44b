// The PIV card's symmetric and key-derivation needs, all through NSS (no hand-written cipher): the
// management key's block cipher, the PIN's and PUK's salted hashes, random bytes. NSS must be
// initialised first (a KeyStore does it).
#pragma once

#include "piv_algorithms.h"
#include "vscard/bytes.h"
#include "vscard/result.h"

#include <string>

namespace vscard::cacard::piv {

Result<Bytes, std::string> randomBytes(std::size_t count);
// One or more blocks of ECB with the management key (3DES or AES), as GENERAL AUTHENTICATE's
// witness and challenge use it.
Result<Bytes, std::string> blockEncrypt(Algorithm algorithm, ByteView key, ByteView data);
Result<Bytes, std::string> blockDecrypt(Algorithm algorithm, ByteView key, ByteView data);
// PBKDF2-HMAC-SHA256, 32 bytes: what the state file keeps of a PIN or PUK.
Result<Bytes, std::string> secretHash(ByteView secret, ByteView salt);
bool equalInConstantTime(ByteView a, ByteView b);
std::string nssErrorText();

} // namespace vscard::cacard::piv
