// The discovery log names each listener's transport: a gateway records its RDMA listeners as
// "rdma:ADDRESS:PORT" beside its TCP ones, and the log lists both for every subsystem.
#include <gtest/gtest.h>

#include "cluster/local/local_cluster_state.h"
#include "core/nvme/subsystem.h"
#include "frontends/nvmeof/server/discovery_service.h"

namespace portico::nvmeof {
namespace {

TEST(DiscoveryTransports, RdmaListenersAreMarkedAndListed) {
  const auto listeners = transport_listeners({"127.0.0.1:4420"}, {"192.0.2.1:4420", "[2001:db8::1]:4420"});
  EXPECT_EQ(listeners, (std::vector<std::string>{"127.0.0.1:4420", "rdma:192.0.2.1:4420", "rdma:[2001:db8::1]:4420"}));

  cluster::LocalClusterState cluster;
  nvme::SubsystemConfig config;
  config.nqn = "nqn.2026-11.io.portico:both";
  nvme::Subsystem subsystem(config, cluster);
  const auto entries = discovery_entries({&subsystem}, cluster, listeners, "nqn.2014-08.org.nvmexpress:uuid:h");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].transport, nvme::TransportType::tcp);
  EXPECT_EQ(entries[0].address, "127.0.0.1");
  EXPECT_EQ(entries[1].transport, nvme::TransportType::rdma);
  EXPECT_EQ(entries[1].address, "192.0.2.1");
  EXPECT_EQ(entries[1].service_id, "4420");
  EXPECT_EQ(entries[1].family, nvme::AddressFamily::ipv4);
  EXPECT_EQ(entries[2].transport, nvme::TransportType::rdma);
  EXPECT_EQ(entries[2].family, nvme::AddressFamily::ipv6);
  EXPECT_EQ(entries[2].address, "2001:db8::1");
  // What does not parse (a transport this release does not know) is skipped.
  const auto skipped = discovery_entries({&subsystem}, cluster, {"fc:nn-0x1:pn-0x2", "127.0.0.1:4420"}, "h");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].transport, nvme::TransportType::tcp);
}

}  // namespace
}  // namespace portico::nvmeof
