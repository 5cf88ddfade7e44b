#include "server.h"

#include "client_session.h"
#include "emulated_card.h"
#include "hardware_mirror.h"
#include "logging.h"
#include "pcsc_link.h"
#include "serial_link.h"
#include "stream_listener.h"
#include "usbip_export.h"
#include "vscard/ccid/link_wire.h"

#include <QLocalSocket>

#include <cstdio>

namespace vscard::server {

Server::Server(ServerOptions options, QObject* parent)
    : QObject(parent), options_(std::move(options)),
      registry_(options_.maxReaders, options_.pcscName)
{
}

Server::~Server()
{
    // Sessions and links refer to the registry, a member: they go first.
    qDeleteAll(findChildren<ClientSession*>(Qt::FindDirectChildrenOnly));
    qDeleteAll(findChildren<PcscLinkConnection*>(Qt::FindDirectChildrenOnly));
    qDeleteAll(findChildren<HardwareMirror*>(Qt::FindDirectChildrenOnly));
    delete usbipExport_;
}

QString Server::start()
{
    if (options_.pcap) {
        auto capture = ccid::UsbmonCapture::create(options_.pcap->toStdString());
        if (!capture)
            return QStringLiteral("--pcap %1").arg(QString::fromStdString(capture.error()));
        capture_ = std::move(capture).value();
    }
    // Cards first: a card that cannot be made stops the server before it listens.
    if (const QString problem = startEmulatedCards(); !problem.isEmpty())
        return problem;
    for (const Endpoint& endpoint : options_.listen) {
        auto* listener = new StreamListener(endpoint, options_.socketMode, this);
        if (const QString problem = listener->listen(); !problem.isEmpty())
            return problem;
        connect(listener, &StreamListener::accepted, this, &Server::acceptClient);
        clientListeners_.append(listener);
        qCInfo(lcServer).noquote()
            << "accepting VSCard clients on" << listener->boundEndpoint().toString();
    }
    if (options_.pcscSocket) {
        Endpoint endpoint;
        endpoint.kind = Endpoint::Kind::Unix;
        endpoint.path = *options_.pcscSocket;
        driverListener_ = new StreamListener(endpoint, options_.socketMode, this);
        if (const QString problem = driverListener_->listen(); !problem.isEmpty())
            return problem;
        connect(driverListener_, &StreamListener::accepted, this, &Server::acceptDriver);
        qCInfo(lcPcsc).noquote() << "serving the pcscd driver on" << endpoint.path;
    }
    if (!options_.usbip.isEmpty()) {
        ccid::UsbIdentity identity;
        identity.vendorId = options_.usbVendorId;
        identity.productId = options_.usbProductId;
        usbipExport_ = new UsbipExport(registry_, identity, this);
    }
    for (const Endpoint& endpoint : options_.usbip) {
        auto* listener = new StreamListener(endpoint, options_.socketMode, this);
        if (const QString problem = listener->listen(); !problem.isEmpty())
            return QStringLiteral("--usbip %1").arg(problem);
        connect(listener, &StreamListener::accepted, usbipExport_, &UsbipExport::accept);
        usbipListeners_.append(listener);
        qCInfo(lcUsbip).noquote() << "exporting the readers over USB/IP on"
                                  << listener->boundEndpoint().toString();
    }
    for (const auto& option : options_.serialLinks) {
        auto* link = new SerialLink(option.path, *serialProfile(option.profile), registry_,
                                    capture_.get(), this);
        if (const QString problem = link->start(); !problem.isEmpty())
            return problem;
    }
    return {};
}

QString Server::startEmulatedCards()
{
    EmulationSettings emulation;
    if (options_.stateDirectory)
        emulation.stateDirectory = options_.stateDirectory->toStdString();
    emulation.pinTries = options_.pinTries;
    for (const QString& cardOptions : options_.emulatedCards) {
        auto cards = makeEmulatedCards(cardOptions, emulation);
        if (!cards)
            return QStringLiteral("--card emulated:%1: %2").arg(cardOptions, cards.error());
        for (auto& reader : cards->softCards) {
            const auto index = registry_.addReader(reader.name, QStringLiteral("emulation"), 0);
            if (!index)
                return QStringLiteral("--card: more cards than --max-readers");
            registry_.insertCard(*index, reader.card, cacard::CacCard::atr());
        }
        if (cards->hardwareUse != cacard::HardwareUse::No) {
            auto* mirror = new HardwareMirror(cards->database, cards->hardwareUse,
                                              options_.pcscName, emulation, registry_, this);
            mirror->start();
        }
    }
    return {};
}

QList<Endpoint> Server::boundEndpoints() const
{
    QList<Endpoint> endpoints;
    for (const StreamListener* listener : clientListeners_)
        endpoints.append(listener->boundEndpoint());
    return endpoints;
}

QList<Endpoint> Server::boundUsbipEndpoints() const
{
    QList<Endpoint> endpoints;
    for (const StreamListener* listener : usbipListeners_)
        endpoints.append(listener->boundEndpoint());
    return endpoints;
}

void Server::acceptClient(QIODevice* socket, const QString& peer)
{
    auto* session = new ClientSession(socket, peer, registry_, SessionLimits{}, this);
    onSocketClosed(socket, session, [session] { session->onDisconnected(); });
    connect(session, &ClientSession::finished, session, &QObject::deleteLater);
}

void Server::acceptDriver(QIODevice* socket, const QString& peer)
{
    auto* link = new PcscLinkConnection(socket, peer, registry_, capture_.get(), this);
    onSocketClosed(socket, link, [link] { link->onDisconnected(); });
    connect(link, &PcscLinkConnection::finished, link, &QObject::deleteLater);
}

int printReaderList(const QString& pcscSocket)
{
    QLocalSocket socket;
    socket.connectToServer(pcscSocket);
    if (!socket.waitForConnected(3000)) {
        std::fprintf(stderr, "server-ccid: no server on %s: %s\n", qPrintable(pcscSocket),
                     qPrintable(socket.errorString()));
        return 1;
    }
    const Bytes request = link::encodeFrame(link::FrameKind::ListRequest, {});
    socket.write(reinterpret_cast<const char*>(request.data()),
                 static_cast<qint64>(request.size()));
    link::FrameDecoder decoder;
    while (socket.waitForReadyRead(3000)) {
        const QByteArray chunk = socket.readAll();
        decoder.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                              static_cast<std::size_t>(chunk.size())));
        while (auto frame = decoder.next()) {
            if (!*frame)
                break;
            if ((*frame)->kind == link::FrameKind::ListReply) {
                const Bytes& text = (*frame)->payload;
                std::fwrite(text.data(), 1, text.size(), stdout);
                std::fputc('\n', stdout);
                return 0;
            }
        }
    }
    std::fprintf(stderr, "server-ccid: the server on %s did not answer\n", qPrintable(pcscSocket));
    return 1;
}

} // namespace vscard::server
