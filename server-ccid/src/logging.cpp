#include "logging.h"

#include "vscard/ccid/ccid_wire.h"

Q_LOGGING_CATEGORY(lcServer, "vscard.server")
Q_LOGGING_CATEGORY(lcWire, "vscard.wire", QtInfoMsg)
Q_LOGGING_CATEGORY(lcCcid, "vscard.ccid", QtInfoMsg)
Q_LOGGING_CATEGORY(lcPcsc, "vscard.pcsc", QtInfoMsg)
Q_LOGGING_CATEGORY(lcUsbip, "vscard.usbip", QtInfoMsg)

QString describeCcid(vscard::ByteView bytes)
{
    const auto message = vscard::ccid::parseMessage(bytes);
    return message ? QString::fromStdString(vscard::ccid::describe(*message))
                   : QString::fromStdString(message.error().message);
}
