# Where an installed vscard puts its files. pcscd's driver and reader.conf directories and
# systemd's unit directory come from their pkg-config files (distributions place them
# differently), everything else from GNUInstallDirs (prefix /usr: configuration in /etc).
include(GNUInstallDirs)

pkg_get_variable(PCSCLITE_USBDROPDIR libpcsclite usbdropdir)
pkg_get_variable(PCSCLITE_SERIALCONFDIR libpcsclite serialconfdir)
if(NOT PCSCLITE_USBDROPDIR OR NOT PCSCLITE_SERIALCONFDIR)
  message(FATAL_ERROR "libpcsclite.pc names no usbdropdir or serialconfdir")
endif()
set(VSCARD_IFD_DRIVER_DIR "${PCSCLITE_USBDROPDIR}/serial" CACHE PATH
    "Where pcscd loads serial-style drivers from (libpcsclite's usbdropdir/serial)")
set(VSCARD_READER_CONF_DIR "${PCSCLITE_SERIALCONFDIR}" CACHE PATH
    "pcscd's reader.conf.d directory (libpcsclite's serialconfdir)")

pkg_check_modules(SYSTEMD QUIET systemd)
if(SYSTEMD_FOUND)
  pkg_get_variable(VSCARD_SYSTEMD_DEFAULT_UNIT_DIR systemd systemdsystemunitdir)
endif()
set(VSCARD_SYSTEMD_UNIT_DIR "${VSCARD_SYSTEMD_DEFAULT_UNIT_DIR}" CACHE PATH
    "systemd's system unit directory (systemd.pc's systemdsystemunitdir); empty: no units")

set(VSCARD_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}")
set(VSCARD_RUNSTATEDIR "/run")
