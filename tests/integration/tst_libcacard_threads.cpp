// libcacard.so.0 used from several threads at once, as QEMU's ccid-card-emulated uses it: an
// event thread blocked in vevent_wait_next_vevent, APDUs from the device's thread, card
// removals and insertions from the monitor, readers coming and going, and the library's own
// token poller (use_hw=yes) running beside them. Built for ASan and for TSan (label threads):
// what it proves is the absence of races and lost events, not speed. Its NSS database comes
// from a CTest fixture: this process never forks (TSan cannot follow a fork of a threaded
// process, and QtTest's watchdog is a thread).
extern "C" {
#include "vcard_emul.h"
#include "vevent.h"
#include "vreader.h"
}

#include <QtTest>

#include <array>
#include <atomic>
#include <map>
#include <thread>

namespace {

constexpr int kCardCycles = 40;  // forced removal + insertion pairs
constexpr int kReaderCycles = 8; // readers of the caller's own, added then removed
constexpr const char* kReader = "Threads";

// What the consumer's event thread saw, counted by type (events for kReader's card and for
// the caller's extra readers), and whether it stopped for the right reason.
struct SeenEvents {
    std::map<VEventType, int> cardEvents;   // kReader's
    std::map<VEventType, int> readerEvents; // the extra readers'
    bool endedByLast = false;
};

SeenEvents consumeEvents()
{
    SeenEvents seen;
    for (;;) {
        VEvent* event = vevent_wait_next_vevent();
        if (!event)
            return seen;
        const VEventType type = event->type;
        const char* name = event->reader ? vreader_get_name(event->reader) : "";
        if (type == VEVENT_LAST) {
            vevent_delete(event);
            seen.endedByLast = true;
            return seen;
        }
        if (std::string_view(name) == kReader)
            ++seen.cardEvents[type];
        else if (std::string_view(name).starts_with("Extra "))
            ++seen.readerEvents[type];
        vevent_delete(event);
    }
}

// SELECT of the CCC applet; 0x61 (its answer) or -1 for "no card" at that moment. Anything
// else is a wrong answer.
int selectCcc(VReader* reader)
{
    std::array<unsigned char, 12> command = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                             0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
    std::array<unsigned char, 258> answer{};
    int length = answer.size();
    const VReaderStatus status =
        vreader_xfr_bytes(reader, command.data(), command.size(), answer.data(), &length);
    if (status == VREADER_NO_CARD)
        return -1;
    return status == VREADER_OK && length >= 2 ? answer[length - 2] : -2;
}

} // namespace

class TestLibcacardThreads : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void qemuLikeUse_losesNoEventAndAnswersEveryApdu();
};

void TestLibcacardThreads::initTestCase()
{
    const QString database = qEnvironmentVariable("VSCARD_TEST_NSSDB");
    QVERIFY2(QFile::exists(database + "/cert9.db"), "no database from the fixture");
    const QByteArray arguments =
        QString("db=\"sql:%1\" use_hw=yes soft=(,%2,CAC,,cert1,cert2,cert3)")
            .arg(database, kReader)
            .toUtf8();
    VCardEmulOptions* options = vcard_emul_options(arguments.constData());
    QVERIFY(options);
    QCOMPARE(vcard_emul_init(options), VCARD_EMUL_OK);
    while (VEvent* event = vevent_get_next_vevent()) // what init queued
        vevent_delete(event);
}

void TestLibcacardThreads::qemuLikeUse_losesNoEventAndAnswersEveryApdu()
{
    VReader* reader = vreader_get_reader_by_name(kReader);
    QVERIFY(reader);

    SeenEvents seen;
    std::thread eventThread([&seen] { seen = consumeEvents(); });

    std::atomic<bool> stopApdus{false};
    std::atomic<int> answered{0};
    std::atomic<int> noCard{0};
    std::atomic<int> wrong{0};
    std::thread apduThread([&] {
        for (int i = 0; !stopApdus; ++i) {
            VReader* own = vreader_get_reader_by_name(kReader);
            if (i % 16 == 0) {
                std::array<unsigned char, 40> atr{};
                int atrLength = atr.size();
                vreader_power_on(own, atr.data(), &atrLength);
            }
            const int answer = selectCcc(own);
            (answer == 0x61 ? answered : answer == -1 ? noCard : wrong)++;
            vreader_free(own);
        }
    });
    std::thread listThread([&] {
        while (!stopApdus) {
            VReaderList* list = vreader_get_reader_list();
            for (VReaderListEntry* entry = vreader_list_get_first(list); entry;
                 entry = vreader_list_get_next(entry)) {
                VReader* listed = vreader_list_get_reader(entry);
                (void)vreader_card_is_present(listed);
                vreader_free(listed);
            }
            vreader_list_delete(list);
            std::this_thread::yield();
        }
    });

    // The monitor: the card out and in again, extra readers in and out. After each insertion
    // it lets the APDU thread reach the card, so that both states really interleave.
    auto apduReachesCard = [&answered] {
        const int before = answered;
        for (int spins = 0; spins < 100000 && answered == before; ++spins)
            std::this_thread::yield();
        return answered > before;
    };
    int removed = 0;
    int inserted = 0;
    int reached = 0;
    for (int cycle = 0; cycle < kCardCycles; ++cycle) {
        removed += vcard_emul_force_card_remove(reader) == VCARD_EMUL_OK;
        inserted += vcard_emul_force_card_insert(reader) == VCARD_EMUL_OK;
        reached += apduReachesCard();
        if (cycle % (kCardCycles / kReaderCycles) == 0) {
            const QByteArray name = QByteArray("Extra ") + QByteArray::number(cycle);
            VReader* extra = vreader_new(name.constData(), nullptr, nullptr);
            vreader_add_reader(extra);
            vreader_remove_reader(extra);
            vreader_free(extra);
        }
    }
    stopApdus = true;
    apduThread.join();
    listThread.join();
    vevent_queue_vevent(vevent_new(VEVENT_LAST, nullptr, nullptr));
    eventThread.join();

    QCOMPARE(removed, kCardCycles);
    QCOMPARE(inserted, kCardCycles);
    QVERIFY(seen.endedByLast);
    // Every removal and insertion reached the consumer, in as many events.
    QCOMPARE(seen.cardEvents[VEVENT_CARD_REMOVE], kCardCycles);
    QCOMPARE(seen.cardEvents[VEVENT_CARD_INSERT], kCardCycles);
    QCOMPARE(seen.readerEvents[VEVENT_READER_INSERT], kReaderCycles);
    QCOMPARE(seen.readerEvents[VEVENT_READER_REMOVE], kReaderCycles);
    QCOMPARE(wrong.load(), 0);
    qInfo("APDUs: %d answered, %d while the card was out; the card reached after %d of %d "
          "insertions",
          answered.load(), noCard.load(), reached, kCardCycles);
    QVERIFY2(reached > 0, "no APDU reached the card between removals");
    QCOMPARE(selectCcc(reader), 0x61);
    vreader_free(reader);
}

QTEST_GUILESS_MAIN(TestLibcacardThreads)
#include "tst_libcacard_threads.moc"
