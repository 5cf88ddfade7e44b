// ATR parsing per ISO 7816-3: the interface byte chain, protocols, historical bytes and TCK.
#include "hex_bytes.h"
#include "vscard/atr.h"

#include <QtTest>

using namespace vscard;
using vscard::test::fromHex;

namespace {
// The fixtures every later test uses: the emulated CAC (T=0, TA1=18), a T=1-only card and a
// dual-protocol card. TCKs computed by hand: XOR of T0 through TCK is zero.
const char* const kCacAtr = "3B7A1800007366746520636431 3434";
const char* const kT1OnlyAtr = "3B858131FE45 7673637264 FE";
const char* const kDualAtr = "3B94968031 8045 6475616C 6A";
} // namespace

class TestAtr : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parse_cacAtr_isT0WithHistoricalBytes();
    void parse_t1OnlyAtr_hasT1ParametersAndTck();
    void parse_dualProtocolAtr_offersBoth();
    void parse_minimalAtr_defaultsApply();
    void parse_inverseConvention_recognised();
    void parse_globalBytesOnly_impliesT0AndNeedsTck();
    void parse_specificMode_ta2Present();
    void parse_malformed_reportsPreciseError_data();
    void parse_malformed_reportsPreciseError();
    void describe_t1Atr_summarisesParameters();
};

void TestAtr::parse_cacAtr_isT0WithHistoricalBytes()
{
    const auto atr = Atr::parse(fromHex(kCacAtr));
    QVERIFY2(atr.ok(), atr ? "" : atr.error().message.c_str());
    QVERIFY(atr->isDirectConvention());
    QCOMPARE(atr->t0(), std::uint8_t{0x7A});
    QCOMPARE(atr->offeredProtocols(), std::uint16_t{1});
    QVERIFY(atr->offersProtocol(0));
    QVERIFY(!atr->offersProtocol(1));
    QCOMPARE(atr->fiDi(), std::uint8_t{0x18});
    QCOMPARE(atr->extraGuardTime(), std::uint8_t{0});
    QCOMPARE(atr->interfaceGroups().size(), std::size_t{1});
    const auto& group = atr->interfaceGroups()[0];
    QCOMPARE(group.ta, std::optional<std::uint8_t>(0x18));
    QCOMPARE(group.tb, std::optional<std::uint8_t>(0x00));
    QCOMPARE(group.tc, std::optional<std::uint8_t>(0x00));
    QVERIFY(!group.td.has_value());
    QCOMPARE(atr->historicalBytes(), fromHex("73667465206364313434"));
    QVERIFY(!atr->tck().has_value());
    QCOMPARE(atr->bytes(), fromHex(kCacAtr));
}

void TestAtr::parse_t1OnlyAtr_hasT1ParametersAndTck()
{
    const auto atr = Atr::parse(fromHex(kT1OnlyAtr));
    QVERIFY2(atr.ok(), atr ? "" : atr.error().message.c_str());
    QCOMPARE(atr->offeredProtocols(), std::uint16_t{1u << 1});
    QCOMPARE(atr->firstOfferedProtocol(), 1u);
    QCOMPARE(atr->interfaceGroups().size(), std::size_t{3});
    QCOMPARE(atr->interfaceGroups()[2].qualifyingProtocol, std::optional<unsigned>(1));
    QCOMPARE(atr->t1Ifsc(), std::uint8_t{0xFE});
    QCOMPARE(atr->t1BwiCwi(), std::uint8_t{0x45});
    QVERIFY(!atr->t1UsesCrc());
    QCOMPARE(atr->fiDi(), std::uint8_t{0x11});
    QCOMPARE(atr->tck(), std::optional<std::uint8_t>(0xFE));
    QCOMPARE(atr->historicalBytes(), fromHex("7673637264"));
}

void TestAtr::parse_dualProtocolAtr_offersBoth()
{
    const auto atr = Atr::parse(fromHex(kDualAtr));
    QVERIFY2(atr.ok(), atr ? "" : atr.error().message.c_str());
    QVERIFY(atr->offersProtocol(0));
    QVERIFY(atr->offersProtocol(1));
    QCOMPARE(atr->firstOfferedProtocol(), 0u);
    QCOMPARE(atr->fiDi(), std::uint8_t{0x96});
    QCOMPARE(atr->t1Ifsc(), std::uint8_t{0x80});
    QCOMPARE(atr->t0WaitingIntegerWi(), std::uint8_t{10});
    QCOMPARE(atr->tck(), std::optional<std::uint8_t>(0x6A));
}

void TestAtr::parse_minimalAtr_defaultsApply()
{
    const auto atr = Atr::parse(fromHex("3B00"));
    QVERIFY(atr.ok());
    QVERIFY(atr->offersProtocol(0));
    QVERIFY(atr->interfaceGroups().empty());
    QVERIFY(atr->historicalBytes().empty());
    QCOMPARE(atr->fiDi(), std::uint8_t{0x11});
    QCOMPARE(atr->t1Ifsc(), std::uint8_t{32});
    QCOMPARE(atr->t1BwiCwi(), std::uint8_t{0x4D});
    QCOMPARE(atr->t0WaitingIntegerWi(), std::uint8_t{10});
    QVERIFY(!atr->isSpecificMode());
}

void TestAtr::parse_inverseConvention_recognised()
{
    const auto atr = Atr::parse(fromHex("3F00"));
    QVERIFY(atr.ok());
    QVERIFY(!atr->isDirectConvention());
}

void TestAtr::parse_globalBytesOnly_impliesT0AndNeedsTck()
{
    // TD1 names T=15 (global bytes): no transmission protocol is indicated, so T=0 applies,
    // but since something other than T=0 is indicated the TCK must be there.
    const auto atr = Atr::parse(fromHex("3B800F8F"));
    QVERIFY2(atr.ok(), atr ? "" : atr.error().message.c_str());
    QCOMPARE(atr->offeredProtocols(), std::uint16_t{1});
    QCOMPARE(atr->tck(), std::optional<std::uint8_t>(0x8F));
    QVERIFY(!Atr::parse(fromHex("3B800F")).ok());
}

void TestAtr::parse_specificMode_ta2Present()
{
    // TD1 = 0x10: TA2 follows, T=0. TA2 = 0x80: specific mode, T=0, parameters from TA1.
    const auto atr = Atr::parse(fromHex("3B801080"));
    QVERIFY2(atr.ok(), atr ? "" : atr.error().message.c_str());
    QVERIFY(atr->isSpecificMode());
    QVERIFY(!atr->tck().has_value());
}

void TestAtr::parse_malformed_reportsPreciseError_data()
{
    QTest::addColumn<Bytes>("bytes");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << Bytes{} << "ATR of 0 bytes: shorter than TS and T0";
    QTest::newRow("TS only") << fromHex("3B") << "ATR of 1 bytes: shorter than TS and T0";
    QTest::newRow("bad TS") << fromHex("3A00") << "ATR of 2 bytes: TS 3A is neither 3B nor 3F";
    QTest::newRow("34 bytes") << Bytes(34, 0x3B)
                              << "ATR of 34 bytes: longer than the maximum of 33";
    QTest::newRow("TA1 announced, missing")
        << fromHex("3B10") << "ATR of 2 bytes: interface bytes of group 1 are truncated";
    QTest::newRow("TD1 points to a missing group 2")
        << fromHex("3B8081") << "ATR of 3 bytes: interface bytes of group 2 are truncated";
    QTest::newRow("historical bytes missing")
        << fromHex("3B0541") << "ATR of 3 bytes: 5 historical bytes announced, 1 present";
    QTest::newRow("T=1 without TCK")
        << fromHex("3B858131FE457673637264")
        << "ATR of 11 bytes: TCK missing although a protocol other than T=0 is indicated";
    QTest::newRow("wrong TCK") << fromHex("3B858131FE457673637264FF")
                               << "ATR of 12 bytes: TCK FF is wrong, expected FE";
    QTest::newRow("T=0 with a trailing byte")
        << fromHex("3B0000") << "ATR of 3 bytes: 1 unexpected bytes after the historical bytes";
    QTest::newRow("T=1 with a byte after TCK")
        << fromHex("3B858131FE457673637264FE00") << "ATR of 13 bytes: 1 unexpected bytes after TCK";
}

void TestAtr::parse_malformed_reportsPreciseError()
{
    QFETCH(Bytes, bytes);
    QFETCH(QString, message);
    const auto atr = Atr::parse(bytes);
    QVERIFY(!atr.ok());
    QCOMPARE(QString::fromStdString(atr.error().message), message);
}

void TestAtr::describe_t1Atr_summarisesParameters()
{
    const auto atr = Atr::parse(fromHex(kDualAtr));
    QVERIFY(atr.ok());
    QCOMPARE(QString::fromStdString(atr->describe()),
             QString("3B 94 96 80 31 80 45 64 75 61 6C 6A: direct convention, protocols T=0 T=1, "
                     "Fi/Di 96, IFSC 128, BWI/CWI 45, LRC, 4 historical bytes \"dual\""));
}

QTEST_APPLESS_MAIN(TestAtr)
#include "tst_atr.moc"
