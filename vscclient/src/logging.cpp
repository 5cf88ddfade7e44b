#include "logging.h"

Q_LOGGING_CATEGORY(lcClient, "vscard.client")
Q_LOGGING_CATEGORY(lcWire, "vscard.wire", QtInfoMsg)
Q_LOGGING_CATEGORY(lcPcsc, "vscard.pcsc", QtInfoMsg)
