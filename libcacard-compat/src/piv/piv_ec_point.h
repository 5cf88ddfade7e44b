// The public point of an EC private scalar, for IMPORT ASYMMETRIC KEY: the YubiKey command
// carries the scalar alone, and both NSS's key import (PKCS#8 wants the public key) and GET
// METADATA need the point. NSS has no public function that derives it
// (PK11_DerivePubKeyFromPrivKey is private to NSS, not exported), so OpenSSL's libcrypto
// multiplies the curve's generator; everything else of the card stays NSS's.
#pragma once

#include "piv_algorithms.h"
#include "vscard/bytes.h"
#include "vscard/result.h"

#include <string>

namespace vscard::cacard::piv {

// The uncompressed point 04 || X || Y of scalar * G on the algorithm's curve; fails on a
// scalar that is not in [1, n-1].
Result<Bytes, std::string> ecPublicPoint(Algorithm algorithm, ByteView scalar);

} // namespace vscard::cacard::piv
