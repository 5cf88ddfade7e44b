// Code that runs in someone else's process never lets an exception escape: the pcscd driver
// (into pcscd) and libcacard.so.0 (into QEMU or spice-gtk). This test process plays the host:
// it dlopens the builds of both whose fault points are armed (vscard/fault_injection.h),
// makes each guarded path throw std::bad_alloc once, and checks that it is still alive, that
// the call returned an error code, and that the next call works. The driver talks to the real
// server-ccid, which hosts an emulated CAC.
#include "loaded_ifd_driver.h"
#include "pcsc_rig.h"

#include <QtTest>

#include <dlfcn.h>

#include <array>
#include <cstdlib>
#include <vector>

namespace {

// A symbol of a dlopened library, as its C type (null when it is missing).
template <typename Function>
Function symbol(void* library, const char* name)
{
    return reinterpret_cast<Function>(dlsym(library, name));
}

void arm(const char* site)
{
    ::setenv("VSCARD_FAULT", site, 1);
}

} // namespace

class TestForeignProcessFaults : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void driver_faultsBecomeErrorCodes();
    void libcacard_faultInXfrBytes_isAnErrorCode();
    void cleanup() { ::unsetenv("VSCARD_FAULT"); }
};

void TestForeignProcessFaults::driver_faultsBecomeErrorCodes()
{
    vscard::test::PcscRig rig(2);
    const QString database = rig.filePath("nssdb");
    QVERIFY2(vscard::test::makeTestDatabase(database, "12345678").isEmpty(), "make-test-nssdb");
    rig.extraServerArguments
        << "--card"
        << QString("emulated:db=\"sql:%1\" use_hw=no soft=(,Faults,CAC,,cert1,cert2,cert3)")
               .arg(database);
    QVERIFY2(rig.startServer(), qPrintable(rig.error()));

    vscard::test::LoadedIfdDriver driver;
    QVERIFY2(driver.load(VSCARD_IFD_FAULTS_LIB), dlerror());
    auto create = driver.create;
    auto close = driver.close;
    auto presence = driver.presence;
    auto power = driver.power;
    auto transmit = driver.transmit;

    const DWORD lun = 0;
    QByteArray device = (rig.pcscSocket() + ":slots=2").toUtf8();
    QCOMPARE(create(lun, device.data()), RESPONSECODE(IFD_SUCCESS));
    auto cardPresent = [&] { return presence(lun) == IFD_ICC_PRESENT; };
    QTRY_VERIFY_WITH_TIMEOUT(cardPresent(), 10000);
    std::array<UCHAR, MAX_ATR_SIZE> atr{};
    DWORD atrLength = atr.size();
    QCOMPARE(power(lun, IFD_POWER_UP, atr.data(), &atrLength), RESPONSECODE(IFD_SUCCESS));

    // SELECT the CCC applet: its answer says the card was reached.
    auto select = [&](RESPONSECODE* code) {
        std::array<UCHAR, 12> command = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                         0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
        std::array<UCHAR, 258> answer{};
        DWORD answerLength = answer.size();
        SCARD_IO_HEADER header{1, 0};
        *code = transmit(lun, header, command.data(), command.size(), answer.data(), &answerLength,
                         nullptr);
        return answerLength >= 2 ? QString::number(answer[answerLength - 2], 16) : QString();
    };
    RESPONSECODE code = 0;
    QCOMPARE(select(&code), QString("61"));
    QCOMPARE(code, RESPONSECODE(IFD_SUCCESS));

    // An entry point pcscd calls.
    arm("driver-transmit");
    select(&code);
    QCOMPARE(code, RESPONSECODE(IFD_COMMUNICATION_ERROR));
    QCOMPARE(select(&code), QString("61"));
    QCOMPARE(code, RESPONSECODE(IFD_SUCCESS));

    // The polling functions pcscd is handed, called from its polling thread.
    auto poll = driver.function<vscard::test::LoadedIfdDriver::Poll>(
        lun, TAG_IFD_POLLING_THREAD_WITH_TIMEOUT);
    auto stopPoll =
        driver.function<vscard::test::LoadedIfdDriver::StopPoll>(lun, TAG_IFD_STOP_POLLING_THREAD);
    QVERIFY(poll && stopPoll);
    arm("driver-poll");
    QCOMPARE(poll(lun, 10), RESPONSECODE(IFD_COMMUNICATION_ERROR));
    QCOMPARE(poll(lun, 10), RESPONSECODE(IFD_SUCCESS));
    arm("driver-stop-polling");
    QCOMPARE(stopPoll(lun), RESPONSECODE(IFD_COMMUNICATION_ERROR));
    QCOMPARE(stopPoll(lun), RESPONSECODE(IFD_SUCCESS));

    // Reading the link, on whichever thread holds the reading turn (the driver's own or a
    // caller's): the link is dropped as if broken, the driver connects again, the card
    // comes back and answers.
    arm("driver-read");
    select(&code);
    auto answersAgain = [&] {
        if (!cardPresent())
            return false;
        DWORD again = atr.size();
        if (power(lun, IFD_POWER_UP, atr.data(), &again) != IFD_SUCCESS)
            return false;
        RESPONSECODE result = 0;
        return select(&result) == "61" && result == IFD_SUCCESS;
    };
    QTRY_VERIFY_WITH_TIMEOUT(answersAgain(), 15000);

    QCOMPARE(close(lun), RESPONSECODE(IFD_SUCCESS));
}

void TestForeignProcessFaults::libcacard_faultInXfrBytes_isAnErrorCode()
{
    QTemporaryDir dir;
    const QString database = dir.filePath("nssdb");
    QVERIFY2(vscard::test::makeTestDatabase(database, "12345678").isEmpty(), "make-test-nssdb");

    void* library = dlopen(VSCARD_LIBCACARD_FAULTS_LIB, RTLD_NOW | RTLD_LOCAL);
    QVERIFY2(library, dlerror());
    using Options = void* (*)(const char*);
    using Init = int (*)(void*);
    using ByName = void* (*)(const char*);
    using Xfr = int (*)(void*, unsigned char*, int, unsigned char*, int*);
    using Free = void (*)(void*);
    auto options = symbol<Options>(library, "vcard_emul_options");
    auto init = symbol<Init>(library, "vcard_emul_init");
    auto byName = symbol<ByName>(library, "vreader_get_reader_by_name");
    auto xfr = symbol<Xfr>(library, "vreader_xfr_bytes");
    auto release = symbol<Free>(library, "vreader_free");
    QVERIFY(options && init && byName && xfr && release);

    const QByteArray arguments =
        QString("db=\"sql:%1\" use_hw=no soft=(,Faults,CAC,,cert1,cert2,cert3)")
            .arg(database)
            .toUtf8();
    QCOMPARE(init(options(arguments.constData())), 0); // VCARD_EMUL_OK
    void* reader = byName("Faults");
    QVERIFY(reader);

    auto select = [&](int* answerLength) {
        unsigned char command[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                   0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
        std::vector<unsigned char> answer(258);
        *answerLength = static_cast<int>(answer.size());
        const int status = xfr(reader, command, sizeof command, answer.data(), answerLength);
        return status == 0 && *answerLength >= 2 ? answer[*answerLength - 2] : -1;
    };
    int length = 0;
    QCOMPARE(select(&length), 0x61);
    arm("vreader_xfr_bytes");
    unsigned char command[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                               0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
    unsigned char answer[258];
    int answerLength = sizeof answer;
    QVERIFY(xfr(reader, command, sizeof command, answer, &answerLength) != 0); // not VREADER_OK
    QCOMPARE(select(&length), 0x61);
    release(reader);
    // No vcard_emul_finalize: NSS stays up, as in QEMU, until the process ends.
}

QTEST_GUILESS_MAIN(TestForeignProcessFaults)
#include "tst_foreign_process_faults.moc"
