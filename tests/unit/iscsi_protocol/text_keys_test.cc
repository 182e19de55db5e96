#include "frontends/iscsi/protocol/text_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::iscsi {
namespace {

using namespace std::string_literals;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(TextKeys, ParsesPairsAndSkipsPadding) {
  const std::string data = "InitiatorName=iqn.x\0SessionType=Normal\0\0\0"s;
  auto keys = parse_text_keys(bytes(data));
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0], (TextKey{"InitiatorName", "iqn.x"}));
  EXPECT_EQ((*keys)[1], (TextKey{"SessionType", "Normal"}));
  EXPECT_EQ(find_key(*keys, "SessionType"), "Normal");
  EXPECT_FALSE(find_key(*keys, "TargetName"));
}

TEST(TextKeys, AcceptsMissingFinalNulAndEmptyValue) {
  auto keys = parse_text_keys(bytes("A=1\0B="s));
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1], (TextKey{"B", ""}));
  EXPECT_TRUE(parse_text_keys({})->empty());
}

TEST(TextKeys, ValueMayContainEquals) {
  auto keys = parse_text_keys(bytes("X-a=b=c\0"s));
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ((*keys)[0].value, "b=c");
}

TEST(TextKeys, RejectsMalformedPairs) {
  EXPECT_FALSE(parse_text_keys(bytes("NoEquals\0"s)).ok());
  EXPECT_FALSE(parse_text_keys(bytes("=value\0"s)).ok());
  EXPECT_FALSE(parse_text_keys(bytes("bad key=1\0"s)).ok());
  EXPECT_FALSE(parse_text_keys(bytes("k\xff=1\0"s)).ok());
}

TEST(TextKeys, EnforcesKeyAndValueLengthLimits) {
  EXPECT_TRUE(parse_text_keys(bytes(std::string(63, 'k') + "=1")).ok());
  EXPECT_FALSE(parse_text_keys(bytes(std::string(64, 'k') + "=1")).ok());
  EXPECT_TRUE(parse_text_keys(bytes("A=" + std::string(255, 'v'))).ok());
  EXPECT_FALSE(parse_text_keys(bytes("A=" + std::string(256, 'v'))).ok());
  // CHAP values and SendTargets may be long (binary values up to 8192 bytes here).
  EXPECT_TRUE(parse_text_keys(bytes("CHAP_C=0x" + std::string(2000, 'a'))).ok());
  EXPECT_FALSE(parse_text_keys(bytes("CHAP_C=0x" + std::string(8200, 'a'))).ok());
}

TEST(TextKeys, EnforcesPairCount) {
  std::string data;
  for (int i = 0; i < 257; ++i) {
    std::string key = "K";  // not "K" + std::to_string(i): a false -Wrestrict from GCC 12 at -O3
    append_text_key(data, key.append(std::to_string(i)), "v");
  }
  EXPECT_FALSE(parse_text_keys(bytes(data)).ok());
  TextKeyLimits limits;
  limits.max_pairs = 300;
  EXPECT_TRUE(parse_text_keys(bytes(data), limits).ok());
}

TEST(TextKeys, EncodeRoundTrips) {
  const std::vector<TextKey> keys{{"HeaderDigest", "None"}, {"MaxBurstLength", "262144"}};
  const std::string wire = encode_text_keys(keys);
  EXPECT_EQ(wire, "HeaderDigest=None\0MaxBurstLength=262144\0"s);
  auto back = parse_text_keys(bytes(wire));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, keys);
}

}  // namespace
}  // namespace portico::iscsi
