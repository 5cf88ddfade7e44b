// server-ccid's VSCard host on the wire: an in-process server, raw clients that send exact
// bytes, and assertions on the exact bytes that come back, on the registry, and on the log.
#include "hex_bytes.h"
#include "server.h"
#include "vscard/ccid/link_wire.h"

#include <QFile>
#include <QLocalSocket>
#include <QTcpSocket>
#include <QtTest>

#include <sys/stat.h>

using namespace vscard;
using vscard::test::fromHex;

namespace {

const Bytes kCacAtr = fromHex("3B7A18000073667465206364313434");

class RawClient {
public:
    explicit RawClient(const QString& path)
    {
        socket_.connectToServer(path);
        socket_.waitForConnected(5000);
        QObject::connect(&socket_, &QLocalSocket::readyRead, [this] {
            const QByteArray chunk = socket_.readAll();
            decoder_.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                                   static_cast<std::size_t>(chunk.size())));
            while (auto next = decoder_.next()) {
                if (*next)
                    received_.push_back(
                        encodeMessage((*next)->type, (*next)->readerId, (*next)->payload));
            }
        });
    }

    void send(const Bytes& bytes)
    {
        socket_.write(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<qint64>(bytes.size()));
        socket_.flush();
    }

    // The next whole message, as bytes; empty if none came within the (hang-guard) timeout.
    Bytes next()
    {
        // Block in the event loop until something arrives; the deadline only guards a hang.
        QDeadlineTimer deadline(10000);
        while (received_.empty() && !deadline.hasExpired())
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 100);
        if (received_.empty())
            return {};
        Bytes first = std::move(received_.front());
        received_.erase(received_.begin());
        return first;
    }

    bool waitForDisconnect()
    {
        return QTest::qWaitFor([this] { return socket_.state() == QLocalSocket::UnconnectedState; },
                               10000);
    }

    QLocalSocket& socket() { return socket_; }

private:
    QLocalSocket socket_;
    MessageDecoder decoder_;
    std::vector<Bytes> received_;
};

Bytes clientInit(std::uint32_t capabilities = 0)
{
    return encodeInit(0, InitPayload{kProtocolVersion, {capabilities}});
}

Bytes ack(std::uint32_t readerId, ErrorCode code)
{
    return encodeError(readerId, code);
}

} // namespace

class TestVscardHost : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void init_anyClient_answeredWithHostInitAnnouncingExtensions();
    void libcacardStyle_removeThenNamelessAdd_readerZeroWithCard();
    void readerAdd_beyondMaxReaders_cannotAddMore();
    void readerIds_perClient_lowestFreeFirst();
    void atr_invalid_refusedWithGeneralError_data();
    void atr_invalid_refusedWithGeneralError();
    void atr_withoutReaderAdd_implicitReaderZero();
    void malformedMessage_dropsOnlyThatClient_data();
    void malformedMessage_dropsOnlyThatClient();
    void disconnectMidMessage_readersGoneAtOnce();
    void flushFromClient_answeredFlushComplete();
    void insertRemove_thousandCycles_registryConsistent();
    void unixSockets_createdWithRequestedMode();
    void tcpListener_loopbackClient_servedLikeUnix();

private:
    std::unique_ptr<QTemporaryDir> dir_;
    std::unique_ptr<server::Server> server_;
    QString socketPath_;
};

void TestVscardHost::init()
{
    dir_ = std::make_unique<QTemporaryDir>();
    socketPath_ = dir_->filePath("vscard.sock");
    server::ServerOptions options;
    options.listen = {*Endpoint::parse("unix:" + socketPath_)};
    options.maxReaders = 3;
    options.pcscSocket = dir_->filePath("pcsc.sock");
    server_ = std::make_unique<server::Server>(options);
    QCOMPARE(server_->start(), QString());
}

void TestVscardHost::cleanup()
{
    server_.reset();
    dir_.reset();
}

void TestVscardHost::init_anyClient_answeredWithHostInitAnnouncingExtensions()
{
    RawClient client(socketPath_);
    client.send(clientInit());
    QCOMPARE(client.next(), fromHex("00000001 FFFFFFFF 0000000C 56534344 00000002 00000003"));
}

void TestVscardHost::libcacardStyle_removeThenNamelessAdd_readerZeroWithCard()
{
    RawClient client(socketPath_);
    client.send(clientInit());
    client.next();
    // libcacard's vscclient: ReaderRemove(0) first, ReaderAdd without a name, all on reader 0.
    client.send(encodeMessage(MessageType::ReaderRemove, 0, {}));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    client.send(encodeMessage(MessageType::ReaderAdd, 0, {}));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    client.send(encodeMessage(MessageType::Atr, 0, kCacAtr));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    const auto* reader = server_->registry().reader(0);
    QVERIFY(reader && reader->card);
    QCOMPARE(reader->name, QString("VSCard reader 0"));
    QCOMPARE(reader->atr, kCacAtr);
    QVERIFY(!reader->card->acceptsExtendedApdu());
    QVERIFY(!reader->card->forwardsPower());
}

void TestVscardHost::readerAdd_beyondMaxReaders_cannotAddMore()
{
    RawClient first(socketPath_);
    RawClient second(socketPath_);
    first.send(clientInit());
    second.send(clientInit());
    first.next();
    second.next();
    first.send(encodeReaderAdd(kUndefinedReaderId, "a"));
    QCOMPARE(first.next(), ack(0, ErrorCode::Success));
    first.send(encodeReaderAdd(kUndefinedReaderId, "b"));
    QCOMPARE(first.next(), ack(1, ErrorCode::Success));
    second.send(encodeReaderAdd(kUndefinedReaderId, "c"));
    QCOMPARE(second.next(), ack(0, ErrorCode::Success));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("reader \"d\" refused, all 3 readers"));
    second.send(encodeReaderAdd(kUndefinedReaderId, "d"));
    QCOMPARE(second.next(),
             fromHex("00000002 FFFFFFFF 00000004 00000002")); // CANNOT_ADD_MORE_READERS
}

void TestVscardHost::readerIds_perClient_lowestFreeFirst()
{
    RawClient client(socketPath_);
    client.send(clientInit());
    client.next();
    client.send(encodeReaderAdd(kUndefinedReaderId, "a"));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    client.send(encodeReaderAdd(kUndefinedReaderId, "b"));
    QCOMPARE(client.next(), ack(1, ErrorCode::Success));
    client.send(encodeMessage(MessageType::ReaderRemove, 0, {}));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    client.send(encodeReaderAdd(kUndefinedReaderId, "c"));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    QCOMPARE(server_->registry().reader(0)->name, QString("c"));
    QCOMPARE(server_->registry().reader(1)->name, QString("b"));
}

void TestVscardHost::atr_invalid_refusedWithGeneralError_data()
{
    QTest::addColumn<Bytes>("atr");
    QTest::addColumn<QString>("logged");
    QTest::newRow("one byte") << fromHex("3B") << "ATR of 1 bytes";
    QTest::newRow("34 bytes, more than pcsc-lite holds") << Bytes(34, 0x3B) << "ATR of 34 bytes";
    QTest::newRow("TS 3A") << fromHex("3A00") << "ATR starting with 3a";
}

void TestVscardHost::atr_invalid_refusedWithGeneralError()
{
    QFETCH(Bytes, atr);
    QFETCH(QString, logged);
    RawClient client(socketPath_);
    client.send(clientInit());
    client.next();
    client.send(encodeReaderAdd(kUndefinedReaderId, "r"));
    client.next();
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("card refused: " + logged));
    client.send(encodeMessage(MessageType::Atr, 0, atr));
    QCOMPARE(client.next(), ack(0, ErrorCode::GeneralError));
    QVERIFY(!server_->registry().reader(0)->card);
    QLoggingCategory::setFilterRules({});
}

void TestVscardHost::atr_withoutReaderAdd_implicitReaderZero()
{
    RawClient client(socketPath_);
    client.send(clientInit());
    client.next();
    client.send(encodeMessage(MessageType::Atr, 0, kCacAtr));
    QCOMPARE(client.next(), ack(0, ErrorCode::Success)); // the implicit ReaderAdd's
    QCOMPARE(client.next(), ack(0, ErrorCode::Success)); // the ATR's
    QVERIFY(server_->registry().reader(0) && server_->registry().reader(0)->card);
}

void TestVscardHost::malformedMessage_dropsOnlyThatClient_data()
{
    QTest::addColumn<Bytes>("garbage");
    QTest::addColumn<QString>("logged");
    QTest::newRow("unknown type") << fromHex("0000000A 00000000 00000000")
                                  << "unknown message type 10";
    QTest::newRow("oversized length") << fromHex("00000007 00000000 00100000")
                                      << "APDU for reader 0x00000000 announces 1048576 payload";
    QTest::newRow("Init with a wrong magic")
        << fromHex("00000001 00000000 0000000C 41424344 00000002 00000000") << "Init magic";
    QTest::newRow("Error of 2 bytes")
        << fromHex("00000002 00000000 00000002 0000") << "Error for reader 0x00000000 announces 2";
}

void TestVscardHost::malformedMessage_dropsOnlyThatClient()
{
    QFETCH(Bytes, garbage);
    QFETCH(QString, logged);
    RawClient good(socketPath_);
    good.send(clientInit());
    good.next();
    good.send(encodeReaderAdd(kUndefinedReaderId, "good"));
    good.next();
    good.send(encodeMessage(MessageType::Atr, 0, kCacAtr));
    good.next();

    RawClient bad(socketPath_);
    bad.send(clientInit());
    bad.next();
    bad.send(encodeReaderAdd(kUndefinedReaderId, "bad"));
    QCOMPARE(bad.next(), ack(0, ErrorCode::Success));
    QVERIFY(server_->registry().reader(1));
    // The log names the peer and the fault.
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("client unix:.*vscard.sock#\\d+ : .*" +
                                                          QRegularExpression::escape(logged) +
                                                          ".*connection dropped"));
    bad.send(garbage);
    QVERIFY(bad.waitForDisconnect());
    QVERIFY(!server_->registry().reader(1)); // its reader is gone
    // Nobody else noticed: the good client's card is there and it still gets answers.
    QVERIFY(server_->registry().reader(0) && server_->registry().reader(0)->card);
    good.send(encodeMessage(MessageType::CardRemove, 0, {}));
    QCOMPARE(good.next(), ack(0, ErrorCode::Success));
}

void TestVscardHost::disconnectMidMessage_readersGoneAtOnce()
{
    auto client = std::make_unique<RawClient>(socketPath_);
    client->send(clientInit());
    client->next();
    client->send(encodeReaderAdd(kUndefinedReaderId, "r"));
    client->next();
    client->send(encodeMessage(MessageType::Atr, 0, kCacAtr));
    client->next();
    QVERIFY(server_->registry().reader(0));
    const Bytes apdu = encodeMessage(MessageType::Apdu, 0, fromHex("9000"));
    client->send(Bytes(apdu.begin(), apdu.begin() + 7)); // half a header
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("disconnected mid-message with 7 bytes"));
    client->socket().disconnectFromServer();
    QTRY_VERIFY_WITH_TIMEOUT(!server_->registry().reader(0), 10000);
}

void TestVscardHost::flushFromClient_answeredFlushComplete()
{
    RawClient client(socketPath_);
    client.send(clientInit());
    client.next();
    client.send(encodeMessage(MessageType::Flush, 0, {}));
    QCOMPARE(client.next(), fromHex("00000009 00000000 00000000"));
}

void TestVscardHost::insertRemove_thousandCycles_registryConsistent()
{
    RawClient client(socketPath_);
    client.send(clientInit(capability::ExtendedApdu));
    client.next();
    client.send(encodeReaderAdd(kUndefinedReaderId, "cycled"));
    client.next();
    // A driver link is connected, so every event also goes through its CCID device model.
    QLocalSocket driver;
    driver.connectToServer(dir_->filePath("pcsc.sock"));
    QVERIFY(driver.waitForConnected(5000));
    const Bytes hello =
        link::encodeGreeting(link::FrameKind::Hello, link::Greeting{link::kLinkVersion, 4});
    driver.write(reinterpret_cast<const char*>(hello.data()), static_cast<qint64>(hello.size()));
    std::size_t driverBytes = 0;
    QObject::connect(&driver, &QLocalSocket::readyRead,
                     [&] { driverBytes += static_cast<std::size_t>(driver.readAll().size()); });
    // Welcome (5 + 8 bytes) and the slot state (5 + 2 bytes) come first.
    QTRY_COMPARE_WITH_TIMEOUT(driverBytes, std::size_t{20}, 10000);
    // Two thousand lines of "inserted a card" would only drown the test's own output.
    QLoggingCategory::setFilterRules("vscard.server.info=false");
    int inserted = 0;
    int removed = 0;
    QObject::connect(&server_->registry(), &server::ReaderRegistry::cardInserted,
                     [&](int) { ++inserted; });
    QObject::connect(&server_->registry(), &server::ReaderRegistry::cardRemoved,
                     [&](int) { ++removed; });
    for (int cycle = 0; cycle < 1000; ++cycle) {
        client.send(encodeMessage(MessageType::Atr, 0, kCacAtr));
        client.send(encodeMessage(MessageType::CardRemove, 0, {}));
        QCOMPARE(client.next(), ack(0, ErrorCode::Success));
        QCOMPARE(client.next(), ack(0, ErrorCode::Success));
    }
    QCOMPARE(inserted, 1000);
    QCOMPARE(removed, 1000);
    // Each insert and each removal reached the driver as a NotifySlotChange frame (5 + 2 bytes).
    QTRY_COMPARE_WITH_TIMEOUT(driverBytes, std::size_t{20 + 2000 * 7}, 10000);
    QVERIFY(!server_->registry().reader(0)->card);
    QLoggingCategory::setFilterRules({});
}

void TestVscardHost::unixSockets_createdWithRequestedMode()
{
    const auto modeOf = [](const QString& path) {
        struct stat status = {};
        ::stat(QFile::encodeName(path).constData(), &status);
        return status.st_mode & 0777;
    };
    QCOMPARE(modeOf(socketPath_), 0600u);
    QCOMPARE(modeOf(dir_->filePath("pcsc.sock")), 0600u);
    server_.reset();
    server::ServerOptions options;
    options.listen = {*Endpoint::parse("unix:" + socketPath_)};
    options.socketMode = 0660;
    server_ = std::make_unique<server::Server>(options);
    QCOMPARE(server_->start(), QString());
    QCOMPARE(modeOf(socketPath_), 0660u);
}

void TestVscardHost::tcpListener_loopbackClient_servedLikeUnix()
{
    server_.reset();
    server::ServerOptions options;
    options.listen = {*Endpoint::parse("tcp:127.0.0.1:0"), *Endpoint::parse("unix:" + socketPath_)};
    server_ = std::make_unique<server::Server>(options);
    QCOMPARE(server_->start(), QString());
    const Endpoint bound = server_->boundEndpoints().first();
    QVERIFY(bound.port != 0);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, bound.port);
    QVERIFY(
        QTest::qWaitFor([&] { return client.state() == QAbstractSocket::ConnectedState; }, 5000));
    const Bytes init = clientInit();
    client.write(reinterpret_cast<const char*>(init.data()), static_cast<qint64>(init.size()));
    QVERIFY(QTest::qWaitFor([&] { return client.bytesAvailable() >= 24; }, 5000));
    const QByteArray answer = client.readAll();
    QCOMPARE(Bytes(answer.begin(), answer.end()),
             fromHex("00000001 FFFFFFFF 0000000C 56534344 00000002 00000003"));
}

QTEST_GUILESS_MAIN(TestVscardHost)
#include "tst_vscard_host.moc"
