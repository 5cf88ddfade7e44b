// Who may drive the readers through the pcscd driver socket. A driver link powers cards and
// sends them APDUs below pcscd and below --policy, so it is admitted only from the users
// pcscd runs as (SO_PEERCRED, --pcsc-user), and only one at a time: a second link would take
// the slots away from pcscd's. --list requests on the same socket stay open to anyone who can
// connect (the socket's mode decides who): they only read.
#pragma once

#include "vscard/policy/access_policy.h"

#include <QList>
#include <QString>

#include <cstdint>
#include <optional>

namespace vscard::server {

class DriverLinkGate {
public:
    // `users`: the uids admitted; empty means root and the user this server runs as.
    explicit DriverLinkGate(QList<std::uint32_t> users);

    // Why the peer may not start a driver link now, or nullopt when it may: then `link`
    // holds the gate until release(link).
    std::optional<QString> claim(const policy::PeerIdentity& peer, const void* link);
    // Does nothing unless `link` holds the gate.
    void release(const void* link);
    bool held() const { return holder_ != nullptr; }

    // "root (0), vscard (113)": for the log line that says who is admitted.
    QString describeUsers() const;

private:
    QList<std::uint32_t> users_;
    const void* holder_ = nullptr;
};

// USER as --pcsc-user takes it: a user name or a number.
std::optional<std::uint32_t> resolveUser(const QString& user);

} // namespace vscard::server
