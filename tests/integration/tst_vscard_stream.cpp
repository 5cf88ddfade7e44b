// The codec over real loopback sockets: messages of every size written one buffer each, read
// back in whatever pieces TCP and Unix sockets deliver, decoded intact and in order.
#include "hex_bytes.h"
#include "vscard/vscard_wire.h"

#include <QLocalServer>
#include <QLocalSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include <memory>

using namespace vscard;

namespace {

// A session's worth of traffic: Init, a reader, a card, then APDUs from a few bytes up to the
// largest extended APDU, so that large messages cross many segments.
std::vector<Message> sampleTraffic()
{
    std::vector<Message> messages;
    const Bytes init = encodeInit(0, InitPayload{kProtocolVersion, {capability::ExtendedApdu}});
    messages.push_back(
        Message{MessageType::Init, 0, Bytes(init.begin() + kHeaderSize, init.end())});
    messages.push_back(Message{MessageType::ReaderAdd, 0, Bytes{'r', 'e', 'a', 'd', 'e', 'r'}});
    messages.push_back(
        Message{MessageType::Atr, 0, test::fromHex("3B7A18000073667465206364313434")});
    for (std::size_t size : {2u, 13u, 261u, 262u, 1500u, 4096u, 65538u, 65544u}) {
        Bytes payload(size);
        for (std::size_t i = 0; i < size; ++i)
            payload[i] = static_cast<std::uint8_t>(i * 7 + size);
        messages.push_back(Message{MessageType::Apdu, 0, std::move(payload)});
    }
    messages.push_back(Message{MessageType::CardRemove, 0, {}});
    messages.push_back(Message{MessageType::ReaderRemove, 0, {}});
    return messages;
}

class Receiver {
public:
    explicit Receiver(QIODevice* device) : device_(device)
    {
        QObject::connect(device, &QIODevice::readyRead, [this] { readAvailable(); });
    }

    std::vector<Message> messages;
    QString error;
    int reads = 0;

private:
    void readAvailable()
    {
        const QByteArray chunk = device_->readAll();
        ++reads;
        decoder_.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                               static_cast<std::size_t>(chunk.size())));
        while (auto next = decoder_.next()) {
            if (!*next) {
                error = QString::fromStdString(next->error().message);
                return;
            }
            messages.push_back(std::move(next->value()));
        }
    }

    QIODevice* device_;
    MessageDecoder decoder_;
};

void sendAll(QIODevice& device, const std::vector<Message>& messages)
{
    for (const auto& message : messages) {
        const Bytes wire = encodeMessage(message.type, message.readerId, message.payload);
        QCOMPARE(device.write(reinterpret_cast<const char*>(wire.data()),
                              static_cast<qint64>(wire.size())),
                 static_cast<qint64>(wire.size()));
    }
}

} // namespace

class TestVscardStream : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tcpLoopback_everySize_decodedIntactInOrder();
    void unixSocket_everySize_decodedIntactInOrder();

private:
    void sendAndExpectIntact(QIODevice& sender, QIODevice& receiving);
};

void TestVscardStream::sendAndExpectIntact(QIODevice& sender, QIODevice& receiving)
{
    Receiver receiver(&receiving);
    const auto traffic = sampleTraffic();
    sendAll(sender, traffic);
    // The timeout only guards against a hang; the assertions are on what arrived.
    QTRY_COMPARE_WITH_TIMEOUT(receiver.messages.size() + !receiver.error.isEmpty(), traffic.size(),
                              30000);
    QVERIFY2(receiver.error.isEmpty(), qPrintable(receiver.error));
    QCOMPARE(receiver.messages.size(), traffic.size());
    for (std::size_t i = 0; i < traffic.size(); ++i)
        QVERIFY2(receiver.messages[i] == traffic[i], qPrintable(QString("message %1").arg(i)));
    qInfo("%zu messages arrived in %d reads", traffic.size(), receiver.reads);
}

void TestVscardStream::tcpLoopback_everySize_decodedIntactInOrder()
{
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QTcpSocket client;
    client.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QVERIFY(server.waitForNewConnection(5000));
    std::unique_ptr<QTcpSocket> accepted(server.nextPendingConnection());
    QVERIFY(client.waitForConnected(5000));
    sendAndExpectIntact(client, *accepted);
}

void TestVscardStream::unixSocket_everySize_decodedIntactInOrder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QLocalServer server;
    QVERIFY(server.listen(dir.filePath("vscard.sock")));
    QLocalSocket client;
    client.connectToServer(server.fullServerName());
    QVERIFY(server.waitForNewConnection(5000));
    std::unique_ptr<QLocalSocket> accepted(server.nextPendingConnection());
    QVERIFY(client.waitForConnected(5000));
    sendAndExpectIntact(client, *accepted);
}

QTEST_GUILESS_MAIN(TestVscardStream)
#include "tst_vscard_stream.moc"
