// What a PIV card remembers besides its private keys: PIN and PUK (as salted hashes) with
// their retry counters, the management key, each key slot's algorithm, policies, origin and
// public key, the data objects written to it, its serial. With a state directory it lives in
// DIR/card-state (BER-TLV of our own tags, replaced atomically on every change) and the
// directory is locked against a second process; without one it lives as long as the card.
#pragma once

#include "piv_algorithms.h"
#include "vscard/bytes.h"
#include "vscard/cacard/retry_counter.h"
#include "vscard/result.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace vscard::cacard::piv {

struct Credential { // the PIN or the PUK
    Bytes salt;
    Bytes hash; // secretHash(value padded to 8 bytes with FF, salt)
    RetryCounter tries;
    bool isDefault = true; // still the factory value (GET METADATA tells the tools)

    bool blocked() const { return tries.blocked(); }
    friend bool operator==(const Credential&, const Credential&) = default;
};

struct ManagementKey {
    Algorithm algorithm = Algorithm::TripleDes;
    Bytes key;
    TouchPolicy touch = TouchPolicy::Never;
    bool isDefault = true;
    friend bool operator==(const ManagementKey&, const ManagementKey&) = default;
};

enum class KeyOrigin : std::uint8_t { Generated = 1, Imported = 2 };

struct KeySlot {
    Algorithm algorithm = Algorithm::Rsa2048;
    PinPolicy pinPolicy = PinPolicy::Default;
    TouchPolicy touchPolicy = TouchPolicy::Default;
    KeyOrigin origin = KeyOrigin::Generated;
    Bytes publicKeyInfo; // SubjectPublicKeyInfo DER
    friend bool operator==(const KeySlot&, const KeySlot&) = default;
};

struct CardState {
    std::uint32_t serial = 0;
    Credential pin;
    Credential puk;
    ManagementKey management;
    std::map<std::uint8_t, KeySlot> keys;
    std::map<std::uint32_t, Bytes> objects; // data objects by tag, as the value inside 53

    friend bool operator==(const CardState&, const CardState&) = default;
};

Bytes encodeCardState(const CardState& state);
// Fails on anything that is not a state this code wrote (a truncated or foreign file).
Result<CardState, std::string> decodeCardState(ByteView bytes);

class StateFile {
public:
    // Locks DIR (DIR/lock) and reads DIR/card-state; nullopt state when there is none yet.
    // Without a directory, nothing is read or written.
    static Result<std::unique_ptr<StateFile>, std::string>
    open(const std::optional<std::string>& directory);
    ~StateFile();
    StateFile(const StateFile&) = delete;
    StateFile& operator=(const StateFile&) = delete;

    const std::optional<CardState>& loaded() const { return loaded_; }
    // Writes the state durably (temporary file, fsync, rename); an error says why.
    std::optional<std::string> save(const CardState& state);
    const std::optional<std::string>& directory() const { return directory_; }

private:
    StateFile(std::optional<std::string> directory, int lockFd)
        : directory_(std::move(directory)), lockFd_(lockFd)
    {
    }

    std::optional<std::string> directory_;
    int lockFd_;
    std::optional<CardState> loaded_;
};

} // namespace vscard::cacard::piv
