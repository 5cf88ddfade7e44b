// The applets of the emulated CAC. Each answers the instructions it owns and passes the rest
// (nullopt) to the card, which handles SELECT by AID, VERIFY and GET RESPONSE.
#pragma once

#include "vscard/apdu.h"
#include "vscard/cacard/cac_card.h"
#include "vscard/cacard/simple_tlv.h"

#include <optional>
#include <vector>

namespace vscard::cacard {

class CacApplet {
public:
    virtual ~CacApplet() = default;

    const Bytes& aid() const { return aid_; }
    // The FCI SELECT answers with, by default 6F (Lc+4) 84 Lc AID A5 00.
    virtual Bytes selectResponse() const;
    virtual std::optional<Bytes> process(CacCard& card, const CommandApdu& command) = 0;
    // Called on every SELECT of this applet.
    virtual void reset() {}

protected:
    explicit CacApplet(Bytes aid) : aid_(std::move(aid)) {}

private:
    Bytes aid_;
};

// What the CAC applets share: GET PROPERTIES, SELECT of an object by COID, and (when they
// have them) READ BUFFER on a tag and a value file, each with its 2-byte length prefix.
class ContainerApplet : public CacApplet {
public:
    struct Config {
        Bytes aid;
        std::vector<TlvMember> properties;     // GET PROPERTIES P1=01
        std::vector<TlvMember> longProperties; // appended for P1=40
        Bytes longPropertiesEncoded;           // P1=40 as it is, where it is not short + tail
        std::vector<std::uint16_t> objectIds;
        bool readable = true; // READ BUFFER; the ACA answers 6D00
        std::uint16_t updateBufferStatus = 0x6900;
        Bytes tagFile{0x00, 0x00};
        Bytes valueFile{0x00, 0x00};
    };

    explicit ContainerApplet(Config config);
    std::optional<Bytes> process(CacCard& card, const CommandApdu& command) override;

protected:
    // Instructions of a specific applet, tried first.
    virtual std::optional<Bytes> processSpecific(CacCard& card, const CommandApdu& command);
    void setBufferFiles(Bytes tagFile, Bytes valueFile)
    {
        config_.tagFile = std::move(tagFile);
        config_.valueFile = std::move(valueFile);
    }

private:
    Bytes readBuffer(CacCard& card, const CommandApdu& command) const;
    Bytes getProperties(CacCard& card, const CommandApdu& command) const;

    Config config_;
};

// PKI applet i: one certificate and its key; SIGN/DECRYPT with chaining.
class PkiApplet : public ContainerApplet {
public:
    PkiApplet(std::size_t index, const Bytes& certificate, std::size_t keyBits);
    void reset() override { signBuffer_.clear(); }

protected:
    std::optional<Bytes> processSpecific(CacCard& card, const CommandApdu& command) override;

private:
    std::size_t index_;
    std::size_t modulusBytes_;
    Bytes signBuffer_;
};

// Person Instance and Personnel: the token's data object of the same label, split into tag
// and value files on the first READ BUFFER as libcacard does; empty files when there is none.
class PassthroughApplet : public ContainerApplet {
public:
    PassthroughApplet(Config config, std::string label)
        : ContainerApplet(std::move(config)), label_(std::move(label))
    {
    }

protected:
    std::optional<Bytes> processSpecific(CacCard& card, const CommandApdu& command) override;

private:
    std::string label_;
    bool read_ = false;
};

// The Access Control Applet: GET ACR and its tables.
class AcaApplet : public ContainerApplet {
public:
    explicit AcaApplet(std::size_t certificateCount);

protected:
    std::optional<Bytes> processSpecific(CacCard& card, const CommandApdu& command) override;

private:
    std::size_t certificateCount_;
};

// GlobalPlatform's card manager and Microsoft's PnP applet: GET DATA only.
class DataObjectApplet : public CacApplet {
public:
    struct DataObject {
        std::uint16_t tag;
        Bytes value;
        bool setsWindowsCompatibility = false;
    };
    DataObjectApplet(Bytes aid, std::optional<Bytes> fci, std::vector<DataObject> objects);
    Bytes selectResponse() const override;
    std::optional<Bytes> process(CacCard& card, const CommandApdu& command) override;

private:
    std::optional<Bytes> fci_;
    std::vector<DataObject> objects_;
};

// Every applet of a card with these certificates, in libcacard's registration order.
std::vector<std::unique_ptr<CacApplet>> makeCacApplets(CardKeys& keys, const Bytes& cardId);

} // namespace vscard::cacard
