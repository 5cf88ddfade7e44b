// What a card side does about QEMU 7.2's usb-ccid (docs/protocol.md, "Known quirks").
//
// usb-ccid turns a CCID answer of exactly a multiple of 64 bytes (10 header bytes and a
// response of 54, 118, 182, 246, 310 or 374 bytes) into a stray zero-length read on the next
// command, which the guest's libccid reports as a failed transmission. Such a response is sent
// one data byte short with 61 01, as a T=0 card may, and the byte and the real status answer
// the GET RESPONSE that follows. vscclient does it facing QEMU's ccid-card-passthru,
// libcacard.so.0 for QEMU's ccid-card-emulated.
#pragma once

#include "vscard/bytes.h"

#include <utility>

namespace vscard {

// The part to send now and the tail to hold (empty when the response is safe as it is).
std::pair<Bytes, Bytes> qemuSafeResponse(ByteView response);

// Whether a command is the GET RESPONSE that fetches a held tail.
bool fetchesHeldTail(ByteView command);

} // namespace vscard
