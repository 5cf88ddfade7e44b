// Constant answers of libcacard 2.8's CAC applets, as hex text (see cac_tables.cpp).
#pragma once

namespace vscard::cacard::tables {

extern const char* const kAcaLongProperties;
extern const char* const kAcrTable;
extern const char* const kAcrTableExtended;
extern const char* const kAppletTableTail;
extern const char* const kAppletTableExtendedTail;
extern const char* const kAmpTable;
extern const char* const kAmpTableExtended;

} // namespace vscard::cacard::tables
