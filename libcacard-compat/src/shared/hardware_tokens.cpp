#include "vscard/cacard/hardware_tokens.h"

#include <pk11pub.h>
#include <secmod.h>

#include <algorithm>

namespace vscard::cacard {

namespace {

PK11SlotInfo* asSlot(void* pointer)
{
    return static_cast<PK11SlotInfo*>(pointer);
}

// Every slot of every module but NSS's own, referenced. New readers of a module show up as
// new slots once its slot list is updated.
std::vector<PK11SlotInfo*> externalSlots()
{
    std::vector<SECMODModule*> modules;
    SECMODListLock* lock = SECMOD_GetDefaultModuleListLock();
    SECMOD_GetReadLock(lock);
    for (SECMODModuleList* entry = SECMOD_GetDefaultModuleList(); entry; entry = entry->next)
        if (entry->module && !entry->module->internal)
            modules.push_back(SECMOD_ReferenceModule(entry->module));
    SECMOD_ReleaseReadLock(lock);

    std::vector<PK11SlotInfo*> slots;
    for (SECMODModule* module : modules) {
        // Takes the list's write lock itself: not while we hold the read lock.
        SECMOD_UpdateSlotList(module);
        SECMOD_GetReadLock(lock);
        for (int i = 0; i < module->slotCount; ++i)
            if (module->slots[i])
                slots.push_back(PK11_ReferenceSlot(module->slots[i]));
        SECMOD_ReleaseReadLock(lock);
        SECMOD_DestroyModule(module);
    }
    return slots;
}

} // namespace

HardwareTokens::HardwareTokens(std::shared_ptr<NssDatabase> database, HardwareUse use,
                               SkipRule skip)
    : database_(std::move(database)), use_(use), skip_(std::move(skip))
{
}

HardwareTokens::~HardwareTokens()
{
    for (const Watched& entry : watched_)
        PK11_FreeSlot(asSlot(entry.slot));
    for (void* slot : skipped_)
        PK11_FreeSlot(asSlot(slot));
}

bool HardwareTokens::qualifies(void* pointer) const
{
    // libcacard's rule: removable slots; with use_hw=yes only those of hardware readers.
    PK11SlotInfo* slot = asSlot(pointer);
    if (use_ == HardwareUse::No || PK11_IsInternal(slot) || !PK11_IsRemovable(slot))
        return false;
    return use_ == HardwareUse::Removable || PK11_IsHW(slot);
}

std::vector<TokenEvent> HardwareTokens::poll()
{
    std::vector<TokenEvent> events;
    for (PK11SlotInfo* slot : externalSlots()) {
        auto known = std::find_if(watched_.begin(), watched_.end(),
                                  [slot](const Watched& entry) { return entry.slot == slot; });
        if (known == watched_.end()) {
            const bool seenAndSkipped =
                std::find(skipped_.begin(), skipped_.end(), slot) != skipped_.end();
            const std::string name = PK11_GetSlotName(slot);
            if (seenAndSkipped || !qualifies(slot)) {
                PK11_FreeSlot(slot);
                continue;
            }
            if (skip_ && skip_(name)) {
                skipped_.push_back(slot);
                events.push_back({TokenEvent::Kind::SlotSkipped, 0, name});
                continue;
            }
            watched_.push_back({PK11_ReferenceSlot(slot), name});
            known = watched_.end() - 1;
            events.push_back({TokenEvent::Kind::SlotFound,
                              static_cast<std::size_t>(known - watched_.begin()), name});
        }
        const auto index = static_cast<std::size_t>(known - watched_.begin());
        const bool present = PK11_IsPresent(slot);
        const int series = present ? PK11_GetSlotSeries(slot) : 0;
        if (known->present && (!present || series != known->series))
            events.push_back({TokenEvent::Kind::TokenRemoved, index, known->name});
        if (present && (!known->present || series != known->series))
            events.push_back({TokenEvent::Kind::TokenInserted, index, known->name});
        known->present = present;
        known->series = series;
        PK11_FreeSlot(slot);
    }
    return events;
}

Result<std::unique_ptr<NssCardKeys>, std::string> HardwareTokens::openToken(std::size_t slot)
{
    if (slot >= watched_.size())
        return fail(std::string("no such slot"));
    return NssCardKeys::openToken(database_, watched_[slot].slot);
}

} // namespace vscard::cacard
