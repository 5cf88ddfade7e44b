#include "piv_state.h"

#include "vscard/cacard/ber_tlv.h"
#include "vscard/cacard/state_directory.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vscard::cacard::piv {

namespace {

// The file's tags, private to it.
constexpr std::uint32_t kFormat = 0x01; // format version, 1
constexpr std::uint32_t kSerial = 0x02;
constexpr std::uint32_t kPinRecord = 0xA1;
constexpr std::uint32_t kPukRecord = 0xA2;
constexpr std::uint32_t kManagement = 0xA3;
constexpr std::uint32_t kKey = 0xA4;
constexpr std::uint32_t kObject = 0xA5;
constexpr std::uint8_t kFormatVersion = 1;

Bytes byte(std::uint8_t value)
{
    return {value};
}

Bytes number(std::uint32_t value)
{
    Bytes out;
    appendBigEndian32(out, value);
    return out;
}

Bytes credential(const Credential& value)
{
    Bytes out;
    appendBerTlv(out, 0x01, value.salt);
    appendBerTlv(out, 0x02, value.hash);
    appendBerTlv(out, 0x03, byte(static_cast<std::uint8_t>(value.tries.maxTries())));
    appendBerTlv(out, 0x04, byte(static_cast<std::uint8_t>(value.tries.remaining())));
    appendBerTlv(out, 0x05, byte(value.isDefault ? 1 : 0));
    return out;
}

// Reads the members of one compound value, each required.
class Members {
public:
    static Result<Members, std::string> of(const BerTlv& tlv)
    {
        auto parsed = parseBerTlvs(tlv.value);
        if (!parsed)
            return fail(parsed.error());
        return Members(std::move(parsed).value());
    }
    std::optional<Bytes> bytes(std::uint32_t tag) const
    {
        const BerTlv* found = findBerTlv(members_, tag);
        return found ? std::optional(found->value) : std::nullopt;
    }
    std::optional<std::uint8_t> octet(std::uint32_t tag) const
    {
        const auto value = bytes(tag);
        return value && value->size() == 1 ? std::optional((*value)[0]) : std::nullopt;
    }

private:
    explicit Members(std::vector<BerTlv> members) : members_(std::move(members)) {}
    std::vector<BerTlv> members_;
};

Result<Credential, std::string> readCredential(const BerTlv& tlv)
{
    auto members = Members::of(tlv);
    if (!members)
        return fail(members.error());
    const auto salt = members->bytes(0x01);
    const auto hash = members->bytes(0x02);
    const auto maxTries = members->octet(0x03);
    const auto remaining = members->octet(0x04);
    const auto isDefault = members->octet(0x05);
    if (!salt || !hash || !maxTries || !remaining || !isDefault ||
        !RetryCounter::validMaximum(*maxTries) || *remaining > *maxTries)
        return fail(std::string("a PIN or PUK record is incomplete"));
    return Credential{*salt, *hash, RetryCounter(*maxTries, *remaining), *isDefault != 0};
}

} // namespace

Bytes encodeCardState(const CardState& state)
{
    Bytes out;
    appendBerTlv(out, kFormat, byte(kFormatVersion));
    appendBerTlv(out, kSerial, number(state.serial));
    appendBerTlv(out, kPinRecord, credential(state.pin));
    appendBerTlv(out, kPukRecord, credential(state.puk));
    Bytes management;
    appendBerTlv(management, 0x01, byte(static_cast<std::uint8_t>(state.management.algorithm)));
    appendBerTlv(management, 0x02, state.management.key);
    appendBerTlv(management, 0x03, byte(static_cast<std::uint8_t>(state.management.touch)));
    appendBerTlv(management, 0x05, byte(state.management.isDefault ? 1 : 0));
    appendBerTlv(out, kManagement, management);
    for (const auto& [slot, key] : state.keys) {
        Bytes record;
        appendBerTlv(record, 0x01, byte(slot));
        appendBerTlv(record, 0x02, byte(static_cast<std::uint8_t>(key.algorithm)));
        appendBerTlv(record, 0x03, byte(static_cast<std::uint8_t>(key.pinPolicy)));
        appendBerTlv(record, 0x04, byte(static_cast<std::uint8_t>(key.touchPolicy)));
        appendBerTlv(record, 0x05, byte(static_cast<std::uint8_t>(key.origin)));
        appendBerTlv(record, 0x06, key.publicKeyInfo);
        appendBerTlv(out, kKey, record);
    }
    for (const auto& [tag, value] : state.objects) {
        Bytes record;
        appendBerTlv(record, 0x01, number(tag));
        appendBerTlv(record, 0x02, value);
        appendBerTlv(out, kObject, record);
    }
    return out;
}

Result<CardState, std::string> decodeCardState(ByteView bytes)
{
    auto members = parseBerTlvs(bytes);
    if (!members)
        return fail(members.error());
    const BerTlv* format = findBerTlv(*members, kFormat);
    if (!format || format->value != byte(kFormatVersion))
        return fail(std::string("not a card state of format 1"));
    CardState state;
    bool haveSerial = false, havePin = false, havePuk = false, haveManagement = false;
    for (const BerTlv& member : *members) {
        switch (member.tag) {
        case kFormat: break;
        case kSerial:
            if (member.value.size() != 4)
                return fail(std::string("the serial is not 4 bytes"));
            state.serial = readBigEndian32(member.value, 0);
            haveSerial = true;
            break;
        case kPinRecord:
        case kPukRecord: {
            auto value = readCredential(member);
            if (!value)
                return fail(value.error());
            (member.tag == kPinRecord ? state.pin : state.puk) = std::move(value).value();
            (member.tag == kPinRecord ? havePin : havePuk) = true;
            break;
        }
        case kManagement: {
            auto record = Members::of(member);
            if (!record)
                return fail(record.error());
            const auto algorithm = record->octet(0x01);
            const auto key = record->bytes(0x02);
            const auto touch = record->octet(0x03);
            const auto isDefault = record->octet(0x05);
            if (!algorithm || !managementAlgorithm(*algorithm) || !key ||
                key->size() != symmetricKeyBytes(static_cast<Algorithm>(*algorithm)) || !touch ||
                *touch > 3 || !isDefault)
                return fail(std::string("the management key record is incomplete"));
            state.management = {static_cast<Algorithm>(*algorithm), *key,
                                static_cast<TouchPolicy>(*touch), *isDefault != 0};
            haveManagement = true;
            break;
        }
        case kKey: {
            auto record = Members::of(member);
            if (!record)
                return fail(record.error());
            const auto slot = record->octet(0x01);
            const auto algorithm = record->octet(0x02);
            const auto pinPolicy = record->octet(0x03);
            const auto touchPolicy = record->octet(0x04);
            const auto origin = record->octet(0x05);
            const auto publicKey = record->bytes(0x06);
            if (!slot || !isAsymmetricKeySlot(*slot) || !algorithm ||
                !asymmetricAlgorithm(*algorithm) || !pinPolicy || *pinPolicy > 3 || !touchPolicy ||
                *touchPolicy > 3 || !origin || *origin < 1 || *origin > 2 || !publicKey)
                return fail(std::string("a key record is incomplete"));
            state.keys[*slot] = {static_cast<Algorithm>(*algorithm),
                                 static_cast<PinPolicy>(*pinPolicy),
                                 static_cast<TouchPolicy>(*touchPolicy),
                                 static_cast<KeyOrigin>(*origin), *publicKey};
            break;
        }
        case kObject: {
            auto record = Members::of(member);
            if (!record)
                return fail(record.error());
            const auto tag = record->bytes(0x01);
            const auto value = record->bytes(0x02);
            if (!tag || tag->size() != 4 || !value)
                return fail(std::string("a data object record is incomplete"));
            state.objects[readBigEndian32(*tag, 0)] = *value;
            break;
        }
        default: return fail("unknown member " + std::to_string(member.tag));
        }
    }
    if (!haveSerial || !havePin || !havePuk || !haveManagement)
        return fail(std::string("the serial, PIN, PUK or management key is missing"));
    return state;
}

Result<std::unique_ptr<StateFile>, std::string>
StateFile::open(const std::optional<std::string>& directory)
{
    if (!directory)
        return std::unique_ptr<StateFile>(new StateFile(std::nullopt, -1));
    auto made = makePrivateDirectories(*directory);
    if (!made)
        return fail(made.error());
    auto locked = openLocked(*directory + "/lock", "the card's state " + *directory);
    if (!locked)
        return fail(locked.error());
    const int lockFd = *locked;
    std::unique_ptr<StateFile> file(new StateFile(directory, lockFd));
    const std::string path = *directory + "/card-state";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return file;
        return fail("cannot read " + path + ": " + std::strerror(errno));
    }
    Bytes content;
    std::uint8_t buffer[4096];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        content.insert(content.end(), buffer, buffer + got);
        if (content.size() > (1u << 22))
            break;
    }
    ::close(fd);
    auto state = decodeCardState(content);
    if (!state)
        return fail(path + " is damaged (" + state.error() +
                    "); move it away to start a new card in its place");
    file->loaded_ = std::move(state).value();
    return file;
}

StateFile::~StateFile()
{
    if (lockFd_ >= 0)
        ::close(lockFd_);
}

std::optional<std::string> StateFile::save(const CardState& state)
{
    if (!directory_)
        return std::nullopt;
    const Bytes content = encodeCardState(state);
    const std::string path = *directory_ + "/card-state";
    const std::string temporary = path + ".new";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return "cannot write " + temporary + ": " + std::strerror(errno);
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t put = ::write(fd, content.data() + written, content.size() - written);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0) {
            const std::string error = std::strerror(errno);
            ::close(fd);
            return "cannot write " + temporary + ": " + error;
        }
        written += static_cast<std::size_t>(put);
    }
    // A blocked PIN must stay blocked after a crash: on disk before the answer goes out.
    if (::fsync(fd) != 0 || ::close(fd) != 0)
        return "cannot write " + temporary + ": " + std::strerror(errno);
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        return "cannot replace " + path + ": " + std::strerror(errno);
    const int directoryFd = ::open(directory_->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directoryFd >= 0) {
        ::fsync(directoryFd);
        ::close(directoryFd);
    }
    return std::nullopt;
}

} // namespace vscard::cacard::piv
