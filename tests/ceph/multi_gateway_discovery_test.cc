// iSCSI discovery across the cluster: SendTargets through any gateway lists the shared target
// with every live gateway's portal, each under that gateway's own portal group tag (its relative
// port id), so a host that discovers through one gateway finds every path; a gateway whose lease
// ran out is no longer listed.
#include <iscsi/iscsi.h>

#include <map>
#include <set>
#include <thread>

#include "tests/ceph/multi_gateway_fixture.h"

namespace portico::testing::mgw {
namespace {

// target name -> its "address:port,tag" entries, from a discovery session on `portal`.
std::map<std::string, std::set<std::string>> send_targets(const std::string& portal) {
  std::map<std::string, std::set<std::string>> out;
  iscsi_context* iscsi = iscsi_create_context("iqn.2026-11.io.portico:discovery-host");
  if (iscsi == nullptr) return out;
  iscsi_set_session_type(iscsi, ISCSI_SESSION_DISCOVERY);
  iscsi_set_timeout(iscsi, 10);
  if (iscsi_connect_sync(iscsi, portal.c_str()) == 0 && iscsi_login_sync(iscsi) == 0) {
    if (iscsi_discovery_address* found = iscsi_discovery_sync(iscsi)) {
      for (auto* target = found; target != nullptr; target = target->next) {
        auto& portals = out[target->target_name];
        for (auto* p = target->portals; p != nullptr; p = p->next) portals.insert(p->portal);
      }
      iscsi_free_discovery_data(iscsi, found);
    }
    iscsi_logout_sync(iscsi);
  }
  iscsi_destroy_context(iscsi);
  return out;
}

TEST_F(MultiGateway, SendTargetsThroughEitherGatewayListsEveryGatewaysPortal) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  // A gateway learns of one that joined after it at its next membership heartbeat.
  const auto started = Clock::now();
  while (send_targets(gateway(1).portal())[kTargetIqn].size() < 2 && ms_since(started) < 10000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("[ figures ] gw1 listed gw2's portal %.0f ms after gw2 started (heartbeat %lld ms)\n", ms_since(started),
              static_cast<long long>(ClusterTimings::heartbeat.count()));
  for (int through : {1, 2}) {
    const auto listing = send_targets(gateway(through).portal());
    ASSERT_EQ(listing.count(kTargetIqn), 1u) << "through gw" << through;
    const auto& portals = listing.at(kTargetIqn);
    ASSERT_EQ(portals.size(), 2u) << "through gw" << through;
    std::set<std::string> addresses;
    std::set<std::string> tags;
    for (const auto& entry : portals) {
      const size_t comma = entry.rfind(',');
      ASSERT_NE(comma, std::string::npos) << entry;
      addresses.insert(entry.substr(0, comma));
      tags.insert(entry.substr(comma + 1));
    }
    EXPECT_EQ(addresses, (std::set<std::string>{gateway(1).portal(), gateway(2).portal()})) << "through gw" << through;
    EXPECT_EQ(tags.size(), 2u) << "one portal group tag per gateway";
  }
  // A host logs in through the portal it was given for the other gateway.
  std::string error;
  auto through_gw2 = Initiator::connect(gateway(2).portal(), "iqn.2026-11.io.portico:discovered-path", &error);
  ASSERT_TRUE(through_gw2) << error;
  auto ready = through_gw2->test_unit_ready();
  if (ready.has_sense(sense_key::kUnitAttention)) ready = through_gw2->test_unit_ready();  // power on, reset
  EXPECT_TRUE(ready.good()) << ready.describe();
}

TEST_F(MultiGateway, SendTargetsDropsAGatewayWhoseLeaseRanOut) {
  ASSERT_NO_FATAL_FAILURE(start_gateways(2));
  ASSERT_EQ(send_targets(gateway(2).portal()).at(kTargetIqn).size(), 2u);
  const auto killed = Clock::now();
  gateway(1).kill_hard();
  std::set<std::string> portals;
  while (ms_since(killed) < 30000) {
    portals = send_targets(gateway(2).portal())[kTargetIqn];
    if (portals.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(portals.size(), 1u);
  EXPECT_EQ(portals.begin()->rfind(gateway(2).portal() + ",", 0), 0u) << *portals.begin();
  std::printf("[ figures ] gw1's portal left gw2's SendTargets answer %.0f ms after the kill (lease %lld ms)\n",
              ms_since(killed), static_cast<long long>(ClusterTimings::lease.count()));
}

}  // namespace
}  // namespace portico::testing::mgw
