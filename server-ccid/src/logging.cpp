#include "logging.h"

Q_LOGGING_CATEGORY(lcServer, "vscard.server")
Q_LOGGING_CATEGORY(lcWire, "vscard.wire", QtInfoMsg)
Q_LOGGING_CATEGORY(lcCcid, "vscard.ccid", QtInfoMsg)
Q_LOGGING_CATEGORY(lcPcsc, "vscard.pcsc", QtInfoMsg)
Q_LOGGING_CATEGORY(lcUsbip, "vscard.usbip", QtInfoMsg)
