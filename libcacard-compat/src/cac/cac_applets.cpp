#include "cac_applets.h"

#include "cac_tables.h"

#include <algorithm>
#include <cctype>

namespace vscard::cacard {

namespace {

Bytes hex(const char* text)
{
    Bytes out;
    int high = -1;
    for (const char* c = text; *c; ++c) {
        if (!std::isxdigit(static_cast<unsigned char>(*c)))
            continue;
        const int nibble = std::isdigit(static_cast<unsigned char>(*c))
                               ? *c - '0'
                               : std::toupper(static_cast<unsigned char>(*c)) - 'A' + 10;
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<std::uint8_t>((high << 4) | nibble));
            high = -1;
        }
    }
    return out;
}

Bytes concat(std::initializer_list<ByteView> parts)
{
    Bytes out;
    for (ByteView part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

Bytes status(std::uint16_t sw)
{
    return {static_cast<std::uint8_t>(sw >> 8), static_cast<std::uint8_t>(sw)};
}

const Bytes kRid = {0xA0, 0x00, 0x00, 0x00, 0x79};
const Bytes kRidGsa = {0xA0, 0x00, 0x00, 0x01, 0x16};
// Applet information: family 10, version 02 06 02 03 (the ACA says 02 06 02 02).
const Bytes kAppletInformation = {0x10, 0x02, 0x06, 0x02, 0x03};
const Bytes kAcaInformation = {0x10, 0x02, 0x06, 0x02, 0x02};
const Bytes kAcaHeader = {0x01, 0x05, 0x10, 0x02, 0x06, 0x02, 0x02};
// Appended by GET PROPERTIES P1=40 in the PKI applets and the CCC: 39 01 00, 3A = the ACA AID.
const std::vector<TlvMember> kLongTail = {{0x39, {0x00}},
                                          {0x3A, {0xA0, 0x00, 0x00, 0x00, 0x79, 0x03, 0x00}}};

Bytes aid(const Bytes& rid, std::uint8_t b5, std::uint8_t b6)
{
    return concat({rid, Bytes{b5, b6}});
}

void appendLe16(Bytes& out, std::size_t value)
{
    out.push_back(static_cast<std::uint8_t>(value));
    out.push_back(static_cast<std::uint8_t>(value >> 8));
}

// A buffer file: 2-byte little-endian length, then the content.
Bytes file(const Bytes& content)
{
    Bytes out;
    appendLe16(out, content.size());
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

// Tag file and value file of a list of SimpleTLV members.
std::pair<Bytes, Bytes> splitFiles(const std::vector<TlvMember>& members)
{
    Bytes tags;
    Bytes values;
    for (const auto& member : members) {
        tags.push_back(member.tag);
        appendSimpleTlvLength(tags, member.value.size());
        values.insert(values.end(), member.value.begin(), member.value.end());
    }
    return {file(tags), file(values)};
}

// Tag 42, buffer properties: type (00 SimpleTLV, 01 other) and the two files' lengths.
Bytes bufferProperties(std::uint8_t type, std::size_t tagFileSize, std::size_t valueFileSize)
{
    Bytes out{type};
    appendLe16(out, tagFileSize);
    appendLe16(out, valueFileSize);
    return out;
}

// An object of an empty or passthrough applet: tag 50 with its COID and 0x60-byte buffers.
TlvMember advertisedObject(std::uint16_t coid, std::uint8_t bufferType)
{
    const std::vector<TlvMember> members = {
        {0x41, {static_cast<std::uint8_t>(coid >> 8), static_cast<std::uint8_t>(coid)}},
        {0x42, bufferProperties(bufferType, 0x60, 0x60)},
        {0x26, {0x01}}};
    return {0x50, encodeSimpleTlv(members)};
}

std::vector<TlvMember> withCount(std::size_t count, std::vector<TlvMember> objects)
{
    std::vector<TlvMember> members = {{0x01, kAppletInformation},
                                      {0x40, {static_cast<std::uint8_t>(count)}}};
    members.insert(members.end(), objects.begin(), objects.end());
    return members;
}

ContainerApplet::Config emptyApplet(Bytes aidBytes, std::vector<std::uint16_t> coids,
                                    std::uint8_t bufferType = 0x01)
{
    std::vector<TlvMember> objects;
    for (std::uint16_t coid : coids)
        objects.push_back(advertisedObject(coid, bufferType));
    ContainerApplet::Config config;
    config.aid = std::move(aidBytes);
    config.properties = withCount(coids.size(), objects);
    config.objectIds = std::move(coids);
    return config;
}

// The CCC: card identifier, card URLs of every container, version fields.
ContainerApplet::Config cccApplet(std::size_t certificateCount, const Bytes& cardId)
{
    struct Url {
        const Bytes* rid;
        std::uint8_t type; // 01 generic container, 04 PKI
        std::uint16_t objectId;
        std::uint16_t applicationId;
    };
    std::vector<Url> urls = {{&kRid, 0x01, 0x02FB, 0x02FB},    {&kRid, 0x01, 0x02FE, 0x02FE},
                             {&kRid, 0x01, 0x02FD, 0x02FD},    {&kRid, 0x01, 0x0200, 0x0200},
                             {&kRid, 0x01, 0x0201, 0x0201},    {&kRidGsa, 0x01, 0x3000, 0x3000},
                             {&kRidGsa, 0x01, 0x6010, 0x3000}, {&kRidGsa, 0x01, 0x6030, 0x3000},
                             {&kRidGsa, 0x01, 0x9000, 0x3000}, {&kRid, 0x01, 0x1201, 0x1201},
                             {&kRid, 0x01, 0x1202, 0x1202}};
    for (std::size_t i = 0; i < certificateCount; ++i)
        urls.push_back({&kRid, 0x04, static_cast<std::uint16_t>(0x0100 + i),
                        static_cast<std::uint16_t>(0x0100 + i)});

    std::vector<TlvMember> members;
    members.push_back({0xF0, concat({kRid, Bytes{0x03, 0x02}, cardId})}); // card identifier
    members.push_back({0xF1, {0x21}});                                    // capability version
    members.push_back({0xF2, {0x21}});                                    // grammar version
    for (const Url& url : urls) {
        Bytes value = *url.rid;
        value.push_back(url.type);
        value.push_back(static_cast<std::uint8_t>(url.objectId >> 8));
        value.push_back(static_cast<std::uint8_t>(url.objectId));
        value.push_back(static_cast<std::uint8_t>(url.applicationId >> 8));
        value.push_back(static_cast<std::uint8_t>(url.applicationId));
        value.resize(16, 0x00);
        members.push_back({0xF3, value});
    }
    members.push_back({0xF4, {0x00}}); // PKCS#15
    members.push_back({0xF5, {0x10}}); // data model
    Bytes accessControl{0x07, 0xA0, 0x00, 0x00, 0x00, 0x79, 0x03, 0x00};
    accessControl.resize(17, 0x00);
    members.push_back({0xF6, accessControl});
    // Empty trailing entries: OpenSC stops reading the CCC where the values end, after F6.
    for (std::uint8_t tag : {0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE})
        members.push_back({tag, {}});
    auto [tagFile, valueFile] = splitFiles(members);

    // libcacard's CCC object advertises two members only (its third is cut off).
    const std::vector<TlvMember> object = {
        {0x41, {0xDB, 0x00}}, {0x42, bufferProperties(0x00, tagFile.size(), valueFile.size())}};
    ContainerApplet::Config config;
    config.aid = aid(kRidGsa, 0xDB, 0x00);
    config.properties = withCount(1, {{0x50, encodeSimpleTlv(object)}});
    config.longProperties = kLongTail;
    config.objectIds = {0xDB00};
    config.tagFile = std::move(tagFile);
    config.valueFile = std::move(valueFile);
    return config;
}

ContainerApplet::Config acaConfig()
{
    ContainerApplet::Config config;
    config.aid = aid(kRid, 0x03, 0x00);
    config.properties = {{0x01, kAcaInformation}};
    config.longPropertiesEncoded = hex(tables::kAcaLongProperties);
    config.objectIds = {0x0300};
    config.readable = false;
    config.updateBufferStatus = 0x6D00;
    return config;
}

ContainerApplet::Config pkiConfig(std::size_t index, const Bytes& certificate, std::size_t keyBits)
{
    // The certificate object: certinfo 00 (not compressed), the DER, empty MSCUID and EDC.
    const std::vector<TlvMember> members = {
        {0x71, {0x00}}, {0x70, certificate}, {0x72, {}}, {0xFE, {}}};
    auto [tagFile, valueFile] = splitFiles(members);
    const auto coid = static_cast<std::uint16_t>(0x0100 + index);
    const std::vector<TlvMember> object = {
        {0x41, {0x01, static_cast<std::uint8_t>(index)}},
        {0x42, bufferProperties(0x00, tagFile.size(), valueFile.size())},
        // RSA, modulus in units of 64 bits, private and public key present.
        {0x43, {0x06, static_cast<std::uint8_t>(keyBits > 0 ? keyBits / 64 : 0x10), 0x01, 0x01}},
        {0x26, {0x01}}};
    ContainerApplet::Config config;
    config.aid = aid(kRid, 0x01, static_cast<std::uint8_t>(index));
    config.properties = withCount(1, {{0x51, encodeSimpleTlv(object)}});
    config.longProperties = kLongTail;
    config.objectIds = {coid};
    config.updateBufferStatus = 0x6985;
    config.tagFile = std::move(tagFile);
    config.valueFile = std::move(valueFile);
    return config;
}

// GlobalPlatform's Card Production Life Cycle data, with 6 bytes of the card's serial.
Bytes cplc(const Bytes& serial)
{
    Bytes data = hex("9F 7F 2A 00 05 00 45 D0 01 40 21 01 01 07 4F 00 00 00 00 00 00 47 92 72 05 "
                     "16 73 72 05 16 74 72 05 00 00 0A 40 00 00 00 00 00 09 29 BB");
    std::copy_n(serial.begin(), std::min<std::size_t>(6, serial.size()), data.begin() + 15);
    return data;
}

// GET ACR's applet and service tables. Applet ids: 61.. for the PKI applets, then fixed ones.
struct ServiceEntry {
    std::uint8_t id;
    Bytes aid;
};

std::vector<ServiceEntry> serviceTable(std::size_t certificateCount)
{
    std::vector<ServiceEntry> entries;
    for (std::size_t i = 0; i < certificateCount; ++i)
        entries.push_back(
            {static_cast<std::uint8_t>(0x61 + i), aid(kRid, 0x01, static_cast<std::uint8_t>(i))});
    const std::pair<std::uint8_t, Bytes> fixed[] = {
        {0x40, aid(kRidGsa, 0x30, 0x00)}, {0x4F, aid(kRidGsa, 0xDB, 0x00)},
        {0x4B, aid(kRid, 0x02, 0xFB)},    {0x41, aid(kRid, 0x02, 0x00)},
        {0x42, aid(kRid, 0x02, 0x01)},    {0x4E, aid(kRid, 0x02, 0xFE)},
        {0x4D, aid(kRid, 0x02, 0xFD)},    {0x50, aid(kRid, 0x02, 0xF2)},
        {0x51, aid(kRid, 0x02, 0xF0)},    {0x52, aid(kRid, 0x02, 0xF1)},
        {0x44, aid(kRid, 0x12, 0x01)},    {0x45, aid(kRid, 0x12, 0x02)}};
    for (const auto& [id, applet] : fixed)
        entries.push_back({id, applet});
    return entries;
}

Bytes pkiAppletEntry(std::size_t index, bool extended)
{
    const auto id = static_cast<std::uint8_t>(0x61 + index);
    const auto object = static_cast<std::uint8_t>(index);
    if (extended)
        return {0x14, id,   0x02, 0x0B, 0x01, object, 0x58, 0x00, 0x04, 0x52, 0x00,
                0x00, 0x42, 0x00, 0x06, 0x05, 0xFF,   0xFF, 0x20, 0x00, 0x10};
    return {0x80, 0x16, id,   0x02, 0x82, 0x0B, 0x01, object, 0x58, 0x00, 0x04, 0x52,
            0x00, 0x00, 0x42, 0x00, 0x06, 0x82, 0x05, 0xFF,   0xFF, 0x20, 0x00, 0x10};
}

Bytes appletTable(std::size_t certificateCount, bool extended)
{
    Bytes out;
    if (!extended)
        out = concat(
            {kAcaHeader, Bytes{0x81, 0x01, static_cast<std::uint8_t>(13 + certificateCount)}});
    for (std::size_t i = 0; i < certificateCount; ++i) {
        const Bytes entry = pkiAppletEntry(i, extended);
        out.insert(out.end(), entry.begin(), entry.end());
    }
    const Bytes tail = hex(extended ? tables::kAppletTableExtendedTail : tables::kAppletTableTail);
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
}

// The 80-tagged entries of the SimpleTLV applet table: id, then its items.
struct AppletEntry {
    std::uint8_t id;
    Bytes encoded;  // the whole 80 entry
    ByteView items; // after id and object count
};

std::vector<AppletEntry> appletEntries(const Bytes& table)
{
    std::vector<AppletEntry> entries;
    std::size_t offset = kAcaHeader.size() + 3;
    while (offset + 2 <= table.size() && table[offset] == 0x80) {
        const std::size_t length = table[offset + 1];
        if (offset + 2 + length > table.size() || length < 2)
            break;
        const ByteView whole(table.data() + offset, 2 + length);
        entries.push_back({table[offset + 2], Bytes(whole.begin(), whole.end()), whole.subspan(4)});
        offset += 2 + length;
    }
    return entries;
}

} // namespace

Bytes CacApplet::selectResponse() const
{
    Bytes fci{0x6F, static_cast<std::uint8_t>(aid_.size() + 4), 0x84,
              static_cast<std::uint8_t>(aid_.size())};
    fci.insert(fci.end(), aid_.begin(), aid_.end());
    fci.insert(fci.end(), {0xA5, 0x00});
    return fci;
}

ContainerApplet::ContainerApplet(Config config) : CacApplet(config.aid), config_(std::move(config))
{
}

std::optional<Bytes> ContainerApplet::processSpecific(CacCard&, const CommandApdu&)
{
    return std::nullopt;
}

std::optional<Bytes> ContainerApplet::process(CacCard& card, const CommandApdu& command)
{
    if (auto specific = processSpecific(card, command))
        return specific;
    switch (command.ins()) {
    case 0x52: // READ BUFFER
        return config_.readable ? readBuffer(card, command) : status(0x6D00);
    case 0x58: // UPDATE BUFFER
        return status(config_.readable ? config_.updateBufferStatus : 0x6D00);
    case 0x56: // GET PROPERTIES
        return getProperties(card, command);
    case 0xA4: { // SELECT of an object by its COID; SELECT by AID is the card's
        if (command.p1() != 0x02)
            return std::nullopt;
        if (command.nc() != 2)
            return status(0x6984);
        const auto coid = static_cast<std::uint16_t>((command.data()[0] << 8) | command.data()[1]);
        if (std::find(config_.objectIds.begin(), config_.objectIds.end(), coid) ==
            config_.objectIds.end())
            return status(0x6A82);
        return status(0x9000);
    }
    case 0xC0: // GET RESPONSE and VERIFY are the card's
    case 0x20: return std::nullopt;
    default: return status(0x6D00);
    }
}

std::optional<Bytes> PassthroughApplet::processSpecific(CacCard& card, const CommandApdu& command)
{
    if (command.ins() == 0x52 && !read_) {
        read_ = true;
        if (const auto data = card.keys().dataObject(label_)) {
            auto [tagFile, valueFile] = splitFiles(parseSimpleTlv(*data));
            setBufferFiles(std::move(tagFile), std::move(valueFile));
        }
    }
    return std::nullopt;
}

Bytes ContainerApplet::readBuffer(CacCard& card, const CommandApdu& command) const
{
    if (command.nc() != 2 || (command.data()[0] != 0x01 && command.data()[0] != 0x02))
        return status(0x6984);
    const Bytes& buffer = command.data()[0] == 0x01 ? config_.tagFile : config_.valueFile;
    const std::size_t offset = static_cast<std::size_t>((command.p1() << 8) | command.p2());
    if (offset > buffer.size())
        return status(0x6A86);
    const std::size_t size = std::min<std::size_t>(command.data()[1], buffer.size() - offset);
    if (size == 0)
        return status(0x9000);
    return card.respond(Bytes(buffer.begin() + static_cast<std::ptrdiff_t>(offset),
                              buffer.begin() + static_cast<std::ptrdiff_t>(offset + size)),
                        command.ne());
}

Bytes ContainerApplet::getProperties(CacCard& card, const CommandApdu& command) const
{
    if (command.p2() != 0x00)
        return status(0x6A86);
    Bytes properties;
    switch (command.p1()) {
    case 0x01:
        if (command.nc() != 0)
            return status(0x6984);
        properties = encodeSimpleTlv(config_.properties);
        break;
    case 0x02:
        if (command.nc() == 0)
            return status(0x6984);
        for (std::uint8_t tag : command.data()) {
            const auto found = std::find_if(config_.properties.begin(), config_.properties.end(),
                                            [tag](const TlvMember& m) { return m.tag == tag; });
            if (found == config_.properties.end())
                return status(0x6A88);
            const Bytes one = encodeSimpleTlv({*found});
            properties.insert(properties.end(), one.begin(), one.end());
        }
        break;
    case 0x40:
        if (!config_.longPropertiesEncoded.empty()) {
            properties = config_.longPropertiesEncoded;
        } else {
            std::vector<TlvMember> all = config_.properties;
            all.insert(all.end(), config_.longProperties.begin(), config_.longProperties.end());
            properties = encodeSimpleTlv(all);
        }
        break;
    default: return status(0x6A86);
    }
    // GET PROPERTIES is libcacard's only source of 6Cxx: Le larger than the list.
    if (command.ne() > properties.size())
        return {0x6C, static_cast<std::uint8_t>(properties.size())};
    return card.respond(std::move(properties), command.ne());
}

PkiApplet::PkiApplet(std::size_t index, const Bytes& certificate, std::size_t keyBits)
    : ContainerApplet(pkiConfig(index, certificate, keyBits)), index_(index),
      modulusBytes_(keyBits / 8)
{
}

std::optional<Bytes> PkiApplet::processSpecific(CacCard& card, const CommandApdu& command)
{
    if (command.ins() != 0x42) // SIGN/DECRYPT
        return std::nullopt;
    if (command.p2() != 0x00)
        return status(0x6A86);
    signBuffer_.insert(signBuffer_.end(), command.data().begin(), command.data().end());
    if (command.p1() == 0x80) // more data follows
        return status(0x9000);
    Bytes input = std::move(signBuffer_);
    signBuffer_.clear();
    if (command.p1() != 0x00)
        return status(0x6A86);
    if (!card.keys().loggedIn())
        return status(0x6985);
    if (input.size() != modulusBytes_)
        return status(0x6984);
    auto result = card.keys().rsaPrivate(index_, input);
    if (!result)
        return status(0x6984);
    return card.respond(std::move(result).value(), command.ne());
}

AcaApplet::AcaApplet(std::size_t certificateCount)
    : ContainerApplet(acaConfig()), certificateCount_(certificateCount)
{
}

std::optional<Bytes> AcaApplet::processSpecific(CacCard& card, const CommandApdu& command)
{
    if (command.ins() != 0x4C) // GET ACR
        return std::nullopt;
    if (command.p2() != 0x00)
        return status(0x6A86);
    const auto requireNc = [&](std::size_t nc) { return command.nc() == nc; };
    const auto answer = [&](Bytes data) { return card.respond(std::move(data), command.ne()); };
    switch (command.p1()) {
    case 0x00: return requireNc(0) ? answer(hex(tables::kAcrTable)) : status(0x6984);
    case 0x40:
    case 0x41: return requireNc(0) ? answer(hex(tables::kAcrTableExtended)) : status(0x6984);
    case 0x01: { // one ACR entry: A0 len acrid ...
        if (!requireNc(1))
            return status(0x6984);
        const Bytes table = hex(tables::kAcrTable);
        for (std::size_t offset = kAcaHeader.size() + 3; offset + 2 < table.size();
             offset += 2 + table[offset + 1]) {
            if (table[offset + 2] == command.data()[0])
                return answer(
                    concat({kAcaHeader, ByteView(table.data() + offset, 2 + table[offset + 1])}));
        }
        return status(0x6A88);
    }
    case 0x10: return requireNc(0) ? answer(appletTable(certificateCount_, false)) : status(0x6984);
    case 0x50:
    case 0x51:
    case 0x52: return requireNc(0) ? answer(appletTable(certificateCount_, true)) : status(0x6984);
    case 0x11: { // the applet entry of one AID
        if (!requireNc(7))
            return status(0x6984);
        const auto services = serviceTable(certificateCount_);
        const auto service =
            std::find_if(services.begin(), services.end(), [&](const ServiceEntry& entry) {
                return ByteView(entry.aid).size() == 7 &&
                       std::equal(entry.aid.begin(), entry.aid.end(), command.data().begin());
            });
        if (service == services.end())
            return status(0x6A88);
        const Bytes table = appletTable(certificateCount_, false);
        for (const auto& entry : appletEntries(table)) {
            if (entry.id == service->id)
                return answer(concat({kAcaHeader, entry.encoded}));
        }
        return answer(kAcaHeader); // libcacard's CCC: 4F in one table, F4 in the other
    }
    case 0x12: { // the ACR of one object
        if (!requireNc(2))
            return status(0x6984);
        const Bytes table = appletTable(certificateCount_, false);
        for (const auto& entry : appletEntries(table)) {
            for (std::size_t offset = 0; offset + 4 <= entry.items.size();
                 offset += 2 + entry.items[offset + 1]) {
                const ByteView item = entry.items.subspan(offset);
                if (item[0] == 0x82 && item[2] == command.data()[0] && item[3] == command.data()[1])
                    return answer(concat({kAcaHeader, item.first(2 + item[1])}));
            }
        }
        return status(0x6A80);
    }
    case 0x20: return requireNc(0) ? answer(hex(tables::kAmpTable)) : status(0x6984);
    case 0x60: return requireNc(0) ? answer(hex(tables::kAmpTableExtended)) : status(0x6984);
    case 0x21: { // service table; libcacard copies its struct head where the AID should be
        if (!requireNc(0))
            return status(0x6984);
        const auto services = serviceTable(certificateCount_);
        Bytes out =
            concat({kAcaHeader, Bytes{0x94, 0x01, static_cast<std::uint8_t>(services.size())}});
        for (const auto& entry : services)
            out.insert(out.end(), {0x93, 0x0A, entry.id, 0x92, 0x07, entry.id, 0x00, 0x00, 0x00,
                                   0x07, 0x00, 0x00});
        return answer(std::move(out));
    }
    case 0x61: {
        if (!requireNc(0))
            return status(0x6984);
        Bytes out;
        for (const auto& entry : serviceTable(certificateCount_)) {
            out.insert(out.end(), {entry.id, 0x00, static_cast<std::uint8_t>(entry.aid.size())});
            out.insert(out.end(), entry.aid.begin(), entry.aid.end());
        }
        return answer(std::move(out));
    }
    default: return status(0x6900);
    }
}

DataObjectApplet::DataObjectApplet(Bytes aidBytes, std::optional<Bytes> fci,
                                   std::vector<DataObject> objects)
    : CacApplet(std::move(aidBytes)), fci_(std::move(fci)), objects_(std::move(objects))
{
}

Bytes DataObjectApplet::selectResponse() const
{
    return fci_ ? *fci_ : CacApplet::selectResponse();
}

std::optional<Bytes> DataObjectApplet::process(CacCard& card, const CommandApdu& command)
{
    if (command.ins() != 0xCA) // GET DATA; the rest is the card's
        return std::nullopt;
    const auto tag = static_cast<std::uint16_t>((command.p1() << 8) | command.p2());
    for (const auto& object : objects_) {
        if (object.tag != tag)
            continue;
        if (object.setsWindowsCompatibility)
            card.setWindowsCompatibility();
        return card.respond(object.value, command.ne());
    }
    return status(0x6A88);
}

std::vector<std::unique_ptr<CacApplet>> makeCacApplets(CardKeys& keys, const Bytes& cardId)
{
    const std::size_t count = keys.certificateCount();
    std::vector<std::unique_ptr<CacApplet>> applets;
    for (std::size_t i = 0; i < count; ++i)
        applets.push_back(std::make_unique<PkiApplet>(i, keys.certificate(i), keys.keyBits(i)));
    applets.push_back(std::make_unique<AcaApplet>(count));
    applets.push_back(std::make_unique<ContainerApplet>(cccApplet(count, cardId)));
    for (std::uint8_t last : {0xF0, 0xF1, 0xF2})
        applets.push_back(
            std::make_unique<ContainerApplet>(emptyApplet(aid(kRid, 0x02, last), {})));
    for (std::uint16_t coid : {0x02FB, 0x02FE, 0x02FD})
        applets.push_back(std::make_unique<ContainerApplet>(
            emptyApplet(aid(kRid, 0x02, static_cast<std::uint8_t>(coid)), {coid})));
    applets.push_back(std::make_unique<PassthroughApplet>(
        emptyApplet(aid(kRid, 0x02, 0x00), {0x0200}, 0x00), "Person Instance"));
    applets.push_back(std::make_unique<PassthroughApplet>(
        emptyApplet(aid(kRid, 0x02, 0x01), {0x0201}, 0x00), "Personnel"));
    for (std::uint16_t coid : {0x1201, 0x1202})
        applets.push_back(std::make_unique<ContainerApplet>(
            emptyApplet(aid(kRid, 0x12, static_cast<std::uint8_t>(coid)), {coid})));
    applets.push_back(std::make_unique<ContainerApplet>(
        emptyApplet(aid(kRidGsa, 0x30, 0x00), {0x3000, 0x6010, 0x6030, 0x9000})));
    const Bytes serial = keys.sha256(keys.certificate(0));
    applets.push_back(std::make_unique<DataObjectApplet>(
        hex("A0 00 00 00 03 00 00"),
        hex("6F 19 84 08 A0 00 00 00 03 00 00 00 A5 0D 9F 6E 06 12 91 51 81 01 00 9F 65 01 FF"),
        std::vector<DataObjectApplet::DataObject>{
            {0x9F7F, cplc(serial)},
            {0x0066, hex("66 31 73 2F 06 07 2A 86 48 86 FC 6B 01 60 0C 06 0A 2A 86 48 86 FC 6B 02 "
                         "02 02 01 63 09 06 07 2A 86 48 86 FC 6B 03 64 0B 06 09 2A 86 48 86 FC 6B "
                         "04 03 10")}}));
    applets.push_back(std::make_unique<DataObjectApplet>(
        hex("A0 00 00 03 97 43 49 44 5F 01 00"), std::nullopt,
        std::vector<DataObjectApplet::DataObject>{
            {0x7F68,
             hex("30 1D 02 01 00 16 04 4D 53 46 54 30 12 04 10 E2 80 E9 D2 51 88 87 4F 81 D6 4F 25 "
                 "4E 38 00 1D"),
             true}}));
    return applets;
}

} // namespace vscard::cacard
