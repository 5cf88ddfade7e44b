// A USB/IP importer for tests: what Linux's vhci-hcd does on the wire, driven step by step.
// One instance is one TCP connection, as in USB/IP: a device list or an import, then URBs.
#pragma once

#include "vscard/ccid/usbip_wire.h"

#include <QTcpSocket>

#include <map>
#include <optional>
#include <vector>

namespace vscard::test {

class UsbipImporter {
public:
    bool connectTo(quint16 port);
    std::optional<std::vector<usbip::Device>> deviceList();
    // The device, or nullopt if the server refused (or said nothing).
    std::optional<usbip::Device> import(const std::string& busId);

    // Submits an URB with the next sequence number and returns that number.
    std::uint32_t submit(usbip::Submit urb);
    std::uint32_t submitIn(std::uint8_t endpoint, std::uint32_t length);
    std::uint32_t submitOut(std::uint8_t endpoint, const Bytes& data);
    std::uint32_t submitControl(std::uint8_t requestType, std::uint8_t request, std::uint16_t value,
                                std::uint16_t index, std::uint16_t length, const Bytes& data = {});
    std::uint32_t unlink(std::uint32_t seqnum);

    // The reply to one URB (or unlink), waiting up to timeoutMs for it.
    std::optional<usbip::SubmitReply> reply(std::uint32_t seqnum, int timeoutMs = 10000);
    std::optional<usbip::UnlinkReply> unlinkReply(std::uint32_t seqnum, int timeoutMs = 10000);

    // A control transfer: the data of an IN request, or nullopt when it stalled.
    std::optional<Bytes> control(std::uint8_t requestType, std::uint8_t request,
                                 std::uint16_t value, std::uint16_t index, std::uint16_t length,
                                 const Bytes& data = {});
    // One CCID command out on bulk-out and its whole reply read from bulk-in in URBs of
    // `urbLength` bytes, as libccid does with 65556.
    std::optional<Bytes> ccid(const Bytes& command, std::uint32_t urbLength = 65556);

    // True once the server has closed the connection (within timeoutMs).
    bool waitForClose(int timeoutMs = 10000);
    bool isOpen() const { return socket_.state() == QAbstractSocket::ConnectedState; }
    void close() { socket_.abort(); }
    void writeRaw(const Bytes& bytes);

private:
    bool pump(int timeoutMs);

    QTcpSocket socket_;
    usbip::ClientDecoder decoder_;
    std::uint32_t nextSeqnum_ = 1;
    std::map<std::uint32_t, usbip::SubmitReply> submitReplies_;
    std::map<std::uint32_t, usbip::UnlinkReply> unlinkReplies_;
    std::optional<usbip::ClientDecoder::Item> operationReply_;
    bool failed_ = false;
};

} // namespace vscard::test
