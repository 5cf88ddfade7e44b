#include "piv_objects.h"

#include "vscard/cacard/ber_tlv.h"

namespace vscard::cacard::piv {

namespace {

// The FASC-N of a card not issued by a US federal agency (agency 9999, system 9999,
// credential 999999): SP 800-73-4 requires a FASC-N in every CHUID, and non-federal PIV-I
// cards carry this one.
const Bytes kNonFederalFascn = {0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE,
                                0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10,
                                0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB};
const Bytes kPivAid = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00};

Bytes text(std::string_view value)
{
    return Bytes(value.begin(), value.end());
}

} // namespace

std::optional<ReadAccess> readAccess(std::uint32_t tag)
{
    switch (tag) {
    case 0x5FC103: // cardholder fingerprints
    case 0x5FC108: // cardholder facial image
    case kPrintedInformationObject:
    case 0x5FC121: // cardholder iris images
    case 0x5FC123: // pairing code reference data
        return ReadAccess::Pin;
    case kDiscoveryObject:
    case kBiometricGroupTemplate: return ReadAccess::Always;
    default: break;
    }
    if (tag >= 0x5FC101 && tag <= 0x5FC123)
        return ReadAccess::Always;
    if (tag >= 0x5FFF00 && tag <= 0x5FFF15) // YubiKey: admin data, attestation, MSCMAP...
        return ReadAccess::Always;
    return std::nullopt;
}

bool writable(std::uint32_t tag)
{
    return readAccess(tag).has_value();
}

void addFactoryObjects(CardState& state, ByteView guid, ByteView cardIdentifier)
{
    Bytes chuid;
    appendBerTlv(chuid, 0x30, kNonFederalFascn);
    appendBerTlv(chuid, 0x34, guid);
    appendBerTlv(chuid, 0x35, text("20351231")); // expiration date, YYYYMMDD
    appendBerTlv(chuid, 0x3E, {});               // issuer signature: none, not issued
    appendBerTlv(chuid, 0xFE, {});
    state.objects[kChuidObject] = chuid;

    Bytes ccc;
    Bytes identifier = {0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02}; // GSC-RID, manufacturer, type
    identifier.insert(identifier.end(), cardIdentifier.begin(), cardIdentifier.end());
    appendBerTlv(ccc, 0xF0, identifier);
    appendBerTlv(ccc, 0xF1, Bytes{0x21}); // capability container version
    appendBerTlv(ccc, 0xF2, Bytes{0x21}); // capability grammar version
    appendBerTlv(ccc, 0xF3, {});
    appendBerTlv(ccc, 0xF4, Bytes{0x00});
    appendBerTlv(ccc, 0xF5, Bytes{0x10}); // data model number
    appendBerTlv(ccc, 0xF6, {});
    appendBerTlv(ccc, 0xF7, {});
    appendBerTlv(ccc, 0xFA, {});
    appendBerTlv(ccc, 0xFB, {});
    appendBerTlv(ccc, 0xFC, {});
    appendBerTlv(ccc, 0xFD, {});
    appendBerTlv(ccc, 0xFE, {});
    state.objects[kCccObject] = ccc;

    Bytes discovery;
    appendBerTlv(discovery, 0x4F, kPivAid);
    appendBerTlv(discovery, 0x5F2F, Bytes{0x40, 0x00}); // PIN usage policy: the PIV PIN only
    state.objects[kDiscoveryObject] = discovery;
}

Bytes keyHistory(const CardState& state)
{
    const auto written = state.objects.find(kKeyHistoryObject);
    if (written != state.objects.end())
        return written->second;
    std::uint8_t onCard = 0;
    for (std::uint8_t slot = kFirstRetiredKey; slot <= kLastRetiredKey; ++slot)
        if (state.objects.count(*certificateObject(slot)))
            ++onCard;
    Bytes value;
    appendBerTlv(value, 0xC1, Bytes{onCard});
    appendBerTlv(value, 0xC2, Bytes{0x00});
    appendBerTlv(value, 0xFE, {});
    return value;
}

Bytes certificateObjectValue(ByteView der)
{
    Bytes value;
    appendBerTlv(value, 0x70, der);
    appendBerTlv(value, 0x71, Bytes{0x00});
    appendBerTlv(value, 0xFE, {});
    return value;
}

} // namespace vscard::cacard::piv
