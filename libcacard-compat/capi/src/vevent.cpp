// The event queue: readers and cards coming and going, in order, for one consumer thread
// (QEMU's event thread, spice-gtk's) that may block waiting for the next.
#include "capi_internal.h"

#include <condition_variable>
#include <cstdlib>

namespace {

struct EventQueue {
    std::mutex mutex;
    std::condition_variable queued;
    VEvent* head = nullptr;
    VEvent* tail = nullptr;

    VEvent* dequeueLocked()
    {
        VEvent* event = head;
        if (event) {
            head = event->next;
            if (!head)
                tail = nullptr;
            event->next = nullptr;
        }
        return event;
    }
};

// Immortal: a consumer's event thread may still wait on it while the process exits.
EventQueue& queue()
{
    return vscard::capi::immortal<EventQueue>();
}

} // namespace

extern "C" {

VEvent* vevent_new(VEventType type, VReader* reader, VCard* card)
{
    auto* event = static_cast<VEvent*>(std::malloc(sizeof(VEvent)));
    if (!event)
        return nullptr;
    event->next = nullptr;
    event->type = type;
    event->reader = vreader_reference(reader);
    event->card = vcard_reference(card);
    return event;
}

void vevent_delete(VEvent* event)
{
    if (!event)
        return;
    vreader_free(event->reader);
    vcard_free(event->card);
    std::free(event);
}

// libcacard forgets the queue's contents here (leaking them); we only make sure the queue
// exists: events already queued stay deliverable.
void vevent_queue_init(void)
{
    (void)queue();
}

void vevent_queue_vevent(VEvent* event)
{
    if (!event)
        return;
    const bool queuedNow = vscard::capi::guarded("vevent_queue_vevent", false, [event] {
        EventQueue& q = queue();
        {
            std::lock_guard lock(q.mutex);
            event->next = nullptr;
            if (q.tail)
                q.tail->next = event;
            else
                q.head = event;
            q.tail = event;
        }
        q.queued.notify_one();
        return true;
    });
    if (!queuedNow)
        vevent_delete(event); // it was given to the queue: nobody else frees it
}

// nullptr, libcacard's answer once the queue is gone, is what a failure gives.
VEvent* vevent_wait_next_vevent(void)
{
    return vscard::capi::guarded("vevent_wait_next_vevent", static_cast<VEvent*>(nullptr), [] {
        EventQueue& q = queue();
        std::unique_lock lock(q.mutex);
        q.queued.wait(lock, [&q] { return q.head != nullptr; });
        return q.dequeueLocked();
    });
}

VEvent* vevent_get_next_vevent(void)
{
    return vscard::capi::guarded("vevent_get_next_vevent", static_cast<VEvent*>(nullptr), [] {
        EventQueue& q = queue();
        std::lock_guard lock(q.mutex);
        return q.dequeueLocked();
    });
}

} // extern "C"
