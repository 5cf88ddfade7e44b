// Byte-exact tests of the VSCard encoder and incremental decoder against the wire format of
// libcacard's vscard_common.h as QEMU's ccid-card-passthru and libcacard's vscclient use it.
#include "hex_bytes.h"
#include "vscard/vscard_wire.h"

#include <QtTest>

#include <random>

using namespace vscard;
using vscard::test::concat;
using vscard::test::fromHex;

Q_DECLARE_METATYPE(vscard::Message)
Q_DECLARE_METATYPE(vscard::DecodeErrorKind)

namespace {

const Bytes kCacAtr = fromHex("3B7A180000736674652063643134 34");
const Bytes kSelectCcc = fromHex("00A4040007A0000000790100 00");

struct Vector {
    const char* name;
    Message message;
    Bytes wire;
};

// One vector per message type, as the peers put them on the wire.
std::vector<Vector> wireVectors()
{
    return {
        {"Init from QEMU (undefined reader, version 2, capabilities 0)",
         Message{MessageType::Init, kUndefinedReaderId, fromHex("56534344 00000002 00000000")},
         fromHex("00000001 FFFFFFFF 0000000C 56534344 00000002 00000000")},
        {"Init announcing extended APDUs and card power, and a word we do not know",
         Message{MessageType::Init, 0, fromHex("56534344 00000002 00000003 80000000")},
         fromHex("00000001 00000000 00000010 56534344 00000002 00000003 80000000")},
        {"Error SUCCESS acknowledging reader 0",
         Message{MessageType::Error, 0, fromHex("00000000")},
         fromHex("00000002 00000000 00000004 00000000")},
        {"Error CARD_ALREADY_INSERTED", Message{MessageType::Error, 0, fromHex("00000003")},
         fromHex("00000002 00000000 00000004 00000003")},
        {"ReaderAdd with a UTF-8 name",
         Message{MessageType::ReaderAdd, 0, fromHex("54657374 20C3A9")},
         fromHex("00000003 00000000 00000007 54657374 20C3A9")},
        {"ReaderRemove", Message{MessageType::ReaderRemove, 1, {}},
         fromHex("00000004 00000001 00000000")},
        {"ATR of the emulated CAC", Message{MessageType::Atr, 0, kCacAtr},
         concat({fromHex("00000005 00000000 0000000F"), kCacAtr})},
        {"CardRemove", Message{MessageType::CardRemove, 2, {}},
         fromHex("00000006 00000002 00000000")},
        {"APDU SELECT of the CCC", Message{MessageType::Apdu, 0, kSelectCcc},
         concat({fromHex("00000007 00000000 0000000D"), kSelectCcc})},
        {"Flush", Message{MessageType::Flush, 0, {}}, fromHex("00000008 00000000 00000000")},
        {"FlushComplete", Message{MessageType::FlushComplete, 0, {}},
         fromHex("00000009 00000000 00000000")},
        {"PowerRequest warm reset", Message{MessageType::PowerRequest, 3, fromHex("00000002")},
         fromHex("00000100 00000003 00000004 00000002")},
        {"PowerResponse with the ATR", Message{MessageType::PowerResponse, 3, kCacAtr},
         concat({fromHex("00000101 00000003 0000000F"), kCacAtr})},
    };
}

Bytes allVectorsOnOneStream()
{
    Bytes stream;
    for (const auto& vector : wireVectors())
        stream.insert(stream.end(), vector.wire.begin(), vector.wire.end());
    return stream;
}

std::vector<Message> drain(MessageDecoder& decoder)
{
    std::vector<Message> messages;
    while (auto next = decoder.next()) {
        if (!*next) {
            qWarning("decode error: %s", next->error().message.c_str());
            return messages;
        }
        messages.push_back(std::move(next->value()));
    }
    return messages;
}

std::vector<Message> decodeInChunks(const Bytes& stream, const std::vector<std::size_t>& chunkSizes)
{
    MessageDecoder decoder;
    std::vector<Message> messages;
    std::size_t offset = 0;
    for (std::size_t i = 0; offset < stream.size(); ++i) {
        const std::size_t size =
            std::min(chunkSizes[i % chunkSizes.size()], stream.size() - offset);
        decoder.feed(ByteView(stream).subspan(offset, size));
        offset += size;
        for (auto& message : drain(decoder))
            messages.push_back(std::move(message));
    }
    return messages;
}

} // namespace

class TestVscardWire : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void encodeMessage_eachType_matchesWireBytes_data();
    void encodeMessage_eachType_matchesWireBytes();
    void typedEncoders_knownValues_matchGenericEncoding();
    void decoder_wholeMessage_yieldsMessage_data();
    void decoder_wholeMessage_yieldsMessage();
    void decoder_oneByteAtATime_yieldsEveryMessageInOrder();
    void decoder_randomChunks_yieldsEveryMessageInOrder();
    void decoder_partialMessage_waitsAndCountsPendingBytes();
    void decoder_malformedInput_reportsPreciseError_data();
    void decoder_malformedInput_reportsPreciseError();
    void decoder_oversizedLength_failsBeforePayloadArrives();
    void decoder_configuredLimit_acceptsUpToLimit();
    void decoder_afterError_staysFailed();
    void decoder_messagesBeforeError_stillDelivered();
    void parseInitPayload_longerCapabilityArray_keepsEveryWord();
    void parseInitPayload_noCapabilityWords_accepted();
    void readerNameFromPayload_trailingNul_isStripped();
    void version_makeVersion_matchesLibcacardLayout();
    void names_everyTypeAndCode_named();
};

void TestVscardWire::encodeMessage_eachType_matchesWireBytes_data()
{
    QTest::addColumn<Message>("message");
    QTest::addColumn<Bytes>("wire");
    for (const auto& vector : wireVectors())
        QTest::newRow(vector.name) << vector.message << vector.wire;
}

void TestVscardWire::encodeMessage_eachType_matchesWireBytes()
{
    QFETCH(Message, message);
    QFETCH(Bytes, wire);
    QCOMPARE(encodeMessage(message.type, message.readerId, message.payload), wire);
}

void TestVscardWire::typedEncoders_knownValues_matchGenericEncoding()
{
    QCOMPARE(encodeInit(kUndefinedReaderId, InitPayload{}),
             fromHex("00000001 FFFFFFFF 0000000C 56534344 00000002 00000000"));
    InitPayload extended;
    extended.capabilities = {capability::ExtendedApdu | capability::CardPower, 0x80000000u};
    QCOMPARE(encodeInit(0, extended),
             fromHex("00000001 00000000 00000010 56534344 00000002 00000003 80000000"));
    QCOMPARE(encodeError(0, ErrorCode::CardAlreadyInserted),
             fromHex("00000002 00000000 00000004 00000003"));
    QCOMPARE(encodeReaderAdd(0, "Test \xC3\xA9"),
             fromHex("00000003 00000000 00000007 54657374 20C3A9"));
    QCOMPARE(encodePowerRequest(3, PowerAction::WarmReset),
             fromHex("00000100 00000003 00000004 00000002"));
}

void TestVscardWire::decoder_wholeMessage_yieldsMessage_data()
{
    encodeMessage_eachType_matchesWireBytes_data();
}

void TestVscardWire::decoder_wholeMessage_yieldsMessage()
{
    QFETCH(Message, message);
    QFETCH(Bytes, wire);
    MessageDecoder decoder;
    decoder.feed(wire);
    const auto decoded = drain(decoder);
    QCOMPARE(decoded.size(), std::size_t{1});
    QVERIFY(decoded.front() == message);
    QCOMPARE(decoder.pendingBytes(), std::size_t{0});
    QVERIFY(!decoder.failed());
}

void TestVscardWire::decoder_oneByteAtATime_yieldsEveryMessageInOrder()
{
    const auto messages = decodeInChunks(allVectorsOnOneStream(), {1});
    const auto vectors = wireVectors();
    QCOMPARE(messages.size(), vectors.size());
    for (std::size_t i = 0; i < vectors.size(); ++i)
        QVERIFY2(messages[i] == vectors[i].message, vectors[i].name);
}

void TestVscardWire::decoder_randomChunks_yieldsEveryMessageInOrder()
{
    // Chunk boundaries fall inside headers, inside payloads and between messages; the seed is
    // fixed so that a failure reproduces.
    std::mt19937 random(20261122);
    std::uniform_int_distribution<std::size_t> chunkSize(1, 40);
    const Bytes stream = allVectorsOnOneStream();
    const auto vectors = wireVectors();
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> sizes(64);
        for (auto& size : sizes)
            size = chunkSize(random);
        const auto messages = decodeInChunks(stream, sizes);
        QCOMPARE(messages.size(), vectors.size());
        for (std::size_t i = 0; i < vectors.size(); ++i)
            QVERIFY2(messages[i] == vectors[i].message, vectors[i].name);
    }
}

void TestVscardWire::decoder_partialMessage_waitsAndCountsPendingBytes()
{
    const Bytes wire = encodeMessage(MessageType::Apdu, 0, kSelectCcc);
    MessageDecoder decoder;
    decoder.feed(ByteView(wire).first(5));
    QVERIFY(!decoder.next().has_value());
    QCOMPARE(decoder.pendingBytes(), std::size_t{5});
    decoder.feed(ByteView(wire).subspan(5, 10));
    QVERIFY(!decoder.next().has_value());
    QCOMPARE(decoder.pendingBytes(), std::size_t{15});
    decoder.feed(ByteView(wire).subspan(15));
    const auto message = decoder.next();
    QVERIFY(message.has_value() && message->ok());
    QCOMPARE((*message)->payload, kSelectCcc);
    QCOMPARE(decoder.pendingBytes(), std::size_t{0});
}

void TestVscardWire::decoder_malformedInput_reportsPreciseError_data()
{
    QTest::addColumn<Bytes>("wire");
    QTest::addColumn<DecodeErrorKind>("kind");
    QTest::addColumn<QString>("message");

    QTest::newRow("type 0") << fromHex("00000000 00000000 00000000") << DecodeErrorKind::UnknownType
                            << "unknown message type 0 (0x00000000) for reader 0x00000000";
    QTest::newRow("type 10, just past FlushComplete")
        << fromHex("0000000A 00000001 00000000") << DecodeErrorKind::UnknownType
        << "unknown message type 10 (0x0000000A) for reader 0x00000001";
    QTest::newRow("type 0x102, just past the extensions")
        << fromHex("00000102 00000000 00000000") << DecodeErrorKind::UnknownType
        << "unknown message type 258 (0x00000102) for reader 0x00000000";
    QTest::newRow("little-endian type 7")
        << fromHex("07000000 00000000 00000000") << DecodeErrorKind::UnknownType
        << "unknown message type 117440512 (0x07000000) for "
           "reader 0x00000000";
    QTest::newRow("APDU one byte over the limit")
        << fromHex("00000007 00000000 00010009") << DecodeErrorKind::OversizedLength
        << "APDU for reader 0x00000000 announces 65545 payload bytes, limit is 65544";
    QTest::newRow("APDU of 4 GiB")
        << fromHex("00000007 00000000 FFFFFFFF") << DecodeErrorKind::OversizedLength
        << "APDU for reader 0x00000000 announces 4294967295 payload "
           "bytes, limit is 65544";
    QTest::newRow("Init of 4 bytes")
        << fromHex("00000001 00000000 00000004 56534344") << DecodeErrorKind::MalformedInit
        << "Init for reader 0x00000000 announces 4 payload bytes, "
           "shorter than magic and version (8 bytes)";
    QTest::newRow("Init with byte-swapped magic")
        << fromHex("00000001 00000000 0000000C 44435356 00000002 00000000")
        << DecodeErrorKind::MalformedInit << "Init magic is 0x44435356, expected \"VSCD\"";
    QTest::newRow("Init with half a capability word")
        << fromHex("00000001 00000000 0000000A 56534344 00000002 0000")
        << DecodeErrorKind::MalformedInit
        << "Init capabilities of 2 bytes are not a whole number of 32-bit words";
    QTest::newRow("Error of 3 bytes")
        << fromHex("00000002 00000000 00000003 000000") << DecodeErrorKind::MalformedPayload
        << "Error for reader 0x00000000 announces 3 payload bytes, "
           "expected 4";
    QTest::newRow("CardRemove with a payload")
        << fromHex("00000006 00000000 00000001 00") << DecodeErrorKind::MalformedPayload
        << "CardRemove for reader 0x00000000 announces 1 payload bytes, expected 0";
    QTest::newRow("Flush with a payload")
        << fromHex("00000008 00000000 00000004 00000000") << DecodeErrorKind::MalformedPayload
        << "Flush for reader 0x00000000 announces 4 payload bytes, expected 0";
    QTest::newRow("PowerRequest of 2 bytes")
        << fromHex("00000100 00000000 00000002 0001") << DecodeErrorKind::MalformedPayload
        << "PowerRequest for reader 0x00000000 announces 2 payload bytes, expected 4";
}

void TestVscardWire::decoder_malformedInput_reportsPreciseError()
{
    QFETCH(Bytes, wire);
    QFETCH(DecodeErrorKind, kind);
    QFETCH(QString, message);
    MessageDecoder decoder;
    decoder.feed(wire);
    const auto result = decoder.next();
    QVERIFY(result.has_value());
    QVERIFY(!result->ok());
    QCOMPARE(result->error().kind, kind);
    QCOMPARE(QString::fromStdString(result->error().message), message);
    QVERIFY(decoder.failed());
}

void TestVscardWire::decoder_oversizedLength_failsBeforePayloadArrives()
{
    // A peer announcing 16 MiB must be refused at the header, not after we buffered 16 MiB.
    MessageDecoder decoder;
    decoder.feed(fromHex("00000007 00000000 01000000"));
    const auto result = decoder.next();
    QVERIFY(result.has_value() && !result->ok());
    QCOMPARE(result->error().kind, DecodeErrorKind::OversizedLength);
    QCOMPARE(result->error().type, std::uint32_t{7});
}

void TestVscardWire::decoder_configuredLimit_acceptsUpToLimit()
{
    MessageDecoder decoder(DecoderLimits{kMaxShortApduSize});
    decoder.feed(encodeMessage(MessageType::Apdu, 0, Bytes(kMaxShortApduSize, 0x55)));
    auto accepted = decoder.next();
    QVERIFY(accepted.has_value() && accepted->ok());
    QCOMPARE((*accepted)->payload.size(), kMaxShortApduSize);

    decoder.feed(encodeMessage(MessageType::Apdu, 0, Bytes(kMaxShortApduSize + 1, 0x55)));
    auto refused = decoder.next();
    QVERIFY(refused.has_value() && !refused->ok());
    QCOMPARE(refused->error().kind, DecodeErrorKind::OversizedLength);
}

void TestVscardWire::decoder_afterError_staysFailed()
{
    MessageDecoder decoder;
    decoder.feed(fromHex("0000000A 00000000 00000000"));
    QVERIFY(decoder.next().has_value());
    decoder.feed(encodeError(0, ErrorCode::Success));
    const auto again = decoder.next();
    QVERIFY(again.has_value() && !again->ok());
    QCOMPARE(again->error().kind, DecodeErrorKind::UnknownType);
}

void TestVscardWire::decoder_messagesBeforeError_stillDelivered()
{
    MessageDecoder decoder;
    decoder.feed(
        concat({encodeError(0, ErrorCode::Success), fromHex("0000000A 00000000 00000000")}));
    const auto first = decoder.next();
    QVERIFY(first.has_value() && first->ok());
    QCOMPARE((*first)->type, MessageType::Error);
    const auto second = decoder.next();
    QVERIFY(second.has_value() && !second->ok());
}

void TestVscardWire::parseInitPayload_longerCapabilityArray_keepsEveryWord()
{
    const auto init = parseInitPayload(fromHex("56534344 00000002 00000001 00000000 DEADBEEF"));
    QVERIFY(init.ok());
    QCOMPARE(init->version, kProtocolVersion);
    QCOMPARE(init->capabilities, (std::vector<std::uint32_t>{1, 0, 0xDEADBEEF}));
    QVERIFY(init->has(capability::ExtendedApdu));
    QVERIFY(!init->has(capability::CardPower));
}

void TestVscardWire::parseInitPayload_noCapabilityWords_accepted()
{
    const auto init = parseInitPayload(fromHex("56534344 00000002"));
    QVERIFY(init.ok());
    QVERIFY(init->capabilities.empty());
    QVERIFY(!init->has(capability::ExtendedApdu));
}

void TestVscardWire::readerNameFromPayload_trailingNul_isStripped()
{
    QCOMPARE(readerNameFromPayload(fromHex("52656164657200")), std::string("Reader"));
    QCOMPARE(readerNameFromPayload(fromHex("526561646572")), std::string("Reader"));
    QCOMPARE(readerNameFromPayload({}), std::string());
}

void TestVscardWire::version_makeVersion_matchesLibcacardLayout()
{
    QCOMPARE(kProtocolVersion, std::uint32_t{2});
    constexpr std::uint32_t version = makeVersion(1, 2, 3);
    QCOMPARE(version, (1u << 21) | (2u << 10) | 3u);
    QCOMPARE(versionMajor(version), 1u);
    QCOMPARE(versionMiddle(version), 2u);
    QCOMPARE(versionMinor(version), 3u);
}

void TestVscardWire::names_everyTypeAndCode_named()
{
    for (std::uint32_t type = 1; type <= 9; ++type) {
        QVERIFY(isKnownMessageType(type));
        QVERIFY(messageTypeName(static_cast<MessageType>(type)) != "Unknown");
    }
    QVERIFY(isKnownMessageType(0x100) && isKnownMessageType(0x101));
    QVERIFY(!isKnownMessageType(0) && !isKnownMessageType(10) && !isKnownMessageType(0xFF));
    QCOMPARE(errorCodeName(0), std::string_view("SUCCESS"));
    QCOMPARE(errorCodeName(2), std::string_view("CANNOT_ADD_MORE_READERS"));
    QCOMPARE(errorCodeName(3), std::string_view("CARD_ALREADY_INSERTED"));
    QCOMPARE(errorCodeName(99), std::string_view("UNKNOWN_ERROR"));
}

QTEST_APPLESS_MAIN(TestVscardWire)
#include "tst_vscard_wire.moc"
