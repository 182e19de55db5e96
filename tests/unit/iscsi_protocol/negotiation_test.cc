#include "frontends/iscsi/protocol/negotiation.h"

#include <gtest/gtest.h>

namespace portico::iscsi {
namespace {

TargetLimits limits() { return {.max_recv_data_segment_length = 65536, .max_burst_length = 262144,
                                .first_burst_length = 65536, .max_outstanding_r2t = 4}; }

// Negotiates one key in the login operational stage and returns the reply value ("" if none).
std::string reply(Negotiator& n, const std::string& key, const std::string& value,
                  Negotiator::Stage stage = Negotiator::Stage::login) {
  std::vector<TextKey> replies;
  EXPECT_TRUE(n.negotiate({{key, value}}, stage, replies).ok());
  auto v = find_key(replies, key);
  return v ? std::string(*v) : std::string();
}

std::string one(const std::string& key, const std::string& value, bool discovery = false) {
  Negotiator n(limits());
  n.set_discovery(discovery);
  return reply(n, key, value);
}

TEST(Negotiation, DigestsPickInitiatorsFirstSupportedChoice) {
  Negotiator n(limits());
  EXPECT_EQ(reply(n, "HeaderDigest", "CRC32C,None"), "CRC32C");
  EXPECT_EQ(reply(n, "DataDigest", "None,CRC32C"), "None");
  EXPECT_TRUE(n.params().header_digest);
  EXPECT_FALSE(n.params().data_digest);
  EXPECT_EQ(one("HeaderDigest", "MD5,CRC32C"), "CRC32C");
  EXPECT_EQ(one("DataDigest", "MD5"), "Reject");
}

TEST(Negotiation, MaxRecvDataSegmentLengthIsDeclaredBothWays) {
  Negotiator n(limits());
  EXPECT_EQ(reply(n, "MaxRecvDataSegmentLength", "131072"), "65536");
  EXPECT_EQ(n.params().max_recv_data_segment_length_initiator, 131072u);
  EXPECT_EQ(n.params().max_recv_data_segment_length_target, 65536u);
  EXPECT_EQ(one("MaxRecvDataSegmentLength", "511"), "Reject");
  EXPECT_EQ(one("MaxRecvDataSegmentLength", "16777216"), "Reject");
  EXPECT_EQ(one("MaxRecvDataSegmentLength", "0x2000"), "65536");
}

TEST(Negotiation, TargetDeclaresMaxRecvDataSegmentLengthAtTheEndIfNotAsked) {
  Negotiator n(limits());
  std::vector<TextKey> replies;
  n.finish(replies);
  EXPECT_EQ(find_key(replies, "MaxRecvDataSegmentLength"), "65536");
  replies.clear();
  n.finish(replies);
  EXPECT_TRUE(replies.empty());
}

TEST(Negotiation, BurstLengthsTakeTheMinimum) {
  Negotiator n(limits());
  EXPECT_EQ(reply(n, "MaxBurstLength", "1048576"), "262144");
  EXPECT_EQ(reply(n, "FirstBurstLength", "8192"), "8192");
  EXPECT_EQ(n.params().max_burst_length, 262144u);
  EXPECT_EQ(n.params().first_burst_length, 8192u);
  EXPECT_EQ(one("MaxBurstLength", "100"), "Reject");
  EXPECT_EQ(one("FirstBurstLength", "abc"), "Reject");
}

TEST(Negotiation, FirstBurstNeverExceedsMaxBurst) {
  TargetLimits l = limits();
  l.first_burst_length = 262144;
  Negotiator n(l);
  reply(n, "MaxBurstLength", "16384");
  reply(n, "FirstBurstLength", "65536");
  std::vector<TextKey> replies;
  n.finish(replies);
  EXPECT_EQ(n.params().first_burst_length, 16384u);
}

TEST(Negotiation, InitialR2tIsOrAndImmediateDataIsAnd) {
  EXPECT_EQ(one("InitialR2T", "No"), "No");
  EXPECT_EQ(one("InitialR2T", "Yes"), "Yes");
  EXPECT_EQ(one("ImmediateData", "Yes"), "Yes");
  EXPECT_EQ(one("ImmediateData", "No"), "No");
  EXPECT_EQ(one("InitialR2T", "maybe"), "Reject");
  Negotiator n(limits());
  reply(n, "InitialR2T", "No");
  reply(n, "ImmediateData", "No");
  EXPECT_FALSE(n.params().initial_r2t);
  EXPECT_FALSE(n.params().immediate_data);
}

TEST(Negotiation, InOrderKeysAlwaysYes) {
  EXPECT_EQ(one("DataPDUInOrder", "No"), "Yes");
  EXPECT_EQ(one("DataSequenceInOrder", "No"), "Yes");
  EXPECT_EQ(one("DataPDUInOrder", "Yes"), "Yes");
  EXPECT_EQ(one("DataSequenceInOrder", "x"), "Reject");
}

TEST(Negotiation, MaxOutstandingR2tMinimum) {
  EXPECT_EQ(one("MaxOutstandingR2T", "1"), "1");
  EXPECT_EQ(one("MaxOutstandingR2T", "100"), "4");
  EXPECT_EQ(one("MaxOutstandingR2T", "0"), "Reject");
}

TEST(Negotiation, Time2WaitMaxAndTime2RetainMin) {
  EXPECT_EQ(one("DefaultTime2Wait", "0"), "2");
  EXPECT_EQ(one("DefaultTime2Wait", "10"), "10");
  EXPECT_EQ(one("DefaultTime2Retain", "0"), "0");
  EXPECT_EQ(one("DefaultTime2Retain", "60"), "20");
  EXPECT_EQ(one("DefaultTime2Retain", "3601"), "Reject");
}

TEST(Negotiation, ErrorRecoveryLevelAndMaxConnections) {
  EXPECT_EQ(one("ErrorRecoveryLevel", "2"), "0");
  EXPECT_EQ(one("ErrorRecoveryLevel", "3"), "Reject");
  EXPECT_EQ(one("MaxConnections", "8"), "1");
  EXPECT_EQ(one("MaxConnections", "0"), "Reject");
}

TEST(Negotiation, UnknownVendorAndObsoleteKeys) {
  EXPECT_EQ(one("FooBar", "1"), "NotUnderstood");
  EXPECT_EQ(one("X-com.example.thing", "1"), "NotUnderstood");
  EXPECT_EQ(one("X#private", "1"), "NotUnderstood");
  EXPECT_EQ(one("IFMarker", "Yes"), "No");
  EXPECT_EQ(one("OFMarkInt", "1~65535"), "Reject");
  EXPECT_EQ(one("TaskReporting", "FastAbort,RFC3720"), "RFC3720");
  EXPECT_EQ(one("iSCSIProtocolLevel", "2"), "1");
  EXPECT_EQ(one("TargetAlias", "x"), "Reject");
}

TEST(Negotiation, DiscoverySessionDataKeysAreIrrelevant) {
  for (const char* key : {"MaxBurstLength", "FirstBurstLength", "InitialR2T", "ImmediateData", "MaxOutstandingR2T",
                          "DataPDUInOrder", "DataSequenceInOrder"}) {
    EXPECT_EQ(one(key, "1", true), "Irrelevant") << key;
  }
  EXPECT_EQ(one("HeaderDigest", "None", true), "None");
}

TEST(Negotiation, LoginKeysAreLeftToTheLoginStateMachine) {
  Negotiator n(limits());
  std::vector<TextKey> replies;
  ASSERT_TRUE(n.negotiate({{"InitiatorName", "iqn.i"}, {"AuthMethod", "None"}, {"CHAP_A", "5"}},
                          Negotiator::Stage::login, replies)
                  .ok());
  EXPECT_TRUE(replies.empty());
}

TEST(Negotiation, KeyNegotiatedTwiceDuringLoginIsAnError) {
  Negotiator n(limits());
  std::vector<TextKey> replies;
  ASSERT_TRUE(n.negotiate({{"MaxBurstLength", "65536"}}, Negotiator::Stage::login, replies).ok());
  EXPECT_FALSE(n.negotiate({{"MaxBurstLength", "65536"}}, Negotiator::Stage::login, replies).ok());
}

TEST(Negotiation, FullFeaturePhaseAllowsOnlyMaxRecvDataSegmentLength) {
  Negotiator n(limits());
  EXPECT_EQ(reply(n, "MaxRecvDataSegmentLength", "8192", Negotiator::Stage::full_feature), "65536");
  EXPECT_EQ(n.params().max_recv_data_segment_length_initiator, 8192u);
  EXPECT_EQ(reply(n, "MaxRecvDataSegmentLength", "16384", Negotiator::Stage::full_feature), "65536");
  EXPECT_EQ(reply(n, "MaxBurstLength", "8192", Negotiator::Stage::full_feature), "Reject");
  EXPECT_EQ(reply(n, "HeaderDigest", "None", Negotiator::Stage::full_feature), "Reject");
  EXPECT_EQ(reply(n, "Unknown", "1", Negotiator::Stage::full_feature), "NotUnderstood");
  EXPECT_EQ(reply(n, "SendTargets", "All", Negotiator::Stage::full_feature), "");
}

TEST(Negotiation, AnswersToOurOffersNeedNoReply) {
  EXPECT_EQ(one("MaxBurstLength", "NotUnderstood"), "");
  EXPECT_EQ(one("HeaderDigest", "Reject"), "");
}

}  // namespace
}  // namespace portico::iscsi
