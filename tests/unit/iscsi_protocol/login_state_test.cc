#include "frontends/iscsi/protocol/login_state.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::iscsi {
namespace {

using namespace std::string_literals;

constexpr const char* kTarget = "iqn.2024-01.io.portico:disk1";
constexpr const char* kInitiator = "iqn.1993-08.org.debian:01:abc";

struct Fixture {
  bool allowed = true;
  std::optional<ChapSecrets> chap;
  std::optional<ChapSecrets> discovery_chap;
  bool session_exists = false;

  LoginState make() {
    LoginPolicy p;
    p.find_target = [this](std::string_view name, std::string_view) -> std::optional<LoginTargetInfo> {
      if (name != kTarget) return std::nullopt;
      return LoginTargetInfo{allowed, chap, "disk one"};
    };
    p.discovery_chap = discovery_chap;
    p.session_exists = [this](uint16_t) { return session_exists; };
    p.limits = TargetLimits{};
    return LoginState(std::move(p), 7);
  }
};

LoginRequestFields req(uint8_t csg, uint8_t nsg, bool transit) {
  LoginRequestFields r;
  r.csg = csg;
  r.nsg = nsg;
  r.transit = transit;
  r.isid = {0x80, 0, 0x02, 0x3d, 0, 0};
  r.itt = 1;
  return r;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<TextKey> keys_of(const LoginStep& s) { return *parse_text_keys(bytes(s.text)); }

uint16_t status_of(const LoginStep& s) {
  return static_cast<uint16_t>((s.response.status_class << 8) | s.response.status_detail);
}

const std::string kNormalFirst = "InitiatorName="s + kInitiator + "\0SessionType=Normal\0TargetName="s + kTarget + "\0"s;

TEST(LoginState, NoAuthNormalSessionThroughBothStages) {
  Fixture f;
  auto login = f.make();
  auto s1 = login.step(req(0, 1, true), bytes(kNormalFirst + "AuthMethod=None\0"s));
  ASSERT_EQ(s1.outcome, LoginOutcome::in_progress) << s1.failure_reason;
  EXPECT_TRUE(s1.response.transit);
  EXPECT_EQ(s1.response.csg, 0);
  EXPECT_EQ(s1.response.nsg, 1);
  auto k1 = keys_of(s1);
  EXPECT_EQ(find_key(k1, "AuthMethod"), "None");
  EXPECT_EQ(find_key(k1, "TargetPortalGroupTag"), "7");
  EXPECT_EQ(find_key(k1, "TargetAlias"), "disk one");

  auto s2 = login.step(req(1, 3, true),
                       bytes("HeaderDigest=CRC32C,None\0DataDigest=None\0MaxRecvDataSegmentLength=262144\0"
                             "ImmediateData=Yes\0InitialR2T=No\0MaxBurstLength=16776192\0"s));
  ASSERT_EQ(s2.outcome, LoginOutcome::complete_normal) << s2.failure_reason;
  EXPECT_TRUE(s2.response.transit);
  EXPECT_EQ(s2.response.nsg, 3);
  auto k2 = keys_of(s2);
  EXPECT_EQ(find_key(k2, "HeaderDigest"), "CRC32C");
  EXPECT_TRUE(find_key(k2, "MaxRecvDataSegmentLength"));
  EXPECT_TRUE(login.params().header_digest);
  EXPECT_FALSE(login.params().initial_r2t);
  EXPECT_EQ(login.params().max_recv_data_segment_length_initiator, 262144u);
  EXPECT_EQ(login.initiator_name(), kInitiator);
  EXPECT_EQ(login.target_name(), kTarget);
  EXPECT_FALSE(login.discovery());
  // The login is over: anything more is invalid.
  EXPECT_EQ(login.step(req(1, 3, true), {}).outcome, LoginOutcome::failed);
}

TEST(LoginState, OperationalStageFirstAndDeclarationWithoutOffer) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(1, 3, true), bytes(kNormalFirst));
  ASSERT_EQ(s.outcome, LoginOutcome::complete_normal) << s.failure_reason;
  EXPECT_EQ(find_key(keys_of(s), "MaxRecvDataSegmentLength"), std::to_string(TargetLimits{}.max_recv_data_segment_length));
}

TEST(LoginState, TargetHoldsTransitUntilOperationalKeysAreSent) {
  Fixture f;
  auto login = f.make();
  auto s1 = login.step(req(1, 3, false), bytes(kNormalFirst + "MaxBurstLength=65536\0"s));
  ASSERT_EQ(s1.outcome, LoginOutcome::in_progress);
  EXPECT_FALSE(s1.response.transit);
  auto s2 = login.step(req(1, 3, true), {});
  EXPECT_EQ(s2.outcome, LoginOutcome::complete_normal);
}

TEST(LoginState, DiscoverySessionWithoutTargetName) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(0, 3, true),
                      bytes("InitiatorName="s + kInitiator + "\0SessionType=Discovery\0AuthMethod=None\0"s));
  ASSERT_EQ(s.outcome, LoginOutcome::complete_discovery) << s.failure_reason;
  EXPECT_TRUE(login.discovery());
  EXPECT_FALSE(find_key(keys_of(s), "TargetPortalGroupTag"));
}

TEST(LoginState, DiscoveryIrrelevantKeys) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(1, 3, true),
                      bytes("InitiatorName="s + kInitiator + "\0SessionType=Discovery\0MaxBurstLength=65536\0"s));
  ASSERT_EQ(s.outcome, LoginOutcome::complete_discovery);
  EXPECT_EQ(find_key(keys_of(s), "MaxBurstLength"), "Irrelevant");
}

TEST(LoginState, UnknownTargetIsNotFound) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(0, 1, true), bytes("InitiatorName=iqn.x\0TargetName=iqn.nope\0"s));
  EXPECT_EQ(s.outcome, LoginOutcome::failed);
  EXPECT_EQ(status_of(s), login_status::kNotFound);
  EXPECT_TRUE(s.text.empty());
}

TEST(LoginState, AclDenialIsAuthorizationFailure) {
  Fixture f;
  f.allowed = false;
  auto login = f.make();
  auto s = login.step(req(0, 1, true), bytes(kNormalFirst + "AuthMethod=None\0"s));
  EXPECT_EQ(status_of(s), login_status::kAuthorizationFailure);
}

TEST(LoginState, MissingNamesAreMissingParameter) {
  Fixture f;
  auto a = f.make();
  EXPECT_EQ(status_of(a.step(req(0, 1, true), bytes("TargetName="s + kTarget + "\0"s))),
            login_status::kMissingParameter);
  auto b = f.make();
  EXPECT_EQ(status_of(b.step(req(0, 1, true), bytes("InitiatorName=iqn.x\0"s))), login_status::kMissingParameter);
}

TEST(LoginState, BadSessionType) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(0, 1, true), bytes("InitiatorName=iqn.x\0SessionType=Weird\0"s));
  EXPECT_EQ(status_of(s), login_status::kSessionTypeNotSupported);
}

TEST(LoginState, UnsupportedVersion) {
  Fixture f;
  auto login = f.make();
  auto r = req(0, 1, true);
  r.version_min = 1;
  r.version_max = 2;
  EXPECT_EQ(status_of(login.step(r, bytes(kNormalFirst))), login_status::kUnsupportedVersion);
}

TEST(LoginState, TsihForUnknownSessionAndConnectionAdd) {
  Fixture f;
  auto a = f.make();
  auto r = req(0, 1, true);
  r.tsih = 12;
  EXPECT_EQ(status_of(a.step(r, bytes(kNormalFirst))), login_status::kSessionDoesNotExist);
  f.session_exists = true;
  auto b = f.make();
  EXPECT_EQ(status_of(b.step(r, bytes(kNormalFirst))), login_status::kTooManyConnections);
}

ChapSecrets secrets() { return {"alice", "alice-secret-12", "target", "target-secret-12"}; }

// Runs AuthMethod and CHAP_A; returns the challenge keys.
std::vector<TextKey> chap_until_challenge(LoginState& login) {
  auto s1 = login.step(req(0, 1, true), bytes(kNormalFirst + "AuthMethod=CHAP,None\0"s));
  EXPECT_EQ(s1.outcome, LoginOutcome::in_progress) << s1.failure_reason;
  EXPECT_FALSE(s1.response.transit);  // no transit before authentication
  EXPECT_EQ(find_key(keys_of(s1), "AuthMethod"), "CHAP");
  auto s2 = login.step(req(0, 1, true), bytes("CHAP_A=5\0"s));
  EXPECT_EQ(s2.outcome, LoginOutcome::in_progress) << s2.failure_reason;
  EXPECT_FALSE(s2.response.transit);
  return keys_of(s2);
}

std::string response_for(const std::vector<TextKey>& challenge, const std::string& secret) {
  const auto id = static_cast<uint8_t>(std::stoi(std::string(*find_key(challenge, "CHAP_I"))));
  const auto c = *decode_chap_binary(*find_key(challenge, "CHAP_C"));
  return encode_chap_hex(chap_md5_response(id, secret, c));
}

TEST(LoginState, ChapSuccessThenOperational) {
  Fixture f;
  f.chap = secrets();
  auto login = f.make();
  const auto challenge = chap_until_challenge(login);
  auto s3 = login.step(req(0, 1, true),
                       bytes("CHAP_N=alice\0CHAP_R="s + response_for(challenge, "alice-secret-12") + "\0"s));
  ASSERT_EQ(s3.outcome, LoginOutcome::in_progress) << s3.failure_reason;
  EXPECT_TRUE(s3.response.transit);
  EXPECT_EQ(s3.response.nsg, 1);
  auto s4 = login.step(req(1, 3, true), bytes("MaxRecvDataSegmentLength=65536\0"s));
  EXPECT_EQ(s4.outcome, LoginOutcome::complete_normal) << s4.failure_reason;
}

TEST(LoginState, ChapWrongSecretIsAuthenticationFailure) {
  Fixture f;
  f.chap = secrets();
  auto login = f.make();
  const auto challenge = chap_until_challenge(login);
  auto s3 = login.step(req(0, 1, true), bytes("CHAP_N=alice\0CHAP_R="s + response_for(challenge, "nope") + "\0"s));
  EXPECT_EQ(status_of(s3), login_status::kAuthenticationFailure);
}

TEST(LoginState, MutualChap) {
  Fixture f;
  f.chap = secrets();
  auto login = f.make();
  const auto challenge = chap_until_challenge(login);
  auto s3 = login.step(req(0, 1, true), bytes("CHAP_N=alice\0CHAP_R="s + response_for(challenge, "alice-secret-12") +
                                              "\0CHAP_I=9\0CHAP_C=0x00112233445566778899aabbccddeeff\0"s));
  ASSERT_EQ(s3.outcome, LoginOutcome::in_progress) << s3.failure_reason;
  const auto k = keys_of(s3);
  EXPECT_EQ(find_key(k, "CHAP_N"), "target");
  const auto expected = chap_md5_response(9, "target-secret-12", *decode_chap_binary("0x00112233445566778899aabbccddeeff"));
  EXPECT_EQ(find_key(k, "CHAP_R"), encode_chap_hex(expected));
}

TEST(LoginState, MutualChapReflectionFails) {
  Fixture f;
  f.chap = secrets();
  auto login = f.make();
  const auto challenge = chap_until_challenge(login);
  auto s3 = login.step(req(0, 1, true), bytes("CHAP_N=alice\0CHAP_R="s + response_for(challenge, "alice-secret-12") +
                                              "\0CHAP_I=1\0CHAP_C="s + std::string(*find_key(challenge, "CHAP_C")) +
                                              "\0"s));
  EXPECT_EQ(status_of(s3), login_status::kAuthenticationFailure);
}

TEST(LoginState, ChapRequiredButInitiatorOffersNone) {
  Fixture f;
  f.chap = secrets();
  auto login = f.make();
  auto s = login.step(req(0, 1, true), bytes(kNormalFirst + "AuthMethod=None\0"s));
  EXPECT_EQ(status_of(s), login_status::kAuthenticationFailure);
}

TEST(LoginState, ChapRequiredButSecurityStageSkipped) {
  Fixture f;
  f.chap = secrets();
  auto login = f.make();
  auto s = login.step(req(1, 3, true), bytes(kNormalFirst));
  EXPECT_EQ(status_of(s), login_status::kAuthenticationFailure);
}

TEST(LoginState, DiscoveryChap) {
  Fixture f;
  f.discovery_chap = secrets();
  auto login = f.make();
  auto s1 = login.step(req(0, 1, true),
                       bytes("InitiatorName=iqn.x\0SessionType=Discovery\0AuthMethod=None,CHAP\0"s));
  ASSERT_EQ(s1.outcome, LoginOutcome::in_progress) << s1.failure_reason;
  EXPECT_EQ(find_key(keys_of(s1), "AuthMethod"), "CHAP");
}

TEST(LoginState, NoCredentialsButOnlyChapOffered) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(0, 1, true), bytes(kNormalFirst + "AuthMethod=CHAP\0"s));
  EXPECT_EQ(status_of(s), login_status::kAuthenticationFailure);
}

TEST(LoginState, InvalidStageTransitions) {
  Fixture f;
  auto a = f.make();
  EXPECT_EQ(a.step(req(1, 1, true), bytes(kNormalFirst)).outcome, LoginOutcome::failed);
  auto b = f.make();
  EXPECT_EQ(b.step(req(2, 3, true), bytes(kNormalFirst)).outcome, LoginOutcome::failed);
  auto c = f.make();
  ASSERT_EQ(c.step(req(0, 1, false), bytes(kNormalFirst + "AuthMethod=None\0"s)).outcome, LoginOutcome::in_progress);
  // Still in the security stage: a request claiming the operational stage is out of sequence.
  EXPECT_EQ(c.step(req(1, 3, true), {}).outcome, LoginOutcome::failed);
}

TEST(LoginState, IsidMustNotChange) {
  Fixture f;
  auto login = f.make();
  ASSERT_EQ(login.step(req(0, 1, false), bytes(kNormalFirst)).outcome, LoginOutcome::in_progress);
  auto r = req(0, 1, true);
  r.isid[5] = 9;
  EXPECT_EQ(login.step(r, {}).outcome, LoginOutcome::failed);
}

TEST(LoginState, DuplicateKeyIsInitiatorError) {
  Fixture f;
  auto login = f.make();
  ASSERT_EQ(login.step(req(1, 3, false), bytes(kNormalFirst + "MaxBurstLength=65536\0"s)).outcome,
            LoginOutcome::in_progress);
  auto s = login.step(req(1, 3, true), bytes("MaxBurstLength=65536\0"s));
  EXPECT_EQ(status_of(s), login_status::kInitiatorError);
}

TEST(LoginState, SecurityKeysInOperationalStageFail) {
  Fixture f;
  auto login = f.make();
  auto s = login.step(req(1, 3, true), bytes(kNormalFirst + "AuthMethod=None\0"s));
  EXPECT_EQ(status_of(s), login_status::kInitiatorError);
}

TEST(LoginState, ContinuationAnswersEmptyAndRefusesTransit) {
  Fixture f;
  auto login = f.make();
  auto r = req(0, 1, false);
  r.cont = true;
  auto s = login.continuation(r);
  EXPECT_EQ(s.outcome, LoginOutcome::in_progress);
  EXPECT_TRUE(s.text.empty());
  EXPECT_FALSE(s.response.transit);
  r.transit = true;
  EXPECT_EQ(login.continuation(r).outcome, LoginOutcome::failed);
}

TEST(LoginState, MalformedTextFails) {
  Fixture f;
  auto login = f.make();
  EXPECT_EQ(status_of(login.step(req(0, 1, true), bytes("garbage\0"s))), login_status::kInitiatorError);
}

}  // namespace
}  // namespace portico::iscsi
