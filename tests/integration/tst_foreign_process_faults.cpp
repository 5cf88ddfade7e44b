// Code that runs in someone else's process never lets an exception escape: the pcscd driver
// (into pcscd) and libcacard.so.0 (into QEMU or spice-gtk). This test process plays the host:
// it dlopens the builds of both whose fault points are armed (vscard/fault_injection.h),
// makes every guarded entry point and thread throw std::bad_alloc once, and checks that it is
// still alive, that the call returned an error code, and that the next call works. The guards
// are fault points named after the functions they guard, so a function whose body is not all
// inside its guard fails here. The driver talks to the real server-ccid, which hosts an
// emulated CAC.
#include "loaded_ifd_driver.h"
#include "pcsc_rig.h"

extern "C" {
#include "card_7816.h"
#include "vcard.h"
#include "vcard_emul.h"
#include "vevent.h"
#include "vreader.h"
}

#include <QtTest>

#include <dlfcn.h>
#include <reader.h>

#include <array>
#include <cstdlib>
#include <vector>

namespace {

// The fault points of both libraries, armed through a file (their threads read it) and
// reporting through another. Set up once, before any of their threads starts.
class Faults {
public:
    Faults() : armed_(dir_.filePath("armed")), log_(dir_.filePath("fired"))
    {
        ::setenv("VSCARD_FAULT_FILE", armed_.toLocal8Bit().constData(), 1);
        ::setenv("VSCARD_FAULT_LOG", log_.toLocal8Bit().constData(), 1);
        disarm();
    }
    void arm(const char* site) { write(site); }
    void disarm() { write(""); }
    bool fired(const char* site) const
    {
        QFile file(log_);
        if (!file.open(QIODevice::ReadOnly))
            return false;
        return file.readAll().split('\n').contains(QByteArray(site));
    }

private:
    void write(const QByteArray& site)
    {
        // Whole or not at all, for a reader on another thread.
        QSaveFile file(armed_);
        if (file.open(QIODevice::WriteOnly)) {
            file.write(site + '\n');
            file.commit();
        }
    }

    QTemporaryDir dir_;
    QString armed_;
    QString log_;
};

// A function of a dlopened library by the type its header declares (decltype: the test never
// links against libcacard, so it must not take the address of the declared one).
template <typename Function>
Function resolveIn(void* library, const char* name, bool& resolved)
{
    auto found = reinterpret_cast<Function>(dlsym(library, name));
    resolved = resolved && found;
    return found;
}

} // namespace

class TestForeignProcessFaults : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void driver_everyEntryPointAndThread();
    void libcacard_everyGuardedEntryPoint();
    void cleanup() { faults_.disarm(); }

private:
    Faults faults_;
};

void TestForeignProcessFaults::driver_everyEntryPointAndThread()
{
    Faults& faults = faults_;
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
    auto control =
        reinterpret_cast<RESPONSECODE (*)(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD)>(
            dlsym(driver.handle, "IFDHControl"));
    auto setProtocol = reinterpret_cast<RESPONSECODE (*)(DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR)>(
        dlsym(driver.handle, "IFDHSetProtocolParameters"));
    QVERIFY(control && setProtocol);

    // Each entry point pcscd calls fails once at its guard with an error code, then works.
    auto failsOnce = [&](const char* site, auto call, RESPONSECODE afterwards) {
        faults.arm(site);
        const RESPONSECODE failed = call();
        faults.disarm();
        if (!faults.fired(site))
            return QString("%1: the fault did not fire").arg(site);
        if (failed != IFD_COMMUNICATION_ERROR)
            return QString("%1: answered %2 to the fault").arg(site).arg(failed);
        const RESPONSECODE again = call();
        if (again != afterwards)
            return QString("%1: answered %2 after the fault").arg(site).arg(again);
        return QString();
    };
#define VSCARD_FAILS_ONCE(site, afterwards, ...)                                                   \
    do {                                                                                           \
        const QString problem = failsOnce(site, __VA_ARGS__, afterwards);                          \
        QVERIFY2(problem.isEmpty(), qPrintable(problem));                                          \
    } while (false)

    const DWORD lun = 0;
    QByteArray device = (rig.pcscSocket() + ":slots=2").toUtf8();
    VSCARD_FAILS_ONCE("IFDHCreateChannelByName", RESPONSECODE(IFD_SUCCESS),
                      [&] { return driver.create(lun, device.data()); });
    auto cardPresent = [&] { return driver.presence(lun) == IFD_ICC_PRESENT; };
    QTRY_VERIFY_WITH_TIMEOUT(cardPresent(), 10000);
    VSCARD_FAILS_ONCE("IFDHICCPresence", RESPONSECODE(IFD_ICC_PRESENT),
                      [&] { return driver.presence(lun); });
    std::array<UCHAR, MAX_ATR_SIZE> atr{};
    auto powerUp = [&] {
        DWORD atrLength = atr.size();
        return driver.power(lun, IFD_POWER_UP, atr.data(), &atrLength);
    };
    VSCARD_FAILS_ONCE("IFDHPowerICC", RESPONSECODE(IFD_SUCCESS), powerUp);
    VSCARD_FAILS_ONCE("IFDHSetProtocolParameters", RESPONSECODE(IFD_SUCCESS),
                      [&] { return setProtocol(lun, SCARD_PROTOCOL_T0, 0, 0, 0, 0); });
    VSCARD_FAILS_ONCE("IFDHGetCapabilities", RESPONSECODE(IFD_SUCCESS), [&] {
        std::array<UCHAR, MAX_ATR_SIZE> value{};
        DWORD length = value.size();
        return driver.capabilities(lun, TAG_IFD_ATR, &length, value.data());
    });
    VSCARD_FAILS_ONCE("IFDHControl", RESPONSECODE(IFD_SUCCESS), [&] {
        std::array<UCHAR, 64> features{};
        DWORD returned = 0;
        return control(lun, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, features.data(),
                       features.size(), &returned);
    });

    // SELECT the CCC applet: its answer (61 xx) says the card was reached.
    auto select = [&](RESPONSECODE* code) {
        std::array<UCHAR, 12> command = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                         0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
        std::array<UCHAR, 258> answer{};
        DWORD answerLength = answer.size();
        SCARD_IO_HEADER header{1, 0};
        *code = driver.transmit(lun, header, command.data(), command.size(), answer.data(),
                                &answerLength, nullptr);
        return answerLength >= 2 ? QString::number(answer[answerLength - 2], 16) : QString();
    };
    RESPONSECODE code = 0;
    QCOMPARE(select(&code), QString("61"));
    QCOMPARE(code, RESPONSECODE(IFD_SUCCESS));
    VSCARD_FAILS_ONCE("IFDHTransmitToICC", RESPONSECODE(IFD_SUCCESS), [&] {
        RESPONSECODE result = 0;
        return select(&result) == "61" ? result : RESPONSECODE(IFD_COMMUNICATION_ERROR);
    });

    // The polling functions pcscd is handed, called from its polling thread.
    auto poll = driver.function<vscard::test::LoadedIfdDriver::Poll>(
        lun, TAG_IFD_POLLING_THREAD_WITH_TIMEOUT);
    auto stopPoll =
        driver.function<vscard::test::LoadedIfdDriver::StopPoll>(lun, TAG_IFD_STOP_POLLING_THREAD);
    QVERIFY(poll && stopPoll);
    VSCARD_FAILS_ONCE("polling function", RESPONSECODE(IFD_SUCCESS), [&] { return poll(lun, 10); });
    VSCARD_FAILS_ONCE("stop-polling function", RESPONSECODE(IFD_SUCCESS),
                      [&] { return stopPoll(lun); });

    // The driver's own threads: reading the link, on whichever thread holds the reading turn
    // (the driver's or a caller's), and the link thread itself. Each time the link is
    // dropped as if broken, the driver connects again, the card comes back and answers.
    auto answersAgain = [&] {
        if (!cardPresent() || powerUp() != IFD_SUCCESS)
            return false;
        RESPONSECODE result = 0;
        return select(&result) == "61" && result == IFD_SUCCESS;
    };
    faults.arm("driver-read");
    select(&code);
    QTRY_VERIFY_WITH_TIMEOUT(faults.fired("driver-read"), 15000);
    faults.disarm();
    QTRY_VERIFY_WITH_TIMEOUT(answersAgain(), 15000);
    faults.arm("driver link thread");
    rig.stopServer(); // the link thread goes round to connect again, into the fault
    QTRY_VERIFY_WITH_TIMEOUT(faults.fired("driver link thread"), 15000);
    faults.disarm();
    QVERIFY2(rig.startServer(), qPrintable(rig.error()));
    QTRY_VERIFY_WITH_TIMEOUT(answersAgain(), 15000);

    faults.arm("IFDHCloseChannel");
    QCOMPARE(driver.close(lun), RESPONSECODE(IFD_COMMUNICATION_ERROR));
    QVERIFY(faults.fired("IFDHCloseChannel"));
    faults.disarm();
    QCOMPARE(driver.close(lun), RESPONSECODE(IFD_SUCCESS));
#undef VSCARD_FAILS_ONCE
}

void TestForeignProcessFaults::libcacard_everyGuardedEntryPoint()
{
    Faults& faults = faults_;
    QTemporaryDir dir;
    const QString database = dir.filePath("nssdb");
    QVERIFY2(vscard::test::makeTestDatabase(database, "12345678").isEmpty(), "make-test-nssdb");

    void* library = dlopen(VSCARD_LIBCACARD_FAULTS_LIB, RTLD_NOW | RTLD_LOCAL);
    QVERIFY2(library, dlerror());
    bool resolved = true;
#define VSCARD_RESOLVE(name)                                                                       \
    const auto name = resolveIn<decltype(&::name)>(library, #name, resolved)
    VSCARD_RESOLVE(vcard_emul_options);
    VSCARD_RESOLVE(vcard_emul_init);
    VSCARD_RESOLVE(vcard_emul_finalize);
    VSCARD_RESOLVE(vcard_emul_force_card_remove);
    VSCARD_RESOLVE(vcard_emul_force_card_insert);
    VSCARD_RESOLVE(vcard_emul_replay_insertion_events);
    VSCARD_RESOLVE(vcard_emul_get_login_count);
    VSCARD_RESOLVE(vcard_emul_login);
    VSCARD_RESOLVE(vcard_emul_reset);
    VSCARD_RESOLVE(vcard_emul_get_atr);
    VSCARD_RESOLVE(vcard_new);
    VSCARD_RESOLVE(vcard_free);
    VSCARD_RESOLVE(vcard_reference);
    VSCARD_RESOLVE(vcard_new_applet);
    VSCARD_RESOLVE(vcard_delete_applet);
    VSCARD_RESOLVE(vcard_apdu_new);
    VSCARD_RESOLVE(vcard_apdu_delete);
    VSCARD_RESOLVE(vcard_process_apdu);
    VSCARD_RESOLVE(vcard_response_delete);
    VSCARD_RESOLVE(vreader_new);
    VSCARD_RESOLVE(vreader_free);
    VSCARD_RESOLVE(vreader_set_id);
    VSCARD_RESOLVE(vreader_add_reader);
    VSCARD_RESOLVE(vreader_remove_reader);
    VSCARD_RESOLVE(vreader_insert_card);
    VSCARD_RESOLVE(vreader_card_is_present);
    VSCARD_RESOLVE(vreader_power_on);
    VSCARD_RESOLVE(vreader_power_off);
    VSCARD_RESOLVE(vreader_xfr_bytes);
    VSCARD_RESOLVE(vreader_queue_card_event);
    VSCARD_RESOLVE(vreader_get_reader_list);
    VSCARD_RESOLVE(vreader_list_delete);
    VSCARD_RESOLVE(vreader_get_reader_by_id);
    VSCARD_RESOLVE(vreader_get_reader_by_name);
    VSCARD_RESOLVE(vevent_new);
    VSCARD_RESOLVE(vevent_delete);
    VSCARD_RESOLVE(vevent_queue_vevent);
    VSCARD_RESOLVE(vevent_get_next_vevent);
    VSCARD_RESOLVE(vevent_wait_next_vevent);
#undef VSCARD_RESOLVE
    QVERIFY(resolved);
    auto drainEvents = [&] {
        while (VEvent* event = vevent_get_next_vevent())
            vevent_delete(event);
    };

    // Both fail once at their guards, then make the emulator (vcard_emul_init may be called
    // again after a failure before its body ran). use_hw=yes starts the token poller.
    const QByteArray arguments =
        QString("db=\"sql:%1\" use_hw=yes soft=(,Faults,CAC,,cert1,cert2,cert3)")
            .arg(database)
            .toUtf8();
    faults.arm("vcard_emul_options");
    QCOMPARE(vcard_emul_options(arguments.constData()), nullptr);
    QVERIFY(faults.fired("vcard_emul_options"));
    VCardEmulOptions* options = vcard_emul_options(arguments.constData());
    QVERIFY(options);
    faults.arm("vcard_emul_init");
    QCOMPARE(vcard_emul_init(options), VCARD_EMUL_FAIL);
    QVERIFY(faults.fired("vcard_emul_init"));
    QCOMPARE(vcard_emul_init(options), VCARD_EMUL_OK);
    drainEvents();

    // The poller thread: a round that fails, then a round that fails holding the emulator's
    // mutex (proving the thread went on after the first); the mutex is free afterwards.
    faults.arm("token poller");
    QTRY_VERIFY_WITH_TIMEOUT(faults.fired("token poller"), 5000);
    faults.arm("token poller/round");
    QTRY_VERIFY_WITH_TIMEOUT(faults.fired("token poller/round"), 5000);
    faults.disarm();

    // Finding readers.
    faults.arm("vreader_get_reader_by_name");
    QCOMPARE(vreader_get_reader_by_name("Faults"), nullptr);
    QVERIFY(faults.fired("vreader_get_reader_by_name"));
    VReader* reader = vreader_get_reader_by_name("Faults");
    QVERIFY(reader);
    QCOMPARE(vreader_set_id(reader, 7), VREADER_OK);
    faults.arm("vreader_get_reader_by_id");
    QCOMPARE(vreader_get_reader_by_id(7), nullptr);
    QVERIFY(faults.fired("vreader_get_reader_by_id"));
    VReader* byId = vreader_get_reader_by_id(7);
    QCOMPARE(byId, reader);
    vreader_free(byId);
    faults.arm("vreader_get_reader_list");
    QCOMPARE(vreader_get_reader_list(), nullptr);
    QVERIFY(faults.fired("vreader_get_reader_list"));
    VReaderList* list = vreader_get_reader_list();
    QVERIFY(list);
    vreader_list_delete(list);

    // The card in its reader: presence, power, APDUs (QEMU's path).
    faults.arm("vreader_card_is_present");
    QCOMPARE(vreader_card_is_present(reader), VREADER_NO_CARD);
    QVERIFY(faults.fired("vreader_card_is_present"));
    QCOMPARE(vreader_card_is_present(reader), VREADER_OK);
    std::array<unsigned char, 40> atr{};
    int atrLength = atr.size();
    faults.arm("vreader_power_on");
    QCOMPARE(vreader_power_on(reader, atr.data(), &atrLength), VREADER_NO_CARD);
    QVERIFY(faults.fired("vreader_power_on"));
    QCOMPARE(vreader_power_on(reader, atr.data(), &atrLength), VREADER_OK);
    QVERIFY(atrLength > 0);
    faults.arm("vreader_power_off");
    QCOMPARE(vreader_power_off(reader), VREADER_NO_CARD);
    QVERIFY(faults.fired("vreader_power_off"));
    QCOMPARE(vreader_power_off(reader), VREADER_OK);
    atrLength = atr.size();
    QCOMPARE(vreader_power_on(reader, atr.data(), &atrLength), VREADER_OK);

    std::array<unsigned char, 12> selectCcc = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                               0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
    auto select = [&] {
        std::array<unsigned char, 258> answer{};
        int answerLength = answer.size();
        const VReaderStatus status = vreader_xfr_bytes(reader, selectCcc.data(), selectCcc.size(),
                                                       answer.data(), &answerLength);
        return status == VREADER_OK && answerLength >= 2 ? answer[answerLength - 2] : -1;
    };
    QCOMPARE(select(), 0x61);
    for (const char* site : {"vreader_xfr_bytes", "vreader_xfr_bytes/exchange"}) {
        faults.arm(site);
        QCOMPARE(select(), -1);
        QVERIFY2(faults.fired(site), site);
        QCOMPARE(select(), 0x61);
    }

    // Card events: forced removal and insertion, the events that say so.
    faults.arm("vcard_emul_force_card_remove");
    QCOMPARE(vcard_emul_force_card_remove(reader), VCARD_EMUL_FAIL);
    QVERIFY(faults.fired("vcard_emul_force_card_remove"));
    QCOMPARE(vreader_card_is_present(reader), VREADER_OK);
    QCOMPARE(vcard_emul_force_card_remove(reader), VCARD_EMUL_OK);
    QCOMPARE(vreader_card_is_present(reader), VREADER_NO_CARD);
    faults.arm("vcard_emul_force_card_insert");
    QCOMPARE(vcard_emul_force_card_insert(reader), VCARD_EMUL_FAIL);
    QVERIFY(faults.fired("vcard_emul_force_card_insert"));
    QCOMPARE(vreader_card_is_present(reader), VREADER_NO_CARD);
    QCOMPARE(vcard_emul_force_card_insert(reader), VCARD_EMUL_OK);
    QCOMPARE(vreader_card_is_present(reader), VREADER_OK);
    drainEvents();

    faults.arm("vreader_queue_card_event");
    vreader_queue_card_event(reader);
    QVERIFY(faults.fired("vreader_queue_card_event"));
    QCOMPARE(vevent_get_next_vevent(), nullptr);
    vreader_queue_card_event(reader);
    VEvent* inserted = vevent_get_next_vevent();
    QVERIFY(inserted);
    QCOMPARE(inserted->type, VEVENT_CARD_INSERT);
    VCard* card = vcard_reference(inserted->card);
    vevent_delete(inserted);
    QVERIFY(card);
    faults.arm("vcard_emul_replay_insertion_events");
    vcard_emul_replay_insertion_events();
    QVERIFY(faults.fired("vcard_emul_replay_insertion_events"));
    QCOMPARE(vevent_get_next_vevent(), nullptr);
    vcard_emul_replay_insertion_events();
    VEvent* replayed = vevent_get_next_vevent();
    QVERIFY(replayed);
    vevent_delete(replayed);
    drainEvents();

    // The event queue itself.
    faults.arm("vevent_queue_vevent");
    vevent_queue_vevent(vevent_new(VEVENT_LAST, nullptr, nullptr));
    QVERIFY(faults.fired("vevent_queue_vevent"));
    QCOMPARE(vevent_get_next_vevent(), nullptr); // not queued, and freed (ASan would say)
    vevent_queue_vevent(vevent_new(VEVENT_LAST, nullptr, nullptr));
    faults.arm("vevent_get_next_vevent");
    QCOMPARE(vevent_get_next_vevent(), nullptr);
    QVERIFY(faults.fired("vevent_get_next_vevent"));
    VEvent* last = vevent_get_next_vevent();
    QVERIFY(last);
    QCOMPARE(last->type, VEVENT_LAST);
    vevent_delete(last);
    faults.arm("vevent_wait_next_vevent");
    QCOMPARE(vevent_wait_next_vevent(), nullptr); // at once, though the queue is empty
    QVERIFY(faults.fired("vevent_wait_next_vevent"));
    vevent_queue_vevent(vevent_new(VEVENT_LAST, nullptr, nullptr));
    last = vevent_wait_next_vevent();
    QVERIFY(last);
    vevent_delete(last);

    // The card: APDUs, PIN, reset, ATR.
    unsigned short parseStatus = 0;
    VCardAPDU* apdu = vcard_apdu_new(selectCcc.data(), selectCcc.size(), &parseStatus);
    QVERIFY(apdu);
    VCardResponse* response = nullptr;
    faults.arm("vcard_process_apdu");
    QCOMPARE(vcard_process_apdu(card, apdu, &response), VCARD_FAIL);
    QVERIFY(faults.fired("vcard_process_apdu"));
    QCOMPARE(response, nullptr);
    QCOMPARE(vcard_process_apdu(card, apdu, &response), VCARD_DONE);
    QVERIFY(response && response->b_total_len >= 2);
    QCOMPARE(response->b_data[response->b_total_len - 2], 0x61);
    vcard_response_delete(response);
    vcard_apdu_delete(apdu);
    faults.arm("vcard_emul_get_login_count");
    QCOMPARE(vcard_emul_get_login_count(card), -1);
    QVERIFY(faults.fired("vcard_emul_get_login_count"));
    QVERIFY(vcard_emul_get_login_count(card) > 0);
    unsigned char pin[] = "12345678";
    faults.arm("vcard_emul_login");
    QVERIFY(vcard_emul_login(card, pin, 8) != VCARD7816_STATUS_SUCCESS);
    QVERIFY(faults.fired("vcard_emul_login"));
    QCOMPARE(vcard_emul_login(card, pin, 8), VCARD7816_STATUS_SUCCESS);
    faults.arm("vcard_emul_logout"); // what a reset does to the PIN
    vcard_emul_reset(card, VCARD_POWER_ON);
    QVERIFY(faults.fired("vcard_emul_logout"));
    vcard_emul_reset(card, VCARD_POWER_ON);
    faults.arm("vcard_emul_get_atr");
    atrLength = atr.size();
    vcard_emul_get_atr(card, atr.data(), &atrLength);
    QVERIFY(faults.fired("vcard_emul_get_atr"));
    vcard_emul_get_atr(card, atr.data(), &atrLength);
    QVERIFY(atrLength > 0 && atrLength < static_cast<int>(atr.size()));
    vcard_free(card);

    // A reader and a card of the caller's own, as spice-gtk's and QEMU's tests make them.
    faults.arm("vreader_new");
    QCOMPARE(vreader_new("Spare", nullptr, nullptr), nullptr);
    QVERIFY(faults.fired("vreader_new"));
    VReader* spare = vreader_new("Spare", nullptr, nullptr);
    QVERIFY(spare);
    faults.arm("vreader_add_reader");
    QCOMPARE(vreader_add_reader(spare), VREADER_OUT_OF_MEMORY);
    QVERIFY(faults.fired("vreader_add_reader"));
    QCOMPARE(vreader_get_reader_by_name("Spare"), nullptr);
    QCOMPARE(vreader_add_reader(spare), VREADER_OK);
    VReader* found = vreader_get_reader_by_name("Spare");
    QCOMPARE(found, spare);
    vreader_free(found);
    faults.arm("vcard_new");
    QCOMPARE(vcard_new(nullptr, nullptr), nullptr);
    QVERIFY(faults.fired("vcard_new"));
    VCard* spareCard = vcard_new(nullptr, nullptr);
    QVERIFY(spareCard);
    faults.arm("vreader_insert_card");
    QCOMPARE(vreader_insert_card(spare, spareCard), VREADER_OUT_OF_MEMORY);
    QVERIFY(faults.fired("vreader_insert_card"));
    QCOMPARE(vreader_card_is_present(spare), VREADER_NO_CARD);
    QCOMPARE(vreader_insert_card(spare, spareCard), VREADER_OK);
    QCOMPARE(vreader_card_is_present(spare), VREADER_OK);
    const unsigned char aid[] = {0xA0, 0x00, 0x00, 0x00, 0x01};
    faults.arm("vcard_new_applet");
    QCOMPARE(vcard_new_applet(nullptr, nullptr, aid, sizeof aid), nullptr);
    QVERIFY(faults.fired("vcard_new_applet"));
    VCardApplet* applet = vcard_new_applet(nullptr, nullptr, aid, sizeof aid);
    QVERIFY(applet);
    vcard_delete_applet(applet);
    faults.arm("vreader_remove_reader");
    QCOMPARE(vreader_remove_reader(spare), VREADER_OK); // libcacard's only answer
    QVERIFY(faults.fired("vreader_remove_reader"));
    found = vreader_get_reader_by_name("Spare");
    QCOMPARE(found, spare); // still listed
    vreader_free(found);
    QCOMPARE(vreader_remove_reader(spare), VREADER_OK);
    QCOMPARE(vreader_get_reader_by_name("Spare"), nullptr);
    drainEvents();
    faults.arm("vreader_free"); // a reference that stays (the fault is before the count)
    vreader_free(spare);
    QVERIFY(faults.fired("vreader_free"));
    QCOMPARE(vreader_card_is_present(spare), VREADER_OK);
    vreader_free(spare);
    faults.arm("vcard_free");
    vcard_free(spareCard);
    QVERIFY(faults.fired("vcard_free"));
    vcard_free(spareCard);
    vreader_free(reader);

    // Last, as it ends the poller: fails at its guard. (It fails afterwards too, as
    // libcacard's does while cards made from the database live: they do until the end.)
    faults.arm("vcard_emul_finalize");
    QCOMPARE(vcard_emul_finalize(), VCARD_EMUL_FAIL);
    QVERIFY(faults.fired("vcard_emul_finalize"));
}

QTEST_GUILESS_MAIN(TestForeignProcessFaults)
#include "tst_foreign_process_faults.moc"
