// What every emulated card needs of the directory that keeps its state across restarts: the
// directory made (with its parents, each private to its owner) and a file of it locked so that
// a second process cannot use the same card at once.
#pragma once

#include "vscard/result.h"

#include <string>

namespace vscard::cacard {

// mkdir -p, new directories 0700. An error says which and why.
Result<bool, std::string> makePrivateDirectories(const std::string& path);

// Opens (creating, 0600) and locks a file of the card; the descriptor, which holds the lock
// until closed. "in use by another process" when someone else holds it.
Result<int, std::string> openLocked(const std::string& path, const std::string& what);

} // namespace vscard::cacard
