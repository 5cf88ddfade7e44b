// The event loop our programs run on. Qt on Debian defaults to GLib's main loop, which wakes
// itself through an eventfd whenever a socket notifier is switched on or off: twice for every
// message a socket writes, three extra system calls and a loop pass per hop of an APDU. Qt's
// own poll-based loop has none of that. Called before the Q*Application is made; a user who
// sets QT_NO_GLIB (to 0, say) keeps the choice.
#pragma once

#include <QtGlobal>

namespace vscard {

inline void preferQtEventLoop()
{
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
}

} // namespace vscard
