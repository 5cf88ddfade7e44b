// Constant answers of libcacard 2.8's CAC applets, captured from the real library (Debian's
// libcacard0 2.8.0-3) byte for byte, memory-layout quirks included: GET ACR's tables carry
// bytes of libcacard's structs that a faithful emulation reproduces so that a byte-exact
// comparison with libcacard holds. OpenSC reads none of them.
#include "cac_tables.h"

namespace vscard::cacard::tables {

// ACA GET PROPERTIES P1=40 (the long list).
const char* const kAcaLongProperties =
    "01 05 10 02 06 02 02 23 0C 20 11 00 00 00 00 00 00 00 00 00 58 2A 02 02 "
    "00 2B 05 A0 00 00 00 79 22 10 00 00 00 DA 01 B4 03 30 00 00 00 70 00 51 "
    "02 9D 2C 01 00 20 02 08 01 21 01 0F 32 04 03 03 03 03 30 01 08 31 04 06 "
    "08 00 00 24 01 FF 25 02 01 00 26 01 01";

// GET ACR P1=00: the ACR table, SimpleTLV.
const char* const kAcrTable =
    "01 05 10 02 06 02 02 A1 01 0B A0 03 00 00 00 A0 03 01 01 00 A0 03 02 00 "
    "1F A0 05 06 06 00 00 01 A0 05 04 04 1F 00 01 A0 07 08 03 00 00 02 00 00 "
    "A0 05 09 02 00 00 01 A0 07 0A 03 00 00 02 00 00 A0 05 0B 02 00 00 01 A0 "
    "03 10 00 1E A0 03 11 00 1D";

// GET ACR P1=40/41: the ACR table, extended format.
const char* const kAcrTableExtended =
    "06 00 00 00 00 00 00 06 01 01 00 00 00 00 06 02 00 1F 00 00 00 06 06 06 "
    "00 1E 00 00 06 04 04 1F 1F 21 00 08 08 03 00 1D 01 1E 01 00 06 09 02 00 "
    "1D 01 00 08 0A 03 00 1D 03 1E 01 00 06 0B 02 00 1D 00 00 06 10 00 1E 00 "
    "00 00 06 11 00 1D 00 00 00";

// GET ACR P1=10 after the PKI applets' entries.
const char* const kAppletTableTail =
    "80 09 1F 01 82 05 FF FF 20 00 00 80 1A F4 02 82 08 DB 00 58 00 04 52 00 "
    "00 82 0C FF FF 82 01 00 11 84 00 11 20 00 10 80 1A 4B 02 82 08 02 FB 58 "
    "00 06 52 00 00 82 0C FF FF 82 01 00 11 84 00 11 20 00 10 80 1E 41 02 82 "
    "0C 02 00 58 00 09 52 04 01 00 52 00 08 82 0C FF FF 82 01 00 11 84 00 11 "
    "20 00 10 80 1E 42 02 82 0C 02 01 58 00 0B 52 04 01 00 52 00 0A 82 0C FF "
    "FF 82 01 00 11 84 00 11 20 00 10 80 43 40 05 82 0B 30 00 58 00 04 52 00 "
    "00 B0 00 00 82 0C 60 10 58 00 04 52 04 01 00 52 00 06 82 0C 60 30 58 00 "
    "04 52 04 01 00 52 00 06 82 08 90 00 58 00 04 52 00 00 82 0C FF FF 82 01 "
    "00 11 84 00 11 20 00 10 80 1A 4E 02 82 08 02 FE 58 00 04 52 00 00 82 0C "
    "FF FF 82 01 00 11 84 00 11 20 00 10 80 1E 4D 02 82 0C 02 FD 58 00 06 52 "
    "04 01 00 52 00 06 82 0C FF FF 82 01 00 11 84 00 11 20 00 10 80 16 50 01 "
    "82 12 FF FF 58 00 04 52 00 00 82 01 00 11 84 00 11 20 00 10 80 16 51 01 "
    "82 12 FF FF 58 00 04 52 00 00 82 01 00 11 84 00 11 20 00 10 80 16 52 01 "
    "82 12 FF FF 58 00 04 52 00 00 82 01 00 11 84 00 11 20 00 10 80 1E 44 02 "
    "82 0C 12 01 58 00 06 52 04 01 00 52 00 06 82 0C FF FF 82 01 00 11 84 00 "
    "11 20 00 10 80 1E 45 02 82 0C 12 02 58 00 06 52 04 01 00 52 00 06 82 0C "
    "FF FF 82 01 00 11 84 00 11 20 00 10";

// GET ACR P1=50/51/52 after the PKI applets' entries.
const char* const kAppletTableExtendedTail =
    "08 1F 01 05 FF FF 20 00 00 18 F4 02 08 DB 00 58 00 04 52 00 00 0C FF FF "
    "82 01 00 11 84 00 11 20 00 10 18 4B 02 08 02 FB 58 00 06 52 00 00 0C FF "
    "FF 82 01 00 11 84 00 11 20 00 10 1C 41 02 0C 02 00 58 00 09 52 04 01 00 "
    "52 00 08 0C FF FF 82 01 00 11 84 00 11 20 00 10 1C 42 02 0C 02 01 58 00 "
    "0B 52 04 01 00 52 00 0A 0C FF FF 82 01 00 11 84 00 11 20 00 10 3E 40 05 "
    "0B 30 00 58 00 04 52 00 00 B0 00 00 0C 60 10 58 00 04 52 04 01 00 52 00 "
    "06 0C 60 30 58 00 04 52 04 01 00 52 00 06 08 90 00 58 00 04 52 00 00 0C "
    "FF FF 82 01 00 11 84 00 11 20 00 10 18 4E 02 08 02 FE 58 00 04 52 00 00 "
    "0C FF FF 82 01 00 11 84 00 11 20 00 10 1C 4D 02 0C 02 FD 58 00 06 52 04 "
    "01 00 52 00 06 0C FF FF 82 01 00 11 84 00 11 20 00 10 15 50 01 12 FF FF "
    "58 00 04 52 00 00 82 01 00 11 84 00 11 20 00 10 15 51 01 12 FF FF 58 00 "
    "04 52 00 00 82 01 00 11 84 00 11 20 00 10 15 52 01 12 FF FF 58 00 04 52 "
    "00 00 82 01 00 11 84 00 11 20 00 10 1C 44 02 0C 12 01 58 00 06 52 04 01 "
    "00 52 00 06 0C FF FF 82 01 00 11 84 00 11 20 00 10 1C 45 02 0C 12 02 58 "
    "00 06 52 04 01 00 52 00 06 0C FF FF 82 01 00 11 84 00 11 20 00 10";

// GET ACR P1=20: the Access Method Provider table.
const char* const kAmpTable =
    "01 05 10 02 06 02 02 91 01 03 90 0A 1E 92 07 1E 00 00 00 07 00 00 90 0A "
    "1D 92 07 1D 00 00 00 07 00 00 90 03 00 92 00";

// GET ACR P1=60: the AMP table, extended format.
const char* const kAmpTableExtended =
    "1F 00 07 A0 00 00 00 79 03 00 12 00 00 00 1E 00 07 A0 00 00 00 79 03 00 "
    "10 01 00 00 1D 00 07 A0 00 00 00 79 03 00 01 00 00 00";

} // namespace vscard::cacard::tables
