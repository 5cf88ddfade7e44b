// The CCID device model alone: every command's reply type, status and error, card events, and
// the card side answering late, failing, or vanishing. The card is a scripted fake.
#include "hex_bytes.h"
#include "vscard/ccid/ccid_device.h"

#include <QtTest>

#include <deque>

using namespace vscard::ccid;
using vscard::Bytes;
using vscard::ByteView;
using vscard::PowerAction;
using vscard::test::fromHex;

namespace {

const Bytes kCacAtr = fromHex("3B7A180000736674652063643134 34");
const Bytes kT1OnlyAtr = fromHex("3B858131FE45 7673637264 FE");
const Bytes kDualAtr = fromHex("3B94968031 8045 6475616C 6A");

// A card that records what it is asked and answers when the test says so.
class FakeCard : public CardPort {
public:
    bool extended = false;
    bool power_ = false;
    std::vector<Bytes> transmitted;
    std::vector<PowerAction> powerActions;
    std::deque<Completion> waiting;

    bool acceptsExtendedApdu() const override { return extended; }
    bool forwardsPower() const override { return power_; }
    void transmit(Bytes command, Completion done) override
    {
        transmitted.push_back(std::move(command));
        waiting.push_back(std::move(done));
    }
    void power(PowerAction action, Completion done) override
    {
        powerActions.push_back(action);
        waiting.push_back(std::move(done));
    }
    void answer(Bytes bytes)
    {
        auto done = std::move(waiting.front());
        waiting.pop_front();
        done(std::move(bytes));
    }
    void failWith(std::string reason)
    {
        auto done = std::move(waiting.front());
        waiting.pop_front();
        done(vscard::fail(std::move(reason)));
    }
};

struct Harness {
    std::vector<Message> replies;
    std::vector<Bytes> interrupts;
    std::vector<std::string> logs;
    CcidDevice device;

    explicit Harness(DeviceConfig config = {})
        : device(std::move(config),
                 CcidDevice::Output{
                     [this](const Bytes& bytes) { replies.push_back(*parseMessage(bytes)); },
                     [this](const Bytes& bytes) { interrupts.push_back(bytes); },
                     [this](const std::string& line) { logs.push_back(line); }})
    {
    }

    Message send(std::uint8_t type, std::uint8_t slot, std::uint8_t seq, Bytes data = {},
                 std::array<std::uint8_t, 3> specific = {})
    {
        Message command{type, slot, seq, specific, std::move(data)};
        const std::size_t before = replies.size();
        device.handleCommand(encode(command));
        return replies.size() > before ? replies.back() : Message{};
    }

    std::size_t replyCount() const { return replies.size(); }
};

DeviceConfig withSlots(std::uint8_t count)
{
    DeviceConfig config;
    config.slotCount = count;
    return config;
}

std::uint8_t type(MessageType t)
{
    return static_cast<std::uint8_t>(t);
}

void expectReply(const Message& reply, MessageType replyType, std::uint8_t seq, IccStatus icc,
                 CommandStatus status, std::uint8_t bError = 0)
{
    QCOMPARE(reply.type, type(replyType));
    QCOMPARE(reply.seq, seq);
    QCOMPARE(iccStatusOf(reply.specific[0]), icc);
    QCOMPARE(commandStatusOf(reply.specific[0]), status);
    if (status == CommandStatus::Failed)
        QCOMPARE(reply.specific[1], bError);
}

} // namespace

Q_DECLARE_METATYPE(vscard::ccid::MessageType)
Q_DECLARE_METATYPE(vscard::ccid::IccStatus)

class TestCcidDevice : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void command_everyType_answeredWithSpecReplyType_data();
    void command_everyType_answeredWithSpecReplyType();
    void command_unknownType_slotStatusNotSupported();
    void command_slotOutOfRange_badSlotInReplyType();
    void command_lengthMismatch_badLength();
    void powerOn_presentCard_returnsAtrAndActivates();
    void powerOn_badPowerSelect_errorAtOffset7();
    void powerOn_emptySlot_iccMuteAbsent();
    void xfrBlock_card_forwardsAndEchoesSeq();
    void xfrBlock_unpowered_iccMute();
    void xfrBlock_whileBusy_slotBusy();
    void xfrBlock_extendedToShortOnlyCard_answered6700Locally();
    void xfrBlock_extendedToExtendedCard_forwarded();
    void xfrBlock_cardRemovedMidApdu_failsAndDropsLateAnswer();
    void xfrBlock_cardSideFails_hardwareError();
    void xfrBlock_responseOverMaxMessage_overrun();
    void power_forwardingCard_coldResetAndOffReachCard();
    void power_nonForwardingCard_answeredLocally();
    void getParameters_fromAtr_data();
    void getParameters_fromAtr();
    void setParameters_protocolNotOffered_refused();
    void setParameters_offeredProtocol_appliedUntilReset();
    void notifySlotChange_insertAndRemove_bitsPerSlot();
    void currentSlotState_occupiedSlots_reportedChanged();
    void pulse_slowCard_timeExtensionThenAnswer();
    void abort_pendingCommand_abortedAndLateAnswerDropped();
    void escape_withHandler_answersData();
    void slots_independent_concurrentCommands();
    void tpdu_ppsRequest_echoedAsAccepted();
    void tpdu_t0Card_tpduForwardedVerbatim();
    void tpdu_t1Card_blocksUnwrappedAndWrapped();
};

void TestCcidDevice::command_everyType_answeredWithSpecReplyType_data()
{
    QTest::addColumn<int>("command");
    QTest::addColumn<MessageType>("reply");
    QTest::addColumn<bool>("ok"); // with a powered card in the slot
    QTest::newRow("IccPowerOn") << 0x62 << MessageType::DataBlock << true;
    QTest::newRow("IccPowerOff") << 0x63 << MessageType::SlotStatus << true;
    QTest::newRow("GetSlotStatus") << 0x65 << MessageType::SlotStatus << true;
    QTest::newRow("GetParameters") << 0x6C << MessageType::Parameters << true;
    QTest::newRow("ResetParameters") << 0x6D << MessageType::Parameters << true;
    QTest::newRow("Escape") << 0x6B << MessageType::EscapeReply << false;
    QTest::newRow("IccClock") << 0x6E << MessageType::SlotStatus << false;
    QTest::newRow("T0APDU") << 0x6A << MessageType::SlotStatus << false;
    QTest::newRow("Secure") << 0x69 << MessageType::DataBlock << false;
    QTest::newRow("Mechanical") << 0x71 << MessageType::SlotStatus << false;
    QTest::newRow("Abort") << 0x72 << MessageType::SlotStatus << true;
    QTest::newRow("SetDataRateAndClockFrequency")
        << 0x73 << MessageType::DataRateAndClockFrequency << true;
}

void TestCcidDevice::command_everyType_answeredWithSpecReplyType()
{
    QFETCH(int, command);
    QFETCH(MessageType, reply);
    QFETCH(bool, ok);
    Harness harness;
    harness.device.insertCard(0, std::make_shared<FakeCard>(), kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    const Message answer = harness.send(static_cast<std::uint8_t>(command), 0, 0x42);
    QCOMPARE(answer.type, type(reply));
    QCOMPARE(answer.slot, std::uint8_t{0});
    QCOMPARE(answer.seq, std::uint8_t{0x42});
    QCOMPARE(commandStatusOf(answer.specific[0]), ok ? CommandStatus::Ok : CommandStatus::Failed);
    if (!ok)
        QCOMPARE(answer.specific[1], error::CommandNotSupported);
}

void TestCcidDevice::command_unknownType_slotStatusNotSupported()
{
    Harness harness;
    const Message answer = harness.send(0x99, 0, 7);
    expectReply(answer, MessageType::SlotStatus, 7, IccStatus::Absent, CommandStatus::Failed,
                error::CommandNotSupported);
}

void TestCcidDevice::command_slotOutOfRange_badSlotInReplyType()
{
    Harness harness(withSlots(2));
    expectReply(harness.send(type(MessageType::XfrBlock), 2, 3, fromHex("00A40400")),
                MessageType::DataBlock, 3, IccStatus::Absent, CommandStatus::Failed,
                error::BadSlot);
    expectReply(harness.send(type(MessageType::GetParameters), 9, 4), MessageType::Parameters, 4,
                IccStatus::Absent, CommandStatus::Failed, error::BadSlot);
}

void TestCcidDevice::command_lengthMismatch_badLength()
{
    Harness harness;
    // dwLength says 5, 2 bytes follow.
    harness.device.handleCommand(fromHex("6F05000000 00 09 000000 0102"));
    QCOMPARE(harness.replyCount(), std::size_t{1});
    expectReply(harness.replies.back(), MessageType::DataBlock, 9, IccStatus::Absent,
                CommandStatus::Failed, error::BadLength);
    QCOMPARE(harness.logs.size(), std::size_t{1});
}

void TestCcidDevice::powerOn_presentCard_returnsAtrAndActivates()
{
    Harness harness;
    harness.device.insertCard(0, std::make_shared<FakeCard>(), kCacAtr);
    QCOMPARE(harness.device.iccStatus(0), IccStatus::PresentInactive);
    const Message answer = harness.send(type(MessageType::IccPowerOn), 0, 1);
    expectReply(answer, MessageType::DataBlock, 1, IccStatus::Active, CommandStatus::Ok);
    QCOMPARE(answer.data, kCacAtr);
    QCOMPARE(harness.device.iccStatus(0), IccStatus::Active);
}

void TestCcidDevice::powerOn_badPowerSelect_errorAtOffset7()
{
    Harness harness;
    harness.device.insertCard(0, std::make_shared<FakeCard>(), kCacAtr);
    expectReply(harness.send(type(MessageType::IccPowerOn), 0, 1, {}, {4, 0, 0}),
                MessageType::DataBlock, 1, IccStatus::PresentInactive, CommandStatus::Failed,
                error::BadParameter7);
}

void TestCcidDevice::powerOn_emptySlot_iccMuteAbsent()
{
    Harness harness;
    expectReply(harness.send(type(MessageType::IccPowerOn), 0, 1), MessageType::DataBlock, 1,
                IccStatus::Absent, CommandStatus::Failed, error::IccMute);
}

void TestCcidDevice::xfrBlock_card_forwardsAndEchoesSeq()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    const std::size_t before = harness.replyCount();
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A4040007A0000000790100"));
    QCOMPARE(harness.replyCount(), before); // nothing until the card answers
    QVERIFY(harness.device.isBusy(0));
    QCOMPARE(card->transmitted, std::vector<Bytes>{fromHex("00A4040007A0000000790100")});
    card->answer(fromHex("6112"));
    QCOMPARE(harness.replyCount(), before + 1);
    expectReply(harness.replies.back(), MessageType::DataBlock, 2, IccStatus::Active,
                CommandStatus::Ok);
    QCOMPARE(harness.replies.back().data, fromHex("6112"));
    QVERIFY(!harness.device.isBusy(0));
}

void TestCcidDevice::xfrBlock_unpowered_iccMute()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    expectReply(harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A40400")),
                MessageType::DataBlock, 2, IccStatus::PresentInactive, CommandStatus::Failed,
                error::IccMute);
    QVERIFY(card->transmitted.empty());
}

void TestCcidDevice::xfrBlock_whileBusy_slotBusy()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A40400"));
    expectReply(harness.send(type(MessageType::GetSlotStatus), 0, 3), MessageType::SlotStatus, 3,
                IccStatus::Active, CommandStatus::Failed, error::CommandSlotBusy);
    QCOMPARE(card->transmitted.size(), std::size_t{1});
}

void TestCcidDevice::xfrBlock_extendedToShortOnlyCard_answered6700Locally()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    Bytes command = fromHex("002A9E9A000100");
    command.resize(command.size() + 256, 0x5A);
    const Message answer = harness.send(type(MessageType::XfrBlock), 0, 2, command);
    expectReply(answer, MessageType::DataBlock, 2, IccStatus::Active, CommandStatus::Ok);
    QCOMPARE(answer.data, fromHex("6700"));
    QVERIFY(card->transmitted.empty());

    // 261 bytes is the most a short-only card side takes, and it is forwarded.
    Bytes largestShort = fromHex("00D60000FF");
    largestShort.resize(261, 0x11);
    harness.send(type(MessageType::XfrBlock), 0, 3, largestShort);
    QCOMPARE(card->transmitted.size(), std::size_t{1});
}

void TestCcidDevice::xfrBlock_extendedToExtendedCard_forwarded()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    card->extended = true;
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    Bytes command = fromHex("002A9E9A00FFFF");
    command.resize(command.size() + 65535, 0x5A);
    command.insert(command.end(), {0x00, 0x00});
    harness.send(type(MessageType::XfrBlock), 0, 2, command);
    QCOMPARE(card->transmitted.size(), std::size_t{1});
    QCOMPARE(card->transmitted[0].size(), std::size_t{65544});
    Bytes response(65536, 0xA5);
    response.insert(response.end(), {0x90, 0x00});
    card->answer(response);
    QCOMPARE(harness.replies.back().data, response);
}

void TestCcidDevice::xfrBlock_cardRemovedMidApdu_failsAndDropsLateAnswer()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A40400"));
    const std::size_t before = harness.replyCount();
    harness.device.removeCard(0);
    QCOMPARE(harness.replyCount(), before + 1);
    expectReply(harness.replies.back(), MessageType::DataBlock, 2, IccStatus::Absent,
                CommandStatus::Failed, error::IccMute);
    card->answer(fromHex("9000")); // too late: nobody hears it
    QCOMPARE(harness.replyCount(), before + 1);
    QCOMPARE(harness.device.iccStatus(0), IccStatus::Absent);
}

void TestCcidDevice::xfrBlock_cardSideFails_hardwareError()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A40400"));
    card->failWith("client sent Error(GENERAL_ERROR)");
    expectReply(harness.replies.back(), MessageType::DataBlock, 2, IccStatus::Active,
                CommandStatus::Failed, error::HardwareError);
    QVERIFY(!harness.logs.empty());
}

void TestCcidDevice::xfrBlock_responseOverMaxMessage_overrun()
{
    DeviceConfig config;
    config.maxMessageSize = 271; // GemPC Twin
    Harness harness(config);
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00B0000000"));
    card->answer(Bytes(262, 0x90));
    expectReply(harness.replies.back(), MessageType::DataBlock, 2, IccStatus::Active,
                CommandStatus::Failed, error::XfrOverrun);
}

void TestCcidDevice::power_forwardingCard_coldResetAndOffReachCard()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    card->power_ = true;
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    QCOMPARE(card->powerActions, std::vector<PowerAction>{PowerAction::ColdReset});
    card->answer(kDualAtr); // the card came back with another ATR
    expectReply(harness.replies.back(), MessageType::DataBlock, 1, IccStatus::Active,
                CommandStatus::Ok);
    QCOMPARE(harness.replies.back().data, kDualAtr);

    harness.send(type(MessageType::IccPowerOff), 0, 2);
    QCOMPARE(card->powerActions.back(), PowerAction::Off);
    card->answer({});
    expectReply(harness.replies.back(), MessageType::SlotStatus, 2, IccStatus::PresentInactive,
                CommandStatus::Ok);
}

void TestCcidDevice::power_nonForwardingCard_answeredLocally()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::IccPowerOn), 0, 2); // a reset, as libccid does it
    expectReply(harness.send(type(MessageType::IccPowerOff), 0, 3), MessageType::SlotStatus, 3,
                IccStatus::PresentInactive, CommandStatus::Ok);
    QVERIFY(card->powerActions.empty());
}

void TestCcidDevice::getParameters_fromAtr_data()
{
    QTest::addColumn<Bytes>("atr");
    QTest::addColumn<int>("protocol");
    QTest::addColumn<Bytes>("structure");
    QTest::newRow("CAC, T=0, TA1 18") << kCacAtr << 0 << fromHex("1800000A00");
    QTest::newRow("T=1 only, IFSC FE, BWI/CWI 45") << kT1OnlyAtr << 1 << fromHex("11100045 00FE00");
    QTest::newRow("dual, T=0 first, TA1 96") << kDualAtr << 0 << fromHex("9600000A00");
}

void TestCcidDevice::getParameters_fromAtr()
{
    QFETCH(Bytes, atr);
    QFETCH(int, protocol);
    QFETCH(Bytes, structure);
    Harness harness;
    harness.device.insertCard(0, std::make_shared<FakeCard>(), atr);
    const Message answer = harness.send(type(MessageType::GetParameters), 0, 5);
    expectReply(answer, MessageType::Parameters, 5, IccStatus::PresentInactive, CommandStatus::Ok);
    QCOMPARE(answer.specific[2], std::uint8_t(protocol));
    QCOMPARE(answer.data, structure);
}

void TestCcidDevice::setParameters_protocolNotOffered_refused()
{
    Harness harness;
    harness.device.insertCard(0, std::make_shared<FakeCard>(), kCacAtr);
    expectReply(
        harness.send(type(MessageType::SetParameters), 0, 1, fromHex("11100045 00FE00"), {1, 0, 0}),
        MessageType::Parameters, 1, IccStatus::PresentInactive, CommandStatus::Failed,
        error::BadParameter7);
    expectReply(harness.send(type(MessageType::SetParameters), 0, 2, fromHex("1100"), {0, 0, 0}),
                MessageType::Parameters, 2, IccStatus::PresentInactive, CommandStatus::Failed,
                error::BadLength);
}

void TestCcidDevice::setParameters_offeredProtocol_appliedUntilReset()
{
    Harness harness;
    harness.device.insertCard(0, std::make_shared<FakeCard>(), kDualAtr);
    const Message set =
        harness.send(type(MessageType::SetParameters), 0, 1, fromHex("96100045 008000"), {1, 0, 0});
    expectReply(set, MessageType::Parameters, 1, IccStatus::PresentInactive, CommandStatus::Ok);
    QCOMPARE(set.specific[2], std::uint8_t{1});
    QCOMPARE(harness.send(type(MessageType::GetParameters), 0, 2).data, fromHex("96100045008000"));
    const Message reset = harness.send(type(MessageType::ResetParameters), 0, 3);
    QCOMPARE(reset.specific[2], std::uint8_t{0});
    QCOMPARE(reset.data, fromHex("9600000A00"));
}

void TestCcidDevice::notifySlotChange_insertAndRemove_bitsPerSlot()
{
    Harness harness(withSlots(8));
    harness.device.insertCard(0, std::make_shared<FakeCard>(), kCacAtr);
    QCOMPARE(harness.interrupts.back(), fromHex("50 03 00"));
    harness.device.insertCard(5, std::make_shared<FakeCard>(), kCacAtr);
    // Slot 5 sits in bits 10-11: second byte, bits 2-3. Slot 0 stays present, unchanged.
    QCOMPARE(harness.interrupts.back(), fromHex("50 01 0C"));
    harness.device.removeCard(0);
    QCOMPARE(harness.interrupts.back(), fromHex("50 02 04"));
    QCOMPARE(harness.interrupts.size(), std::size_t{3});
}

void TestCcidDevice::currentSlotState_occupiedSlots_reportedChanged()
{
    Harness harness(withSlots(3));
    harness.device.insertCard(1, std::make_shared<FakeCard>(), kCacAtr);
    QCOMPARE(harness.device.currentSlotState(), fromHex("50 0C"));
}

void TestCcidDevice::pulse_slowCard_timeExtensionThenAnswer()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("80420000 04 01020304"));
    const std::size_t before = harness.replyCount();
    harness.device.pulse(); // the command has not waited a whole period yet
    QCOMPARE(harness.replyCount(), before);
    harness.device.pulse();
    harness.device.pulse();
    QCOMPARE(harness.replyCount(), before + 2);
    expectReply(harness.replies.back(), MessageType::DataBlock, 2, IccStatus::Active,
                CommandStatus::TimeExtension);
    QCOMPARE(harness.replies.back().specific[1], std::uint8_t{1});
    card->answer(fromHex("9000"));
    expectReply(harness.replies.back(), MessageType::DataBlock, 2, IccStatus::Active,
                CommandStatus::Ok);
}

void TestCcidDevice::abort_pendingCommand_abortedAndLateAnswerDropped()
{
    Harness harness;
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A40400"));
    const Message abortReply = harness.send(type(MessageType::Abort), 0, 2);
    expectReply(harness.replies[harness.replies.size() - 2], MessageType::DataBlock, 2,
                IccStatus::Active, CommandStatus::Failed, error::CommandAborted);
    expectReply(abortReply, MessageType::SlotStatus, 2, IccStatus::Active, CommandStatus::Ok);
    const std::size_t before = harness.replyCount();
    card->answer(fromHex("9000"));
    QCOMPARE(harness.replyCount(), before);
    QVERIFY(!harness.device.isBusy(0));
}

void TestCcidDevice::escape_withHandler_answersData()
{
    DeviceConfig config;
    config.escape = [](ByteView data) -> std::optional<Bytes> {
        if (data.size() == 1 && data[0] == 0x02)
            return Bytes{'V', '1'};
        return std::nullopt;
    };
    Harness harness(config);
    const Message known = harness.send(type(MessageType::Escape), 0, 1, fromHex("02"));
    expectReply(known, MessageType::EscapeReply, 1, IccStatus::Absent, CommandStatus::Ok);
    QCOMPARE(known.data, fromHex("5631"));
    expectReply(harness.send(type(MessageType::Escape), 0, 2, fromHex("03")),
                MessageType::EscapeReply, 2, IccStatus::Absent, CommandStatus::Failed,
                error::CommandNotSupported);
}

void TestCcidDevice::slots_independent_concurrentCommands()
{
    Harness harness(withSlots(2));
    auto first = std::make_shared<FakeCard>();
    auto second = std::make_shared<FakeCard>();
    harness.device.insertCard(0, first, kCacAtr);
    harness.device.insertCard(1, second, kT1OnlyAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::IccPowerOn), 1, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A40400"));
    harness.send(type(MessageType::XfrBlock), 1, 2, fromHex("00B00000"));
    QVERIFY(harness.device.isBusy(0) && harness.device.isBusy(1));
    second->answer(fromHex("02 9000"));
    QCOMPARE(harness.replies.back().slot, std::uint8_t{1});
    first->answer(fromHex("01 9000"));
    QCOMPARE(harness.replies.back().slot, std::uint8_t{0});
    QCOMPARE(harness.replies.back().data, fromHex("019000"));
}

void TestCcidDevice::tpdu_ppsRequest_echoedAsAccepted()
{
    DeviceConfig config;
    config.level = ExchangeLevel::Tpdu;
    Harness harness(config);
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kDualAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1, {}, {1, 0, 0});
    const Message answer = harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("FF119678"));
    expectReply(answer, MessageType::DataBlock, 2, IccStatus::Active, CommandStatus::Ok);
    QCOMPARE(answer.data, fromHex("FF119678"));
    QVERIFY(card->transmitted.empty());
}

void TestCcidDevice::tpdu_t0Card_tpduForwardedVerbatim()
{
    DeviceConfig config;
    config.level = ExchangeLevel::Tpdu;
    Harness harness(config);
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kCacAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::XfrBlock), 0, 2, fromHex("00A4040002A000"));
    QCOMPARE(card->transmitted, std::vector<Bytes>{fromHex("00A4040002A000")});
    card->answer(fromHex("6112"));
    QCOMPARE(harness.replies.back().data, fromHex("6112"));
}

void TestCcidDevice::tpdu_t1Card_blocksUnwrappedAndWrapped()
{
    DeviceConfig config;
    config.level = ExchangeLevel::Tpdu;
    Harness harness(config);
    auto card = std::make_shared<FakeCard>();
    harness.device.insertCard(0, card, kT1OnlyAtr);
    harness.send(type(MessageType::IccPowerOn), 0, 1);
    harness.send(type(MessageType::SetParameters), 0, 2, fromHex("11100045 00FE00"), {1, 0, 0});
    // libccid's IFSD negotiation, then its first I-block, byte for byte.
    QCOMPARE(harness.send(type(MessageType::XfrBlock), 0, 3, fromHex("00C101FE3E")).data,
             fromHex("00E101FE1E"));
    harness.send(type(MessageType::XfrBlock), 0, 4, fromHex("00000500A4040000A5"));
    QCOMPARE(card->transmitted, std::vector<Bytes>{fromHex("00A4040000")});
    card->answer(fromHex("9000"));
    expectReply(harness.replies.back(), MessageType::DataBlock, 4, IccStatus::Active,
                CommandStatus::Ok);
    QCOMPARE(harness.replies.back().data, fromHex("0000029000 92"));
}

QTEST_APPLESS_MAIN(TestCcidDevice)
#include "tst_ccid_device.moc"
