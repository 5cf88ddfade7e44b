// The process's file descriptors: how many it may open, and who gets the last of them. A
// listener that hands every descriptor to whoever connects first lets an attacker cut off
// pcscd's driver link (the readers of every user) and the server's own needs; so the last
// few are kept for trusted peers, and untrusted connections are refused before them.
#pragma once

#include <QString>

namespace vscard::server {

class DescriptorBudget {
public:
    // Raises the soft RLIMIT_NOFILE to the hard one (at most kLimitCeiling): a server's
    // capacity should be the administrator's decision (LimitNOFILE=), not the login default
    // of 1024. Returns what it did, in words, for the start-up log.
    static QString raiseLimit();
    // The soft limit now.
    static int limit();
    // Descriptors at the top of the limit kept for trusted peers: an eighth of it, between
    // 8 and 64.
    static int reserve(int limit);
    // Whether a connection the kernel gave descriptor fd may stay. The kernel hands out the
    // lowest free number, so fd >= n means at least n descriptors are open: untrusted peers
    // are admitted below limit - reserve, trusted ones (pcscd's driver link) up to the limit.
    static bool admits(int fd, bool trusted);
    // How many descriptors are open, counted in /proc/self/fd (for log lines, not decisions);
    // -1 when not even that one can be opened.
    static int openCount();

    static constexpr int kLimitCeiling = 65536;
};

} // namespace vscard::server
