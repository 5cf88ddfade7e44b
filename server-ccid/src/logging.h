// Logging categories of server-ccid, one per subsystem (--trace picks them:
// vscard/qt/trace_filter.h).
#pragma once

#include "vscard/bytes.h"

#include <QLoggingCategory>
#include <QString>

Q_DECLARE_LOGGING_CATEGORY(lcServer) // vscard.server: listeners, clients coming and going
Q_DECLARE_LOGGING_CATEGORY(lcWire)   // vscard.wire: every VSCard message, decoded (debug)
Q_DECLARE_LOGGING_CATEGORY(lcCcid)   // vscard.ccid: every CCID message, decoded (debug)
Q_DECLARE_LOGGING_CATEGORY(lcPcsc)   // vscard.pcsc: the pcscd driver link
Q_DECLARE_LOGGING_CATEGORY(lcUsbip)  // vscard.usbip: the USB/IP export
