// A card answered by a script (insert N ATR, then expect-apdu / respond): its commands wait in
// a queue the script takes them from, in order, whichever scripted card they came to.
#pragma once

#include "local_card.h"

#include <QObject>

#include <deque>
#include <memory>

namespace vscard::client {

struct PendingApdu {
    int reader = -1;
    Bytes command;
    LocalCard::Completion done;
};

class ScriptedApdus : public QObject {
    Q_OBJECT

public:
    void push(PendingApdu apdu)
    {
        queue_.push_back(std::move(apdu));
        Q_EMIT arrived();
    }
    bool empty() const { return queue_.empty(); }
    PendingApdu take()
    {
        PendingApdu next = std::move(queue_.front());
        queue_.pop_front();
        return next;
    }

Q_SIGNALS:
    void arrived();

private:
    std::deque<PendingApdu> queue_;
};

class ScriptedCard : public LocalCard {
public:
    ScriptedCard(int reader, Bytes atr, ScriptedApdus& apdus)
        : reader_(reader), atr_(std::move(atr)), apdus_(apdus)
    {
    }

    Bytes atr() const override { return atr_; }
    void transmit(Bytes command, Completion done) override
    {
        apdus_.push({reader_, std::move(command), std::move(done)});
    }
    void power(PowerAction action, Completion done) override
    {
        done(action == PowerAction::Off ? Bytes{} : atr_);
    }

private:
    int reader_;
    Bytes atr_;
    ScriptedApdus& apdus_;
};

} // namespace vscard::client
