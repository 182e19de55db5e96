#include "frontends/iscsi/protocol/chap.h"

#include <gtest/gtest.h>

namespace portico::iscsi {
namespace {

std::vector<uint8_t> v(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Chap, Md5ResponseMatchesRfc1321Vector) {
  // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72: identifier 'a', secret "b", challenge "c".
  const auto r = chap_md5_response('a', "b", v("c"));
  EXPECT_EQ(encode_chap_hex(r), "0x900150983cd24fb0d6963f7d28e17f72");
}

TEST(Chap, DecodesHexAndBase64) {
  EXPECT_EQ(*decode_chap_binary("0x0102ff"), (std::vector<uint8_t>{1, 2, 0xff}));
  EXPECT_EQ(*decode_chap_binary("0XABC"), (std::vector<uint8_t>{0x0a, 0xbc}));
  EXPECT_EQ(*decode_chap_binary("0bAQL/"), (std::vector<uint8_t>{1, 2, 0xff}));
  EXPECT_EQ(*decode_chap_binary("0bYWJj"), v("abc"));
  EXPECT_EQ(*decode_chap_binary("0bYWI="), v("ab"));
  EXPECT_FALSE(decode_chap_binary("0102").ok());
  EXPECT_FALSE(decode_chap_binary("0x").ok());
  EXPECT_FALSE(decode_chap_binary("0xzz").ok());
  EXPECT_FALSE(decode_chap_binary("0b!!!!").ok());
  EXPECT_FALSE(decode_chap_binary("0x" + std::string(4000, '1')).ok());
}

ChapSecrets secrets() {
  return {"alice", "alice-secret-12", "target", "target-secret-12"};
}

TEST(Chap, StartRequiresMd5AndIssuesChallenge) {
  ChapAuthenticator a;
  EXPECT_FALSE(a.start("7").ok());
  auto keys = a.start("7,5");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(find_key(*keys, "CHAP_A"), "5");
  ASSERT_TRUE(find_key(*keys, "CHAP_I"));
  const auto c = decode_chap_binary(*find_key(*keys, "CHAP_C"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), kChapChallengeLength);
}

TEST(Chap, VerifiesCorrectResponse) {
  ChapAuthenticator a;
  auto keys = a.start("5");
  ASSERT_TRUE(keys.ok());
  const auto id = static_cast<uint8_t>(std::stoi(std::string(*find_key(*keys, "CHAP_I"))));
  const auto challenge = *decode_chap_binary(*find_key(*keys, "CHAP_C"));
  const auto response = chap_md5_response(id, "alice-secret-12", challenge);
  auto ok = a.verify({{"CHAP_N", "alice"}, {"CHAP_R", encode_chap_hex(response)}}, secrets());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->empty());
}

TEST(Chap, RejectsWrongSecretWrongNameAndMissingKeys) {
  ChapAuthenticator a;
  a.set_challenge(7, v("0123456789abcdef"));
  const auto good = encode_chap_hex(chap_md5_response(7, "alice-secret-12", v("0123456789abcdef")));
  const auto bad = encode_chap_hex(chap_md5_response(7, "wrong", v("0123456789abcdef")));
  EXPECT_EQ(a.verify({{"CHAP_N", "alice"}, {"CHAP_R", bad}}, secrets()).status().code(), ErrorCode::permission_denied);
  EXPECT_EQ(a.verify({{"CHAP_N", "bob"}, {"CHAP_R", good}}, secrets()).status().code(), ErrorCode::permission_denied);
  EXPECT_FALSE(a.verify({{"CHAP_N", "alice"}}, secrets()).ok());
  EXPECT_TRUE(a.verify({{"CHAP_N", "alice"}, {"CHAP_R", good}}, secrets()).ok());
}

TEST(Chap, MutualChapAnswersInitiatorChallenge) {
  ChapAuthenticator a;
  a.set_challenge(7, v("0123456789abcdef"));
  const auto good = encode_chap_hex(chap_md5_response(7, "alice-secret-12", v("0123456789abcdef")));
  const std::vector<uint8_t> theirs = v("fedcba9876543210");
  auto r = a.verify({{"CHAP_N", "alice"}, {"CHAP_R", good}, {"CHAP_I", "33"}, {"CHAP_C", encode_chap_hex(theirs)}},
                    secrets());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(find_key(*r, "CHAP_N"), "target");
  EXPECT_EQ(find_key(*r, "CHAP_R"), encode_chap_hex(chap_md5_response(33, "target-secret-12", theirs)));
}

TEST(Chap, MutualChapRefusesReflectedChallenge) {
  ChapAuthenticator a;
  a.set_challenge(7, v("0123456789abcdef"));
  const auto good = encode_chap_hex(chap_md5_response(7, "alice-secret-12", v("0123456789abcdef")));
  auto r = a.verify(
      {{"CHAP_N", "alice"}, {"CHAP_R", good}, {"CHAP_I", "7"}, {"CHAP_C", encode_chap_hex(v("0123456789abcdef"))}},
      secrets());
  EXPECT_EQ(r.status().code(), ErrorCode::permission_denied);
}

TEST(Chap, MutualChapWithoutTargetCredentialsFails) {
  ChapAuthenticator a;
  a.set_challenge(7, v("0123456789abcdef"));
  const auto good = encode_chap_hex(chap_md5_response(7, "alice-secret-12", v("0123456789abcdef")));
  ChapSecrets one_way{"alice", "alice-secret-12", "", ""};
  auto r = a.verify({{"CHAP_N", "alice"}, {"CHAP_R", good}, {"CHAP_I", "1"}, {"CHAP_C", "0x01020304"}}, one_way);
  EXPECT_EQ(r.status().code(), ErrorCode::permission_denied);
}

}  // namespace
}  // namespace portico::iscsi
