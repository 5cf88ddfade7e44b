// The --policy file: what it accepts, what it refuses and where, and whom each rule lets in.
#include "vscard/policy/access_policy.h"

#include <QTest>

using vscard::policy::AccessPolicy;
using vscard::policy::PeerIdentity;

namespace {

PeerIdentity certificate(std::string commonName, std::string organisation = "Example")
{
    PeerIdentity peer;
    peer.subject = {{"C", "US"}, {"O", std::move(organisation)}, {"CN", std::move(commonName)}};
    peer.sha256 = std::string(31 * 3, '0');
    for (std::size_t i = 2; i < peer.sha256.size(); i += 3)
        peer.sha256[i] = ':';
    peer.sha256 += "ab";
    peer.address = "192.0.2.7";
    return peer;
}

PeerIdentity unixPeer(std::uint32_t uid, std::string name)
{
    PeerIdentity peer;
    peer.uid = uid;
    peer.userName = std::move(name);
    return peer;
}

AccessPolicy parsed(const char* text)
{
    auto policy = AccessPolicy::parse(text);
    if (!policy)
        qFatal("line %d: %s", policy.error().line, policy.error().message.c_str());
    return *policy;
}

} // namespace

class tst_access_policy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parse_invalidLine_namesLineAndProblem_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<int>("line");
        QTest::addColumn<QByteArray>("message");
        QTest::newRow("verb") << QByteArray("# x\npermit any") << 2 << QByteArray("allow or deny");
        QTest::newRow("nobody") << QByteArray("allow readers=1") << 1 << QByteArray("allow whom?");
        QTest::newRow("quote") << QByteArray("allow cn=\"alice") << 1
                               << QByteArray("quote is not closed");
        QTest::newRow("unknown") << QByteArray("allow group=wheel") << 1
                                 << QByteArray("unknown condition group=");
        QTest::newRow("fingerprint")
            << QByteArray("\n\nallow sha256=ab:cd") << 3 << QByteArray("not 32 bytes of hex");
        QTest::newRow("address") << QByteArray("allow address=10.0.0.300") << 1
                                 << QByteArray("not an IP address");
        QTest::newRow("prefix") << QByteArray("allow address=10.0.0.0/33") << 1
                                << QByteArray("prefix length must be 0 to 32");
        QTest::newRow("deny grant")
            << QByteArray("deny any readers=2") << 1 << QByteArray("a deny rule grants nothing");
        QTest::newRow("slots") << QByteArray("allow any slots=3-1") << 1
                               << QByteArray("\"3-1\" is not N or N-M");
        QTest::newRow("readers") << QByteArray("allow any readers=-1") << 1
                                 << QByteArray("readers=-1 is not a number");
        QTest::newRow("twice") << QByteArray("allow any readers=1 readers=2") << 1
                               << QByteArray("readers= given twice");
        QTest::newRow("subject") << QByteArray("allow subject=alice") << 1
                                 << QByteArray("\"alice\" is not ATTRIBUTE=VALUE");
        QTest::newRow("bare word")
            << QByteArray("allow alice") << 1 << QByteArray("neither a condition nor a grant");
    }
    void parse_invalidLine_namesLineAndProblem()
    {
        QFETCH(QByteArray, text);
        QFETCH(int, line);
        QFETCH(QByteArray, message);
        const auto policy = AccessPolicy::parse(text.toStdString());
        QVERIFY(!policy);
        QCOMPARE(policy.error().line, line);
        QVERIFY2(policy.error().message.find(message.toStdString()) != std::string::npos,
                 policy.error().message.c_str());
    }

    void decide_firstMatchingRuleWins()
    {
        const auto policy = parsed("deny cn=mallory\n"
                                   "allow cn=alice readers=2 names=\"Alice *\" slots=0-1,4\n"
                                   "allow subject=\"O=Example, CN=bob\"  # comment\n"
                                   "allow uid=0\n"
                                   "allow user=libvirt-qemu readers=1\n");
        const auto alice = policy.decide(certificate("alice"));
        QVERIFY(alice.allowed);
        QCOMPARE(alice.line, 2);
        QCOMPARE(*alice.grant.maxReaders, 2u);
        QVERIFY(alice.grant.allowsName("Alice token"));
        QVERIFY(!alice.grant.allowsName("Bob token"));
        QVERIFY(alice.grant.allowsSlot(1));
        QVERIFY(!alice.grant.allowsSlot(2));
        QVERIFY(alice.grant.allowsSlot(4));

        const auto mallory = policy.decide(certificate("mallory"));
        QVERIFY(!mallory.allowed);
        QCOMPARE(mallory.line, 1);

        const auto bob = policy.decide(certificate("bob"));
        QVERIFY(bob.allowed);
        QCOMPARE(bob.line, 3);
        QVERIFY(!bob.grant.maxReaders);
        QVERIFY(bob.grant.allowsSlot(99));
        // The same name in another organisation is somebody else.
        QVERIFY(!policy.decide(certificate("bob", "Elsewhere")).allowed);

        QCOMPARE(policy.decide(unixPeer(0, "root")).line, 4);
        QCOMPARE(policy.decide(unixPeer(64055, "libvirt-qemu")).line, 5);
        const auto stranger = policy.decide(unixPeer(1000, "alice"));
        QVERIFY(!stranger.allowed);
        QCOMPARE(stranger.line, 0);
    }

    void decide_fingerprintAndAddress()
    {
        const auto alice = certificate("alice");
        std::string upperFingerprint = alice.sha256;
        for (char& c : upperFingerprint)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const auto policy = parsed(("allow sha256=" + upperFingerprint + " address=192.0.2.0/24\n" +
                                    "allow address=::1\n" + "allow address=10.1.0.0/16\n")
                                       .c_str());
        QCOMPARE(policy.decide(alice).line, 1);
        PeerIdentity moved = alice;
        moved.address = "198.51.100.1";
        QVERIFY(!policy.decide(moved).allowed); // every condition of a rule must hold
        PeerIdentity local;
        local.address = "::1";
        QCOMPARE(policy.decide(local).line, 2);
        local.address = "::ffff:10.1.200.3"; // an IPv4 client on a dual-stack socket
        QCOMPARE(policy.decide(local).line, 3);
        local.address = "10.2.0.1";
        QVERIFY(!policy.decide(local).allowed);
    }

    void decide_opensslSubjectSpellings()
    {
        // As `openssl x509 -noout -subject` prints it, with and without -nameopt compat.
        const auto policy = parsed("allow subject=\"C = US, O = Example, CN = alice\"\n"
                                   "allow subject=/O=Example/CN=bob\n");
        QCOMPARE(policy.decide(certificate("alice")).line, 1);
        QCOMPARE(policy.decide(certificate("bob")).line, 2);
        QVERIFY(!policy.decide(certificate("carol")).allowed);
    }

    void globMatches_starsAndQuestionMarks()
    {
        using vscard::policy::globMatches;
        QVERIFY(globMatches("*", ""));
        QVERIFY(globMatches("Alice *", "Alice card 1"));
        QVERIFY(!globMatches("Alice *", "Alice"));
        QVERIFY(globMatches("Token ?", "Token 7"));
        QVERIFY(!globMatches("Token ?", "Token 17"));
        QVERIFY(globMatches("*a*b*", "xxaxxbxx"));
        QVERIFY(!globMatches("*a*b", "xxaxxbxx"));
        // A hostile pattern stays fast (no exponential backtracking).
        QVERIFY(!globMatches("*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
    }

    void describe_namesThePeer()
    {
        QCOMPARE(QString::fromStdString(unixPeer(1000, "alice").describe()),
                 QStringLiteral("uid 1000 (alice)"));
        const auto text = QString::fromStdString(certificate("alice").describe());
        QVERIFY2(text.startsWith("certificate C=US,O=Example,CN=alice sha256 00:00:"),
                 qPrintable(text));
        QVERIFY2(text.endsWith(", address 192.0.2.7"), qPrintable(text));
    }
};

QTEST_GUILESS_MAIN(tst_access_policy)
#include "tst_access_policy.moc"
