#include "vscard/cacard/pin_retry_state.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vscard::cacard {

namespace {

// The file holds one line: "remaining N of M".
std::optional<unsigned> readRemaining(int fd, unsigned maxTries)
{
    char text[64] = {};
    const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
    if (got <= 0)
        return std::nullopt;
    unsigned remaining = 0;
    unsigned recordedMax = 0;
    if (std::sscanf(text, "remaining %u of %u", &remaining, &recordedMax) != 2)
        return std::nullopt;
    return std::min(remaining, maxTries);
}

} // namespace

Result<std::unique_ptr<PinRetryState>, std::string>
PinRetryState::open(const std::optional<std::string>& stateDirectory, const std::string& cardId,
                    unsigned maxTries)
{
    if (maxTries == 0 || maxTries > 15)
        return fail(std::string("PIN tries must be 1 to 15 (63Cx has four bits)"));
    if (!stateDirectory)
        return std::unique_ptr<PinRetryState>(new PinRetryState(maxTries, maxTries, -1));
    if (::mkdir(stateDirectory->c_str(), 0700) != 0 && errno != EEXIST)
        return fail("cannot create the state directory " + *stateDirectory + ": " +
                    std::strerror(errno));
    const std::string path = *stateDirectory + "/" + cardId + ".pin";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return fail("the card's state " + path + " is in use by another process");
    }
    const unsigned remaining = readRemaining(fd, maxTries).value_or(maxTries);
    std::unique_ptr<PinRetryState> state(new PinRetryState(maxTries, remaining, fd));
    state->save();
    return state;
}

PinRetryState::~PinRetryState()
{
    if (fd_ >= 0)
        ::close(fd_); // releases the lock
}

void PinRetryState::recordFailure()
{
    if (remaining_ > 0)
        --remaining_;
    save();
}

void PinRetryState::recordSuccess()
{
    remaining_ = maxTries_;
    save();
}

void PinRetryState::save()
{
    if (fd_ < 0)
        return;
    char text[64];
    const int length =
        std::snprintf(text, sizeof text, "remaining %u of %u\n", remaining_, maxTries_);
    if (::ftruncate(fd_, 0) == 0 &&
        ::pwrite(fd_, text, static_cast<std::size_t>(length), 0) == length)
        ::fsync(fd_); // a blocked card must stay blocked after a crash
}

} // namespace vscard::cacard
