// A QEMU guest for system tests: Debian's kernel and an initramfs with the guest's own
// pcscd, libccid and OpenSC (build-guest, cached), a shell script run inside, its output read
// from the serial console. By default the guest has QEMU's CCID reader (usb-ccid on
// qemu-xhci) whose card comes from a VSCard client on port().
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace vscard::test {

// A TCP port on 127.0.0.1 that nothing listens on now.
quint16 freeLoopbackPort();
// Until something accepts connections on 127.0.0.1:port (QEMU's chardev server): the probe's
// connection is closed again and QEMU given time to take the next one.
bool waitForListener(quint16 port, int timeoutMs);

// Guest script lines that sign `text` with the card's key 0001 (SHA256-RSA-PKCS through
// pkcs11-tool) and print "SIGNATURE <hex>".
QString guestSignScript(const QString& pin, const QString& text, const QString& keyId = "0001");
// Checks a guest's "SIGNATURE <hex>" of `text` against cert1 of the NSS database with openssl;
// empty when it verifies, else what went wrong. `workDir` holds the files openssl reads.
QString verifyGuestSignature(const QString& output, const QString& text, const QString& database,
                             const QString& workDir);
// A guest script loop that prints "STATE n" (readers with a card) at each change, until
// `changes` lines or 120 s.
QString watchCardStatesScript(int changes);

class GuestVm;
// The "STATE n" lines a guest printed so far.
QStringList guestStates(const GuestVm& guest);
// Until the guest has printed `count` state lines (true if the last is `state` and no more
// came), the guest ended, or the timeout.
bool waitForGuestState(const GuestVm& guest, int count, const QString& state,
                       int timeoutMs = 240000);

class GuestVm {
public:
    // commands: a shell script run by the guest's init once pcscd is up.
    explicit GuestVm(QString commands);
    ~GuestVm();

    // The TCP port of the chardev ccid-card-passthru listens on.
    quint16 port() const { return port_; }
    // Replaces the default devices (qemu-xhci, usb-ccid, ccid-card-passthru on port()).
    QStringList devices;
    // Extra QEMU arguments, and NAME=value pairs for QEMU's environment.
    QStringList extraArguments;
    QStringList environment;
    // Host files (static binaries, say) the guest finds in / under their base names.
    QStringList files;
    // Added to the kernel command line; the guest's init sees NAME=value words as variables
    // (VSCARD_PCSCD_DEBUG=1: pcscd -d, its log in /tmp/pcscd.log).
    QString kernelArguments;

    // Builds or finds the image, starts QEMU; true once the chardev listens.
    bool start();
    // Until the commands have run and the guest powered off; false on timeout.
    bool waitForEnd(int timeoutMs = 240000);
    // What the commands printed (between the guest's markers), and their exit status.
    QString output() const { return output_; }
    int status() const { return status_; }
    // The whole serial console, for diagnostics.
    QString console() const;
    const QString& error() const { return error_; }

private:
    QString commands_;
    QTemporaryDir dir_;
    quint16 port_;
    QProcess qemu_;
    QString output_;
    int status_ = -1;
    QString error_;
};

} // namespace vscard::test
