#include "vscard/cacard/pin_retry_state.h"

#include "vscard/cacard/state_directory.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
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
    if (!RetryCounter::validMaximum(maxTries))
        return fail(std::string("PIN tries must be 1 to 15 (63Cx has four bits)"));
    if (!stateDirectory)
        return std::unique_ptr<PinRetryState>(new PinRetryState(maxTries, maxTries, -1));
    auto made = makePrivateDirectories(*stateDirectory);
    if (!made)
        return fail(made.error());
    const std::string path = *stateDirectory + "/" + cardId + ".pin";
    auto locked = openLocked(path, "the card's state " + path);
    if (!locked)
        return fail(locked.error());
    const int fd = *locked;
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
    counter_.recordFailure();
    save();
}

void PinRetryState::recordSuccess()
{
    counter_.recordSuccess();
    save();
}

void PinRetryState::save()
{
    if (fd_ < 0)
        return;
    char text[64];
    const int length = std::snprintf(text, sizeof text, "remaining %u of %u\n",
                                     counter_.remaining(), counter_.maxTries());
    if (::ftruncate(fd_, 0) == 0 &&
        ::pwrite(fd_, text, static_cast<std::size_t>(length), 0) == length)
        ::fsync(fd_); // a blocked card must stay blocked after a crash
}

} // namespace vscard::cacard
