#include <gtest/gtest.h>

#include "cluster/rados/membership.h"

namespace portico::cluster::rados {
namespace {

TEST(GatewayRecord, RoundTrips) {
  GatewayRecord record{"gw-a", 3, 3, 4141, "127.0.0.1:0/3349102", 1764412345678, {}, {}, 0, 0, 0, {}};
  auto parsed = parse_gateway_record("gw-a", encode_gateway_record(record));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, record);
}

TEST(GatewayRecord, NvmeListenersRoundTripAndAnOlderRecordHasNone) {
  GatewayRecord record{"gw-a", 3, 3, 4141, "127.0.0.1:0/1", 17, {"127.0.0.1:4420", "[::1]:4420"}, {}, 0, 0, 0, {}};
  const std::string text = encode_gateway_record(record);
  EXPECT_NE(text.find(" nvme=127.0.0.1:4420,[::1]:4420"), std::string::npos) << text;
  auto parsed = parse_gateway_record("gw-a", text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, record);
  auto older = parse_gateway_record("gw-b", "v=1 tpg=2 port=2 instance=9 addr=a heartbeat_ms=5");
  ASSERT_TRUE(older.ok());
  EXPECT_TRUE(older->nvme_listeners.empty());
}

TEST(GatewayRecord, IscsiPortalsRoundTripNextToNvmeListeners) {
  GatewayRecord record{"gw-a", 2, 2, 7, "127.0.0.1:0/1", 17, {"127.0.0.2:4420"}, {"127.0.0.2:3260", "[::1]:3261"}, 3000, 7, 0, {}};
  const std::string text = encode_gateway_record(record);
  EXPECT_NE(text.find(" iscsi=127.0.0.2:3260,[::1]:3261"), std::string::npos) << text;
  EXPECT_NE(text.find(" lease_ms=3000"), std::string::npos) << text;
  EXPECT_NE(text.find(" config=7"), std::string::npos) << text;
  auto parsed = parse_gateway_record("gw-a", text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, record);
  auto older = parse_gateway_record("gw-b", "v=1 tpg=2 port=2 instance=9 addr=a heartbeat_ms=5 nvme=x:1");
  ASSERT_TRUE(older.ok());
  EXPECT_TRUE(older->iscsi_portals.empty());
}

TEST(GatewayRecord, ARefusedVersionKeepsItsReasonWhole) {
  GatewayRecord record{"gw-a", 2, 2, 7, "127.0.0.1:0/1", 17, {}, {}, 3000, 7, 8, {}};
  record.config_refused_why = "target iqn.2026-11.io.portico:a: 100% wrong\nnext=line";
  const std::string text = encode_gateway_record(record);
  EXPECT_NE(text.find(" refused=8 refused_why=target%20iqn.2026-11.io.portico:a:%20100%25%20wrong"), std::string::npos)
      << text;
  auto parsed = parse_gateway_record("gw-a", text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, record);
  // Nothing refused since: no fields.
  record.config_refused = 0;
  record.config_refused_why.clear();
  EXPECT_EQ(encode_gateway_record(record).find("refused"), std::string::npos);
  // Each field stands on its own: whatever a record held survives a round trip (fuzz_gateway_record).
  auto odd = parse_gateway_record("gw-a", "v=1 tpg=2 port=2 refused_why=a%20b%zz");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->config_refused_why, "a b%zz");
  auto again = parse_gateway_record("gw-a", encode_gateway_record(*odd));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *odd);
}

TEST(GatewayRecord, UnknownKeysFromANewerGatewayAreIgnored) {
  auto parsed = parse_gateway_record("gw", "v=1 tpg=2 port=2 instance=9 addr=a heartbeat_ms=5 colour=blue");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->target_port_group, 2);
}

TEST(GatewayRecord, MalformedRecordsAreRejectedNamingTheGateway) {
  for (const char* text : {"", "tpg=1", "tpg=0 port=1", "tpg=1 port=x", "tpg=70000 port=1", "v=2 tpg=1 port=1",
                           "tpg=1 port=1 heartbeat_ms", "tpg=1 port=1 instance=-1"}) {
    auto parsed = parse_gateway_record("gw-b", text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("gw-b"), std::string::npos);
  }
}

TEST(GatewayRecord, SmallestFreeIdFillsGaps) {
  EXPECT_EQ(smallest_free_id({}), 1);
  std::vector<GatewayRecord> records(2);
  records[0].target_port_group = records[0].relative_port_id = 1;
  records[1].target_port_group = records[1].relative_port_id = 3;
  EXPECT_EQ(smallest_free_id(records), 2);
}

}  // namespace
}  // namespace portico::cluster::rados
