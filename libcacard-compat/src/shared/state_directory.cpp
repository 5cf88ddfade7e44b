#include "vscard/cacard/state_directory.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vscard::cacard {

Result<bool, std::string> makePrivateDirectories(const std::string& path)
{
    for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
        const std::string prefix = path.substr(0, slash);
        if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
            return fail("cannot create the state directory " + path + ": " + std::strerror(errno));
        if (slash == std::string::npos)
            return true;
    }
}

Result<int, std::string> openLocked(const std::string& path, const std::string& what)
{
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return fail(what + " is in use by another process");
    }
    return fd;
}

} // namespace vscard::cacard
