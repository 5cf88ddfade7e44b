// libcacard's options string: every keyword, any order, and precise errors.
#include "vscard/cacard/emul_options.h"

#include <QtTest>

using namespace vscard::cacard;

Q_DECLARE_METATYPE(vscard::cacard::EmulOptions)

namespace {

EmulOptions withSoftCard(SoftCard card, HardwareUse use = HardwareUse::No,
                         std::optional<std::string> db = std::nullopt)
{
    EmulOptions options;
    options.useHardware = use;
    options.nssDatabase = std::move(db);
    options.softCards.push_back(std::move(card));
    return options;
}

} // namespace

class TestEmulOptions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parse_valid_fieldsAsWritten_data();
    void parse_valid_fieldsAsWritten();
    void parse_malformed_saysWhatAndWhere_data();
    void parse_malformed_saysWhatAndWhere();
};

void TestEmulOptions::parse_valid_fieldsAsWritten_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<EmulOptions>("expected");

    const SoftCard threeCerts{"", "Test", "CAC", "", {"cert1", "cert2", "cert3"}};
    QTest::newRow("the README example")
        << "db=\"/etc/pki/nssdb\" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)"
        << withSoftCard(threeCerts, HardwareUse::No, "/etc/pki/nssdb");
    QTest::newRow("any order, sql: database")
        << "soft=(,Test,CAC,,cert1,cert2,cert3) use_hw=no db=\"sql:/tmp/db\""
        << withSoftCard(threeCerts, HardwareUse::No, "sql:/tmp/db");
    QTest::newRow("vscclient's reader name with spaces, unquoted db")
        << "db=/tmp/db use_hw=no soft=(Virtual Reader, My Card ,CAC,,id cert)"
        << withSoftCard(SoftCard{"Virtual Reader", "My Card", "CAC", "", {"id cert"}},
                        HardwareUse::No, "/tmp/db");
    QTest::newRow("quoted fields") << "use_hw=no soft=(\"R, 1\",\"C\",CAC,\"\",\"a \\\"b\\\"\")"
                                   << withSoftCard(SoftCard{"R, 1", "C", "CAC", "", {"a \"b\""}});
    EmulOptions hardware;
    hardware.useHardware = HardwareUse::Removable;
    hardware.hardwareType = "CAC";
    hardware.hardwareParams = "x";
    QTest::newRow("hardware, hw_type not last")
        << "hw_type=CAC use_hw=removable hw_params=x" << hardware;
    EmulOptions nssemul;
    QTest::newRow("nssemul") << "nssemul" << nssemul;
    QTest::newRow("empty: libcacard's defaults") << "  " << EmulOptions{};
    EmulOptions twoCards = withSoftCard(SoftCard{"a", "A", "CAC", "", {"c1"}});
    twoCards.softCards.push_back(SoftCard{"b", "B", "CAC", "", {"c2", "c3"}});
    QTest::newRow("a blank PIV card with its state directory")
        << "use_hw=no soft=(,My PIV,PIV,state=/var/lib/piv)"
        << withSoftCard(SoftCard{"", "My PIV", "PIV", "state=/var/lib/piv", {}});
    QTest::newRow("a PIV card from certificates")
        << "use_hw=no soft=(,P,PIV,,auth,sign)"
        << withSoftCard(SoftCard{"", "P", "PIV", "", {"auth", "sign"}});
    QTest::newRow("two soft cards")
        << "use_hw=no soft=(a,A,CAC,,c1) soft=(b,B,CAC,,c2,c3)" << twoCards;
}

void TestEmulOptions::parse_valid_fieldsAsWritten()
{
    QFETCH(QString, text);
    QFETCH(EmulOptions, expected);
    const auto parsed = parseEmulOptions(text.toStdString());
    QVERIFY2(parsed.ok(), parsed ? "" : parsed.error().message.c_str());
    QVERIFY(*parsed == expected);
}

void TestEmulOptions::parse_malformed_saysWhatAndWhere_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown keyword") << "use_hw=no colour=red"
                                     << "offset 10: unknown option \"colour=\"";
    QTest::newRow("unknown flag") << "verbose"
                                  << "offset 0: unknown option \"verbose\"";
    QTest::newRow("bad use_hw")
        << "use_hw=maybe"
        << "offset 7: use_hw= expects yes, no or removable, found \"maybe\"";
    QTest::newRow("unterminated quote") << "db=\"/tmp/db use_hw=no"
                                        << "offset 3: quoted value never ends (missing \")";
    QTest::newRow("soft without list") << "soft=cert1"
                                       << "offset 5: soft= expects a list: soft=(reader,card "
                                          "name,type,type params,cert1,...)";
    QTest::newRow("soft list open") << "soft=(,Test,CAC,,cert1"
                                    << "offset 5: soft= list never ends (missing ')')";
    QTest::newRow("soft without certificates")
        << "soft=(,Test,CAC,)"
        << "offset 5: soft= needs reader, card name, type, type params and at least one "
           "certificate; found 4 fields";
    QTest::newRow("soft of another type") << "soft=(,Test,PKCS15,,c)"
                                          << "offset 5: soft= card type \"PKCS15\" is not "
                                             "supported (CAC and PIV are)";
    QTest::newRow("eleven certificates") << "soft=(,T,CAC,,1,2,3,4,5,6,7,8,9,10,11)"
                                         << "offset 5: soft= has 11 certificates, a card holds "
                                            "at most 10";
    QTest::newRow("PIV without type params")
        << "soft=(,Test,PIV)"
        << "offset 5: soft= needs reader, card name, PIV and type params (state=DIR or empty); "
           "found 3 fields";
    QTest::newRow("PIV with unknown type params")
        << "soft=(,Test,PIV,colour=red)"
        << "offset 5: soft= PIV type params: expected state=DIR or nothing, found \"colour=red\"";
    QTest::newRow("PIV with an empty state") << "soft=(,Test,PIV,state=)"
                                             << "offset 5: soft= PIV state= names no directory";
    QTest::newRow("stray punctuation") << "use_hw=no ;"
                                       << "offset 10: unexpected ';'";
    QTest::newRow("bad hw_type") << "hw_type=PIV"
                                 << "offset 8: hw_type= expects CAC or PASSTHRU, found \"PIV\"";
}

void TestEmulOptions::parse_malformed_saysWhatAndWhere()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    const auto parsed = parseEmulOptions(text.toStdString());
    QVERIFY(!parsed.ok());
    QCOMPARE(QString::fromStdString(parsed.error().message), message);
}

QTEST_APPLESS_MAIN(TestEmulOptions)
#include "tst_emul_options.moc"
