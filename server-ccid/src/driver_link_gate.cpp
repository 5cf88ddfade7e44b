#include "driver_link_gate.h"

#include <QStringList>

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace vscard::server {

namespace {

QString userName(std::uint32_t uid)
{
    std::vector<char> buffer(4096);
    passwd entry{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
        return QString::fromLocal8Bit(found->pw_name);
    return {};
}

} // namespace

DriverLinkGate::DriverLinkGate(QList<std::uint32_t> users) : users_(std::move(users))
{
    if (users_.isEmpty()) {
        users_ << 0;
        if (const std::uint32_t self = ::geteuid(); self != 0)
            users_ << self;
    }
}

std::optional<QString> DriverLinkGate::claim(const policy::PeerIdentity& peer, const void* link)
{
    if (!peer.uid)
        return QStringLiteral("no peer credentials: a driver link must come over the Unix "
                              "socket from pcscd");
    if (!users_.contains(*peer.uid))
        return QStringLiteral("uid %1 may not drive the readers (--pcsc-user admits %2)")
            .arg(*peer.uid)
            .arg(describeUsers());
    if (holder_ && holder_ != link)
        return QStringLiteral("a driver link is already open (one at a time: a second would "
                              "take the readers away from pcscd's)");
    holder_ = link;
    return std::nullopt;
}

void DriverLinkGate::release(const void* link)
{
    if (holder_ == link)
        holder_ = nullptr;
}

QString DriverLinkGate::describeUsers() const
{
    QStringList names;
    for (const std::uint32_t uid : users_) {
        const QString name = userName(uid);
        names << (name.isEmpty() ? QString::number(uid)
                                 : QStringLiteral("%1 (%2)").arg(name).arg(uid));
    }
    return names.join(QStringLiteral(", "));
}

std::optional<std::uint32_t> resolveUser(const QString& user)
{
    bool number = false;
    const uint uid = user.toUInt(&number);
    if (number)
        return uid;
    std::vector<char> buffer(4096);
    passwd entry{};
    passwd* found = nullptr;
    const QByteArray name = user.toLocal8Bit();
    if (::getpwnam_r(name.constData(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        return std::nullopt;
    return found->pw_uid;
}

} // namespace vscard::server
