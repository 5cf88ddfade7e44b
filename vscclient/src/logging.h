// Logging categories of vscclient (--trace picks them: vscard/qt/trace_filter.h).
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcClient) // vscard.client: the host, readers and cards
Q_DECLARE_LOGGING_CATEGORY(lcWire)   // vscard.wire: every VSCard message, decoded (debug)
Q_DECLARE_LOGGING_CATEGORY(lcPcsc)   // vscard.pcsc: the real readers behind --pcsc
