/* libcacard's API, as vscard's libcacard-compat provides it: a drop-in for consumers of
 * libcacard 2.8 (QEMU's ccid-card-emulated, spice-gtk, vscclient). Include this header. */
#ifndef LIBCACARD_H
#define LIBCACARD_H

#include <glib.h>

G_BEGIN_DECLS

#define __LIBCACARD_H_INSIDE__

#include "cac.h"
#include "card_7816.h"
#include "card_7816t.h"
#include "eventt.h"
#include "vcard.h"
#include "vcard_emul.h"
#include "vcard_emul_type.h"
#include "vcardt.h"
#include "vevent.h"
#include "vreader.h"
#include "vreadert.h"
#include "vscard_common.h"

G_END_DECLS

#endif
