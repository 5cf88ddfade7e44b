// How many connections of one kind are open, in all and per peer identity, so that nobody
// takes every place: VSCard clients (--max-clients, --client-connections) and USB/IP
// importers (--usbip-max-connections, --usbip-address-connections) each have one.
#pragma once

#include <QHash>
#include <QObject>
#include <QString>

#include <optional>

namespace vscard::server {

class ConnectionQuota {
public:
    // noun: what the refusal names ("clients", "USB/IP connections").
    ConnectionQuota(QString noun, QString totalOption, QString perPeerOption)
        : noun_(std::move(noun)), totalOption_(std::move(totalOption)),
          perPeerOption_(std::move(perPeerOption))
    {
    }

    // Why one more connection of the peer with this identity key may not open; nullopt if
    // it may.
    std::optional<QString> refusal(const QString& key, int maxTotal, int maxPerPeer) const
    {
        if (open_ >= maxTotal)
            return QStringLiteral("%1 %2 are open, the most --%3 allows")
                .arg(open_)
                .arg(noun_, totalOption_);
        if (const int mine = perPeer_.value(key); mine >= maxPerPeer)
            return QStringLiteral("it has %1 %2 open, the most --%3 allows")
                .arg(mine)
                .arg(noun_, perPeerOption_);
        return std::nullopt;
    }
    // Counts a connection of `key` until `lifetime` is destroyed. `owner`: the object this
    // quota is a member of (the count stops with it, even while it deletes its children).
    void hold(const QString& key, QObject* lifetime, QObject* owner)
    {
        ++open_;
        ++perPeer_[key];
        QObject::connect(lifetime, &QObject::destroyed, owner, [this, key] {
            --open_;
            if (--perPeer_[key] <= 0)
                perPeer_.remove(key);
        });
    }
    int open() const { return open_; }

private:
    QString noun_;
    QString totalOption_;
    QString perPeerOption_;
    int open_ = 0;
    QHash<QString, int> perPeer_;
};

} // namespace vscard::server
