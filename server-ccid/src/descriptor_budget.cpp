#include "descriptor_budget.h"

#include <QDir>

#include <sys/resource.h>

#include <algorithm>

namespace vscard::server {

QString DescriptorBudget::raiseLimit()
{
    rlimit limits{};
    if (::getrlimit(RLIMIT_NOFILE, &limits) != 0)
        return QStringLiteral("file descriptors: limit unknown");
    const rlim_t before = limits.rlim_cur;
    const rlim_t wanted = std::min<rlim_t>(limits.rlim_max, kLimitCeiling);
    if (wanted > before) {
        limits.rlim_cur = wanted;
        if (::setrlimit(RLIMIT_NOFILE, &limits) != 0)
            limits.rlim_cur = before;
    }
    const int now = static_cast<int>(limits.rlim_cur);
    const QString raised =
        limits.rlim_cur > before
            ? QStringLiteral(" (raised from %1, the hard limit is %2)")
                  .arg(before)
                  .arg(limits.rlim_max == RLIM_INFINITY ? QStringLiteral("unlimited")
                                                        : QString::number(limits.rlim_max))
            : QString();
    return QStringLiteral("file descriptors: limit %1%2; the last %3 are kept for pcscd's "
                          "driver link")
        .arg(now)
        .arg(raised)
        .arg(reserve(now));
}

int DescriptorBudget::limit()
{
    rlimit limits{};
    if (::getrlimit(RLIMIT_NOFILE, &limits) != 0 || limits.rlim_cur == RLIM_INFINITY)
        return kLimitCeiling;
    return static_cast<int>(std::min<rlim_t>(limits.rlim_cur, 1 << 30));
}

int DescriptorBudget::reserve(int limit)
{
    return std::clamp(limit / 8, 8, 64);
}

bool DescriptorBudget::admits(int fd, bool trusted)
{
    if (trusted)
        return true;
    const int now = limit();
    return fd < now - reserve(now);
}

int DescriptorBudget::openCount()
{
    // Reading the directory takes a descriptor itself: none left gives an empty list.
    const auto entries =
        QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::AllEntries | QDir::System);
    return entries.isEmpty() ? -1 : static_cast<int>(entries.size()) - 1;
}

} // namespace vscard::server
