/* The event queue of libcacard's API (vscard libcacard-compat). */
#ifndef EVENT_H
#define EVENT_H 1

#include "eventt.h"
#include "vcardt.h"
#include "vreadert.h"

/* Takes a reference to reader and card. */
VEvent* vevent_new(VEventType type, VReader* reader, VCard* card);
void vevent_delete(VEvent*);

void vevent_queue_vevent(VEvent*);
void vevent_queue_init(void);

/* Blocks until an event is queued; queue vevent_new(VEVENT_LAST, NULL, NULL) to wake a
 * waiter that should stop. */
VEvent* vevent_wait_next_vevent(void);
/* NULL when the queue is empty. */
VEvent* vevent_get_next_vevent(void);

#endif
