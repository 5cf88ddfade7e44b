// Virtual cards and the applet framework card types are built on: applets selected per
// logical channel, a buffer for answers longer than one response, the card's ATR.
#include "capi_internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

extern "C" {

VCardBufferResponse* vcard_buffer_response_new(const unsigned char* buffer, int size)
{
    if (size < 0)
        return nullptr;
    auto* response = static_cast<VCardBufferResponse*>(std::malloc(sizeof(VCardBufferResponse)));
    if (!response)
        return nullptr;
    response->buffer = static_cast<unsigned char*>(std::malloc(std::max(size, 1)));
    if (!response->buffer) {
        std::free(response);
        return nullptr;
    }
    if (size > 0)
        std::memcpy(response->buffer, buffer, static_cast<std::size_t>(size));
    response->buffer_len = size;
    response->current = response->buffer;
    response->len = size;
    return response;
}

void vcard_buffer_response_delete(VCardBufferResponse* response)
{
    if (!response)
        return;
    std::free(response->buffer);
    std::free(response);
}

void vcard_reset(VCard* card, VCardPower power)
{
    if (!card)
        return;
    // A VCARD_DIRECT card has its oldest applet selected on every channel after a reset.
    VCardApplet* selected = nullptr;
    if (card->type == VCARD_DIRECT)
        for (VCardApplet* applet = card->applet_list; applet; applet = applet->next)
            selected = applet;
    card->current_applet.fill(selected);
    vcard_buffer_response_delete(card->buffer_response);
    card->buffer_response = nullptr;
    vcard_emul_reset(card, power);
    if (selected && selected->reset_applet)
        selected->reset_applet(card, 0);
}

VCardApplet* vcard_new_applet(VCardProcessAPDU process, VCardResetApplet reset,
                              const unsigned char* aid, int aidLength)
{
    return vscard::capi::guarded("vcard_new_applet", static_cast<VCardApplet*>(nullptr), [&] {
        auto* applet = new VCardApplet;
        applet->process_apdu = process;
        applet->reset_applet = reset;
        if (aid && aidLength > 0)
            applet->aid.assign(aid, aid + aidLength);
        return applet;
    });
}

void vcard_delete_applet(VCardApplet* applet)
{
    if (!applet)
        return;
    if (applet->applet_private_free)
        applet->applet_private_free(applet->applet_private);
    delete applet;
}

void vcard_set_applet_private(VCardApplet* applet, VCardAppletPrivate* appletPrivate,
                              VCardAppletPrivateFree privateFree)
{
    if (!applet)
        return;
    if (applet->applet_private_free)
        applet->applet_private_free(applet->applet_private);
    applet->applet_private = appletPrivate;
    applet->applet_private_free = privateFree;
}

VCard* vcard_new(VCardEmul* emulPrivate, VCardEmulFree privateFree)
{
    return vscard::capi::guarded("vcard_new", static_cast<VCard*>(nullptr), [&] {
        auto* card = new VCard;
        card->vcard_private = emulPrivate;
        card->vcard_private_free = privateFree;
        return card;
    });
}

VCard* vcard_reference(VCard* card)
{
    if (card)
        ++card->reference_count;
    return card;
}

void vcard_free(VCard* card)
{
    if (!card || --card->reference_count > 0)
        return;
    if (card->vcard_private_free)
        card->vcard_private_free(card->vcard_private);
    for (VCardApplet* applet = card->applet_list; applet;) {
        VCardApplet* next = applet->next;
        vcard_delete_applet(applet);
        applet = next;
    }
    vcard_buffer_response_delete(card->buffer_response);
    vscard::capi::guardedVoid("vcard_free", [card] { delete card; });
}

void vcard_get_atr(VCard* card, unsigned char* atr, int* atrLength)
{
    if (card && card->get_atr) {
        card->get_atr(card, atr, atrLength);
        return;
    }
    vcard_emul_get_atr(card, atr, atrLength);
}

void vcard_set_atr_func(VCard* card, VCardGetAtr getAtr)
{
    if (card)
        card->get_atr = getAtr;
}

VCardStatus vcard_add_applet(VCard* card, VCardApplet* applet)
{
    if (!card || !applet)
        return VCARD_FAIL;
    applet->next = card->applet_list;
    card->applet_list = applet;
    if (card->type == VCARD_DIRECT)
        card->current_applet.fill(applet);
    return VCARD_DONE;
}

VCardApplet* vcard_find_applet(VCard* card, const unsigned char* aid, int aidLength)
{
    if (!card || aidLength < 0)
        return nullptr;
    for (VCardApplet* applet = card->applet_list; applet; applet = applet->next)
        if (applet->aid.size() == static_cast<std::size_t>(aidLength) &&
            (aidLength == 0 || std::memcmp(applet->aid.data(), aid, applet->aid.size()) == 0))
            return applet;
    return nullptr;
}

unsigned char* vcard_applet_get_aid(VCardApplet* applet, int* aidLength)
{
    if (!applet)
        return nullptr;
    *aidLength = static_cast<int>(applet->aid.size());
    return applet->aid.data();
}

void vcard_select_applet(VCard* card, int channel, VCardApplet* applet)
{
    if (!card || channel < 0 || channel >= MAX_CHANNEL)
        return;
    card->current_applet[static_cast<std::size_t>(channel)] = applet;
    if (applet && applet->reset_applet)
        applet->reset_applet(card, channel);
}

VCardAppletPrivate* vcard_get_current_applet_private(VCard* card, int channel)
{
    if (!card || channel < 0 || channel >= MAX_CHANNEL)
        return nullptr;
    VCardApplet* applet = card->current_applet[static_cast<std::size_t>(channel)];
    return applet ? applet->applet_private : nullptr;
}

VCardStatus vcard_process_applet_apdu(VCard* card, VCardAPDU* apdu, VCardResponse** response)
{
    if (!card || !apdu || apdu->a_channel < 0 || apdu->a_channel >= MAX_CHANNEL)
        return VCARD_NEXT;
    VCardApplet* applet = card->current_applet[static_cast<std::size_t>(apdu->a_channel)];
    if (applet && applet->process_apdu)
        return applet->process_apdu(card, apdu, response);
    return VCARD_NEXT;
}

VCardBufferResponse* vcard_get_buffer_response(VCard* card)
{
    return card ? card->buffer_response : nullptr;
}

void vcard_set_buffer_response(VCard* card, VCardBufferResponse* buffer)
{
    if (card)
        card->buffer_response = buffer;
}

VCardType vcard_get_type(VCard* card)
{
    return card ? card->type : VCARD_VM;
}

void vcard_set_type(VCard* card, VCardType type)
{
    if (card)
        card->type = type;
}

VCardEmul* vcard_get_private(VCard* card)
{
    return card ? card->vcard_private : nullptr;
}

// Declared by libcacard's headers but not exported by its library: internal here too.
int vcard_get_login_count(VCard* card)
{
    return vcard_emul_get_login_count(card);
}

void vcard_set_compat(VCard* card, unsigned int set)
{
    if (card)
        card->compat |= set;
}

void vcard_set_serial(VCard* card, unsigned char* serial, size_t length)
{
    if (!card)
        return;
    length = std::min(card->serial.size(), length);
    std::memcpy(card->serial.data(), serial, length);
    card->serial_len = static_cast<int>(length);
}

unsigned char* vcard_get_serial(VCard* card, int* length)
{
    if (!card)
        return nullptr;
    if (length)
        *length = card->serial_len;
    return card->serial.data();
}

} // extern "C"
