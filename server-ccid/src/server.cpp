#include "server.h"

#include "audit_trail.h"
#include "client_session.h"
#include "display_text.h"
#include "emulated_card.h"
#include "hardware_mirror.h"
#include "logging.h"
#include "pcsc_link.h"
#include "serial_link.h"
#include "stream_listener.h"
#include "usbip_export.h"
#include "vscard/ccid/link_wire.h"

#include <QFile>
#include <QLocalSocket>

#include <algorithm>
#include <cstdio>
#include <functional>

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

void Server::setInheritedSockets(QList<service::InheritedSocket> sockets)
{
    inherited_ = std::move(sockets);
}

Result<policy::AccessPolicy, QString> loadPolicy(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(QStringLiteral("--policy %1: %2").arg(path, file.errorString()));
    auto parsed = policy::AccessPolicy::parse(file.readAll().toStdString());
    if (!parsed)
        return fail(QStringLiteral("--policy %1:%2: %3")
                        .arg(path)
                        .arg(parsed.error().line)
                        .arg(QString::fromStdString(parsed.error().message)));
    return *parsed;
}

QString Server::start()
{
    if (options_.policyFile) {
        auto loaded = loadPolicy(*options_.policyFile);
        if (!loaded)
            return loaded.error();
        policy_ = std::move(*loaded);
        qCInfo(lcServer).noquote() << "clients admitted by the policy" << *options_.policyFile
                                   << "(" << policy_->rules().size() << "rules)";
    }
    if (options_.pcap) {
        auto capture = ccid::UsbmonCapture::create(options_.pcap->toStdString());
        if (!capture)
            return QStringLiteral("--pcap %1").arg(QString::fromStdString(capture.error()));
        capture_ = std::move(capture).value();
    }
    // Cards first: a card that cannot be made stops the server before it listens.
    if (const QString problem = startEmulatedCards(); !problem.isEmpty())
        return problem;
    for (const Endpoint& endpoint : options_.listen)
        if (const QString problem = addClientListener(endpoint); !problem.isEmpty())
            return problem;
    if (options_.pcscSocket) {
        Endpoint endpoint;
        endpoint.kind = Endpoint::Kind::Unix;
        endpoint.path = *options_.pcscSocket;
        if (const QString problem = addDriverListener(endpoint); !problem.isEmpty())
            return problem;
    }
    for (const Endpoint& endpoint : options_.usbip)
        if (const QString problem = addUsbipListener(endpoint); !problem.isEmpty())
            return QStringLiteral("--usbip %1").arg(problem);
    // Inherited sockets that no option names: their unit's FileDescriptorName says what for.
    while (!inherited_.isEmpty()) {
        const service::InheritedSocket socket = inherited_.first();
        QString problem;
        if (socket.name == QLatin1String("pcsc") && driverListener_)
            return QStringLiteral("%1: a second socket for the pcscd driver (named pcsc)")
                .arg(socket.endpoint.toString());
        if (socket.name == QLatin1String("pcsc"))
            problem = addDriverListener(socket.endpoint, true);
        else if (socket.name == QLatin1String("usbip"))
            problem = addUsbipListener(socket.endpoint, true);
        else
            problem = addClientListener(socket.endpoint, true);
        if (!problem.isEmpty())
            return problem;
    }
    for (const auto& option : options_.serialLinks) {
        auto* link = new SerialLink(option.path, *serialProfile(option.profile), registry_,
                                    capture_.get(), this);
        if (const QString problem = link->start(); !problem.isEmpty())
            return problem;
    }
    return {};
}

namespace {

QString describeListener(const StreamListener& listener)
{
    return listener.boundEndpoint().toString() +
           (listener.adopted() ? QStringLiteral(" (from the service manager)") : QString());
}

} // namespace

Result<StreamListener*, QString> Server::openListener(const Endpoint& endpoint, bool adoptAny)
{
    auto* listener = new StreamListener(endpoint, options_.socketMode, this);
    if (endpoint.kind == Endpoint::Kind::Tls) {
        // Certificates and keys are read once, when the first tls: endpoint opens.
        if (!tls_) {
            auto configuration = tls::serverConfiguration(options_.tls);
            if (!configuration) {
                delete listener;
                return fail(
                    QStringLiteral("%1: %2").arg(endpoint.toString(), configuration.error()));
            }
            tls_ = *configuration;
        }
        listener->setTls(*tls_);
    }
    // An inherited socket is a TCP socket: a tls: endpoint at its address adopts it.
    Endpoint plain = endpoint;
    if (plain.kind == Endpoint::Kind::Tls)
        plain.kind = Endpoint::Kind::Tcp;
    const auto inherited =
        std::find_if(inherited_.begin(), inherited_.end(), [&](const auto& socket) {
            return service::sameEndpoint(socket.endpoint, plain);
        });
    QString problem;
    if (inherited != inherited_.end()) {
        problem = listener->adopt(inherited->fd);
        inherited_.erase(inherited);
    } else if (adoptAny) {
        problem = QStringLiteral("%1: no inherited socket there").arg(endpoint.toString());
    } else {
        problem = listener->listen();
    }
    if (!problem.isEmpty()) {
        delete listener;
        return fail(problem);
    }
    return listener;
}

QString Server::addClientListener(const Endpoint& endpoint, bool adoptAny)
{
    auto listener = openListener(endpoint, adoptAny);
    if (!listener)
        return listener.error();
    connect(*listener, &StreamListener::accepted, this, &Server::acceptClient);
    clientListeners_.append(*listener);
    qCInfo(lcServer).noquote() << "accepting VSCard clients on" << describeListener(**listener);
    if (endpoint.kind == Endpoint::Kind::Tcp && !(*listener)->loopbackOnly())
        qCWarning(lcServer).noquote()
            << (*listener)->boundEndpoint().toString()
            << "is reachable from other machines and carries VSCard in plaintext: anyone who "
               "reaches it can add readers (their address is all --policy can tell them by) "
               "and anyone on the path sees every APDU, PINs included. Prefer tls: with "
               "--tls-client-ca, or a loopback listener behind an SSH tunnel.";
    return {};
}

QString Server::addDriverListener(const Endpoint& endpoint, bool adoptAny)
{
    auto listener = openListener(endpoint, adoptAny);
    if (!listener)
        return listener.error();
    driverListener_ = *listener;
    driverListener_->setTrusted(true); // pcscd may use the descriptors kept in reserve
    connect(driverListener_, &StreamListener::accepted, this, &Server::acceptDriver);
    qCInfo(lcPcsc).noquote() << "serving the pcscd driver on" << describeListener(*driverListener_)
                             << "to" << driverGate_.describeUsers();
    return {};
}

QString Server::addUsbipListener(const Endpoint& endpoint, bool adoptAny)
{
    if (!usbipExport_) {
        ccid::UsbIdentity identity;
        identity.vendorId = options_.usbVendorId;
        identity.productId = options_.usbProductId;
        usbipExport_ = new UsbipExport(registry_, identity, this);
    }
    auto listener = openListener(endpoint, adoptAny);
    if (!listener)
        return listener.error();
    connect(*listener, &StreamListener::accepted, this, &Server::acceptUsbip);
    usbipListeners_.append(*listener);
    qCInfo(lcUsbip).noquote() << "exporting the readers over USB/IP on"
                              << describeListener(**listener);
    if (!(*listener)->loopbackOnly())
        qCWarning(lcUsbip).noquote()
            << (*listener)->boundEndpoint().toString()
            << "is reachable from other machines: USB/IP has no authentication, so anyone who "
               "reaches it can attach the readers (their address is all --policy can tell them "
               "by) and sees every APDU. Prefer a loopback listener behind an SSH tunnel.";
    return {};
}

namespace {

bool listsEndpoint(const QList<Endpoint>& endpoints, const Endpoint& endpoint)
{
    return std::any_of(endpoints.begin(), endpoints.end(), [&](const Endpoint& candidate) {
        return service::sameEndpoint(candidate, endpoint);
    });
}

// Closes the listeners the new configuration leaves out (the connections they accepted live
// on: sessions own their sockets) and opens the ones it adds.
void syncListeners(QList<StreamListener*>& listeners, const QList<Endpoint>& wanted,
                   const char* what, const std::function<QString(const Endpoint&)>& add)
{
    for (StreamListener* listener : QList<StreamListener*>(listeners)) {
        if (listener->adopted() || listsEndpoint(wanted, listener->endpoint()))
            continue;
        qCInfo(lcServer).noquote()
            << "reload: no longer" << what << "on" << listener->boundEndpoint().toString();
        listeners.removeOne(listener);
        delete listener;
    }
    for (const Endpoint& endpoint : wanted) {
        const bool open = std::any_of(listeners.begin(), listeners.end(), [&](auto* listener) {
            return service::sameEndpoint(listener->endpoint(), endpoint);
        });
        if (open)
            continue;
        if (const QString problem = add(endpoint); !problem.isEmpty())
            qCWarning(lcServer).noquote() << "reload:" << problem;
    }
}

QString endpointList(const QList<Endpoint>& endpoints)
{
    QStringList names;
    for (const Endpoint& endpoint : endpoints)
        names << endpoint.toString();
    return names.join(", ");
}

} // namespace

void Server::reload(const ServerOptions& next)
{
    syncListeners(clientListeners_, next.listen, "accepting VSCard clients",
                  [this](const Endpoint& endpoint) { return addClientListener(endpoint); });
    syncListeners(usbipListeners_, next.usbip, "exporting over USB/IP",
                  [this](const Endpoint& endpoint) { return addUsbipListener(endpoint); });
    options_.listen = next.listen;
    options_.usbip = next.usbip;
    options_.trace = next.trace;
    // The policy applies to connections made from now on; a broken file changes nothing.
    if (!next.policyFile) {
        if (policy_)
            qCWarning(lcServer) << "reload: no --policy any more, every client is admitted";
        policy_.reset();
        options_.policyFile.reset();
    } else if (auto loaded = loadPolicy(*next.policyFile); !loaded) {
        qCWarning(lcServer).noquote() << "reload: policy kept as it was:" << loaded.error();
    } else {
        policy_ = std::move(*loaded);
        options_.policyFile = next.policyFile;
        qCInfo(lcServer).noquote() << "reload: clients admitted by the policy" << *next.policyFile
                                   << "(" << policy_->rules().size() << "rules)";
    }
    QStringList waiting;
    const auto differs = [&](bool different, const char* name) {
        if (different)
            waiting << QString::fromLatin1(name);
    };
    differs(next.socketMode != options_.socketMode, "socket-mode");
    differs(next.maxReaders != options_.maxReaders, "max-readers");
    differs(next.pcscSocket != options_.pcscSocket, "pcsc-socket");
    differs(next.pcscName != options_.pcscName, "pcsc-name");
    differs(next.pcscUsers != options_.pcscUsers, "pcsc-user");
    QStringList serialBefore, serialAfter;
    for (const auto& link : options_.serialLinks)
        serialBefore << link.path + ':' + link.profile;
    for (const auto& link : next.serialLinks)
        serialAfter << link.path + ':' + link.profile;
    differs(serialBefore != serialAfter, "serial-link");
    differs(next.usbVendorId != options_.usbVendorId || next.usbProductId != options_.usbProductId,
            "usb-id");
    differs(next.emulatedCards != options_.emulatedCards, "card");
    differs(next.stateDirectory != options_.stateDirectory, "state-dir");
    differs(next.pinTries != options_.pinTries, "pin-tries");
    differs(next.pcap != options_.pcap, "pcap");
    differs(next.audit != options_.audit, "audit");
    differs(next.maxClients != options_.maxClients, "max-clients");
    differs(next.clientConnections != options_.clientConnections, "client-connections");
    const ClientLimits& a = next.clientLimits;
    const ClientLimits& b = options_.clientLimits;
    differs(a.readers != b.readers || a.messageSize != b.messageSize || a.backlog != b.backlog ||
                a.messagesPerSecond != b.messagesPerSecond || a.idleSeconds != b.idleSeconds ||
                a.answerSeconds != b.answerSeconds ||
                a.readerlessGraceSeconds != b.readerlessGraceSeconds,
            "client-*, card-answer-timeout");
    if (!waiting.isEmpty())
        qCWarning(lcServer).noquote()
            << "reload: changed but applied only at the next start:" << waiting.join(", ");
}

QString Server::describe() const
{
    QList<Endpoint> clients = boundEndpoints();
    QString text = QStringLiteral("VSCard clients on %1").arg(endpointList(clients));
    if (driverListener_)
        text += QStringLiteral("; pcscd driver on %1").arg(driverListener_->endpoint().toString());
    if (!usbipListeners_.isEmpty())
        text += QStringLiteral("; USB/IP on %1").arg(endpointList(boundUsbipEndpoints()));
    return text;
}

QString Server::startEmulatedCards()
{
    EmulationSettings emulation;
    if (options_.stateDirectory)
        emulation.stateDirectory = options_.stateDirectory->toStdString();
    emulation.pinTries = options_.pinTries;
    emulation.notice = [](const std::string& text) {
        qCWarning(lcServer).noquote() << QString::fromStdString(text);
    };
    for (const QString& cardOptions : options_.emulatedCards) {
        auto cards = makeEmulatedCards(cardOptions, emulation);
        if (!cards)
            return QStringLiteral("--card emulated:%1: %2").arg(cardOptions, cards.error());
        for (auto& reader : cards->softCards) {
            const auto index = registry_.addReader(reader.name, QStringLiteral("emulation"), 0);
            if (!index)
                return QStringLiteral("--card: more cards than --max-readers");
            reader.card->setAuditPlace(*index, reader.name);
            registry_.insertCard(*index, reader.card, reader.card->atr());
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

void Server::acceptClient(QIODevice* socket, const QString& peer,
                          const policy::PeerIdentity& identity)
{
    ClientAuthorization authorization;
    authorization.identity = QString::fromStdString(identity.describe());
    const QString key = QString::fromStdString(identity.key());
    authorization.key = key;
    if (const auto full = clients_.refusal(key, options_.maxClients, options_.clientConnections)) {
        // A place held without a reader goes to the newcomer; places of readers stay.
        const bool everyPlaceTaken = clients_.open() >= options_.maxClients;
        ClientSession* readerless = longestReaderless(everyPlaceTaken ? nullptr : &key);
        if (!readerless) {
            refuseClient(socket, peer, authorization.identity, *full);
            return;
        }
        readerless->giveUpPlace(peer);
    }
    if (policy_) {
        // Without --tls-client-ca, a TLS client's certificate is checked against the system's
        // CAs, and any public CA could vouch for any name: then cn= and subject= match nobody
        // (sha256= still pins one certificate).
        policy::PeerIdentity checked = identity;
        if (options_.tls.clientCa.isEmpty())
            checked.subject.clear();
        const policy::Decision decision = policy_->decide(checked);
        const QString rule = QStringLiteral("%1:%2").arg(*options_.policyFile).arg(decision.line);
        if (!decision.allowed) {
            refuseClient(socket, peer, authorization.identity,
                         decision.line ? QStringLiteral("denied by the policy rule at %1").arg(rule)
                                       : QStringLiteral("no rule of the policy %1 admits it")
                                             .arg(*options_.policyFile));
            return;
        }
        authorization.rule = rule;
        authorization.grant = decision.grant;
        const QString quotaKey = rule + QLatin1Char(' ') + QString::fromStdString(identity.key());
        auto readers = ruleReaders_.value(quotaKey).lock();
        if (!readers) {
            readers = std::make_shared<int>(0);
            ruleReaders_.removeIf([](const auto& entry) { return entry.value().expired(); });
            ruleReaders_.insert(quotaKey, readers);
        }
        authorization.ruleReaders = readers;
    }
    auto* session = new ClientSession(socket, peer, std::move(authorization), registry_,
                                      options_.clientLimits, this);
    clients_.hold(key, session, this);
    onSocketClosed(socket, session, [session] { session->onDisconnected(); });
    connect(session, &ClientSession::finished, session, &QObject::deleteLater);
}

ClientSession* Server::longestReaderless(const QString* key) const
{
    const int grace = options_.clientLimits.readerlessGraceSeconds;
    if (grace <= 0)
        return nullptr;
    const auto now = std::chrono::steady_clock::now();
    ClientSession* longest = nullptr;
    std::chrono::milliseconds longestFor{};
    for (ClientSession* session : findChildren<ClientSession*>(Qt::FindDirectChildrenOnly)) {
        if (key && session->identityKey() != *key)
            continue;
        const auto readerless = session->readerlessFor(now);
        if (readerless && *readerless > std::chrono::seconds(grace) &&
            (!longest || *readerless > longestFor)) {
            longest = session;
            longestFor = *readerless;
        }
    }
    return longest;
}

void Server::refuseClient(QIODevice* socket, const QString& peer, const QString& identity,
                          const QString& reason)
{
    qCWarning(lcServer).noquote() << "client" << peer << "(" + identity + ")"
                                  << "refused:" << reason;
    qCInfo(lcAudit).noquote() << QStringLiteral("refuse %1 %2: %3").arg(peer, identity, reason);
    abortSocket(socket);
    socket->deleteLater();
}

void Server::acceptUsbip(QIODevice* socket, const QString& peer,
                         const policy::PeerIdentity& identity)
{
    // USB/IP has no authentication: the address is all a peer is, and all a rule can see.
    const QString key = QString::fromStdString(identity.key());
    if (const auto full = importers_.refusal(key, options_.usbipMaxConnections,
                                             options_.usbipAddressConnections)) {
        refuseUsbip(socket, peer, *full);
        return;
    }
    if (policy_) {
        const policy::Decision decision = policy_->decide(identity);
        if (!decision.allowed) {
            refuseUsbip(socket, peer,
                        decision.line ? QStringLiteral("denied by the policy rule at %1:%2")
                                            .arg(*options_.policyFile)
                                            .arg(decision.line)
                                      : QStringLiteral("no rule of the policy %1 admits it")
                                            .arg(*options_.policyFile));
            return;
        }
    }
    importers_.hold(key, usbipExport_->accept(socket, peer), this);
}

void Server::refuseUsbip(QIODevice* socket, const QString& peer, const QString& reason)
{
    qCWarning(lcUsbip).noquote() << "USB/IP connection" << peer << "refused:" << reason;
    qCInfo(lcAudit).noquote() << QStringLiteral("refuse %1 (USB/IP): %2").arg(peer, reason);
    abortSocket(socket);
    socket->deleteLater();
}

void Server::acceptDriver(QIODevice* socket, const QString& peer,
                          const policy::PeerIdentity& identity)
{
    auto* link = new PcscLinkConnection(socket, peer, identity, driverGate_, registry_,
                                        capture_.get(), this);
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
                // The server escapes what clients named; escaping again here keeps the
                // terminal safe from a server that does not.
                const Bytes& payload = (*frame)->payload;
                const QString text = QString::fromUtf8(
                    reinterpret_cast<const char*>(payload.data()), qsizetype(payload.size()));
                for (const QString& line : text.split(QLatin1Char('\n')))
                    std::printf("%s\n", escapeControls(line).toUtf8().constData());
                return 0;
            }
        }
    }
    std::fprintf(stderr, "server-ccid: the server on %s did not answer\n", qPrintable(pcscSocket));
    return 1;
}

} // namespace vscard::server
