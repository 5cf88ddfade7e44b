#include "usbip_importer.h"

#include "vscard/ccid/ccid_wire.h"

#include <QElapsedTimer>
#include <QHostAddress>

namespace vscard::test {

bool UsbipImporter::connectTo(quint16 port)
{
    socket_.connectToHost(QHostAddress::LocalHost, port);
    return socket_.waitForConnected(5000);
}

void UsbipImporter::writeRaw(const Bytes& bytes)
{
    socket_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<qint64>(bytes.size()));
    socket_.flush();
}

// Reads what arrived within timeoutMs and sorts the decoded replies; false on a closed or
// broken connection.
bool UsbipImporter::pump(int timeoutMs)
{
    if (failed_)
        return false;
    if (socket_.bytesAvailable() == 0 && !socket_.waitForReadyRead(timeoutMs))
        return socket_.state() == QAbstractSocket::ConnectedState;
    const QByteArray chunk = socket_.readAll();
    decoder_.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                           static_cast<std::size_t>(chunk.size())));
    while (auto next = decoder_.next()) {
        if (!*next) {
            failed_ = true;
            return false;
        }
        auto& item = **next;
        if (auto* submit = std::get_if<usbip::SubmitReply>(&item))
            submitReplies_[submit->seqnum] = *submit;
        else if (auto* unlink = std::get_if<usbip::UnlinkReply>(&item))
            unlinkReplies_[unlink->seqnum] = *unlink;
        else
            operationReply_ = item;
    }
    return true;
}

std::optional<std::vector<usbip::Device>> UsbipImporter::deviceList()
{
    decoder_.expectDevlist();
    writeRaw(usbip::encodeDevlistRequest());
    QElapsedTimer timer;
    timer.start();
    while (!operationReply_ && timer.elapsed() < 10000 && pump(200)) {
    }
    if (!operationReply_)
        return std::nullopt;
    auto* reply = std::get_if<usbip::DevlistReply>(&*operationReply_);
    return reply ? std::optional(reply->devices) : std::nullopt;
}

std::optional<usbip::Device> UsbipImporter::import(const std::string& busId)
{
    decoder_.expectImport();
    writeRaw(usbip::encodeImportRequest(busId));
    QElapsedTimer timer;
    timer.start();
    while (!operationReply_ && timer.elapsed() < 10000 && pump(200)) {
    }
    if (!operationReply_)
        return std::nullopt;
    auto* reply = std::get_if<usbip::ImportReply>(&*operationReply_);
    return reply ? reply->device : std::nullopt;
}

std::uint32_t UsbipImporter::submit(usbip::Submit urb)
{
    urb.seqnum = nextSeqnum_++;
    urb.devid = 0x00010001;
    if (urb.direction == usbip::kDirOut)
        urb.transferLength = static_cast<std::uint32_t>(urb.data.size());
    decoder_.submitted(urb.seqnum, urb.direction);
    writeRaw(usbip::encodeSubmit(urb));
    return urb.seqnum;
}

std::uint32_t UsbipImporter::submitIn(std::uint8_t endpoint, std::uint32_t length)
{
    usbip::Submit urb;
    urb.direction = usbip::kDirIn;
    urb.endpoint = endpoint & 0x0F;
    urb.transferLength = length;
    return submit(urb);
}

std::uint32_t UsbipImporter::submitOut(std::uint8_t endpoint, const Bytes& data)
{
    usbip::Submit urb;
    urb.direction = usbip::kDirOut;
    urb.endpoint = endpoint & 0x0F;
    urb.data = data;
    return submit(urb);
}

std::uint32_t UsbipImporter::submitControl(std::uint8_t requestType, std::uint8_t request,
                                           std::uint16_t value, std::uint16_t index,
                                           std::uint16_t length, const Bytes& data)
{
    usbip::Submit urb;
    urb.direction = (requestType & 0x80) ? usbip::kDirIn : usbip::kDirOut;
    urb.endpoint = 0;
    urb.transferLength = length;
    urb.data = data;
    urb.setup = usbip::setupPacket(requestType, request, value, index, length);
    return submit(urb);
}

std::uint32_t UsbipImporter::unlink(std::uint32_t seqnum)
{
    usbip::Unlink request;
    request.seqnum = nextSeqnum_++;
    request.devid = 0x00010001;
    request.unlinkSeqnum = seqnum;
    writeRaw(usbip::encodeUnlink(request));
    return request.seqnum;
}

std::optional<usbip::SubmitReply> UsbipImporter::reply(std::uint32_t seqnum, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    for (;;) {
        if (const auto it = submitReplies_.find(seqnum); it != submitReplies_.end()) {
            auto reply = it->second;
            submitReplies_.erase(it);
            return reply;
        }
        const auto left = timeoutMs - timer.elapsed();
        if (left <= 0 || !pump(static_cast<int>(std::min<qint64>(left, 200))))
            return std::nullopt;
    }
}

std::optional<usbip::UnlinkReply> UsbipImporter::unlinkReply(std::uint32_t seqnum, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    for (;;) {
        if (const auto it = unlinkReplies_.find(seqnum); it != unlinkReplies_.end())
            return it->second;
        const auto left = timeoutMs - timer.elapsed();
        if (left <= 0 || !pump(static_cast<int>(std::min<qint64>(left, 200))))
            return std::nullopt;
    }
}

std::optional<Bytes> UsbipImporter::control(std::uint8_t requestType, std::uint8_t request,
                                            std::uint16_t value, std::uint16_t index,
                                            std::uint16_t length, const Bytes& data)
{
    const auto answer = reply(submitControl(requestType, request, value, index, length, data));
    if (!answer || answer->status != 0)
        return std::nullopt;
    return answer->data;
}

std::optional<Bytes> UsbipImporter::ccid(const Bytes& command, std::uint32_t urbLength)
{
    const auto sent = reply(submitOut(0x02, command));
    if (!sent || sent->status != 0)
        return std::nullopt;
    Bytes message;
    while (message.size() < ccid::kHeaderSize ||
           message.size() < ccid::kHeaderSize + ccid::announcedLength(message)) {
        const auto part = reply(submitIn(0x82, urbLength));
        if (!part || part->status != 0)
            return std::nullopt;
        message.insert(message.end(), part->data.begin(), part->data.end());
        // A time extension is not the answer: wait for the next message.
        if (message.size() >= ccid::kHeaderSize &&
            message.size() == ccid::kHeaderSize + ccid::announcedLength(message) &&
            ccid::commandStatusOf(message[7]) == ccid::CommandStatus::TimeExtension)
            message.clear();
    }
    return message;
}

bool UsbipImporter::waitForClose(int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs) {
        if (socket_.state() != QAbstractSocket::ConnectedState)
            return true;
        socket_.waitForDisconnected(200);
        if (socket_.bytesAvailable() > 0)
            pump(0);
    }
    return socket_.state() != QAbstractSocket::ConnectedState;
}

} // namespace vscard::test
