// Whether the answers of this library reach a guest through QEMU's usb-ccid, whose 7.2
// release mishandles an answer of a whole number of 64-byte packets (vscard/qemu_quirks.h).
// Only then does vreader_xfr_bytes split such answers; every other caller (libcacard's own
// tests, virt_cacard, a VSCard client of any host) gets libcacard's bytes exactly.
#pragma once

namespace vscard::capi {

// True in QEMU itself (ccid-card-emulated: a qemu-system-* or qemu-kvm process) and in
// spice-gtk (its smart-card channel ends at QEMU's ccid-card-passthru and usb-ccid).
// VSCARD_LIBCACARD_QEMU_WORKAROUND=1 or =0 decides instead. Read once per process.
bool answersReachQemuUsbCcid() noexcept;

} // namespace vscard::capi
