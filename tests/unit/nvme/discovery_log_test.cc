// The Discovery log page (offsets: Linux's struct nvmf_disc_rsp_page_hdr, nvmf_disc_rsp_page_entry).
#include <gtest/gtest.h>

#include "core/nvme/discovery_log.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::get16;
using test::get64;

std::vector<DiscoveryEntry> two_entries() {
  DiscoveryEntry v4;
  v4.family = AddressFamily::ipv4;
  v4.port_id = 1;
  v4.service_id = "4420";
  v4.address = "192.0.2.10";
  v4.subsystem_nqn = "nqn.2026-11.io.portico:rbd";
  v4.secure_channel = SecureChannel::not_required;
  v4.sq_flow_control_disable = true;
  DiscoveryEntry v6 = v4;
  v6.family = AddressFamily::ipv6;
  v6.port_id = 2;
  v6.address = "2001:db8::10";
  v6.secure_channel = SecureChannel::required;
  v6.sq_flow_control_disable = false;
  v6.security = TcpSecurityType::tls13;
  v6.flags = kEflagsExplicitPersistentConnection;
  return {v4, v6};
}

TEST(DiscoveryLog, HeaderCountsTheEntries) {
  const auto entries = two_entries();
  const auto log = discovery_log(17, entries);
  ASSERT_EQ(log.size(), 1024u * 3);
  EXPECT_EQ(get64(log, 0), 17u);  // GENCTR
  EXPECT_EQ(get64(log, 8), 2u);   // NUMREC
  EXPECT_EQ(get16(log, 16), 0);   // RECFMT
  EXPECT_TRUE(test::all_zero(log, 18, 1024));
}

TEST(DiscoveryLog, Ipv4Entry) {
  const auto entries = two_entries();
  const auto log = discovery_log(17, entries);
  const size_t e = 1024;
  EXPECT_EQ(log[e + 0], 3);     // TRTYPE TCP
  EXPECT_EQ(log[e + 1], 1);     // ADRFAM IPv4
  EXPECT_EQ(log[e + 2], 2);     // SUBTYPE NVMe
  EXPECT_EQ(log[e + 3], 0x06);  // TREQ: not required, SQ flow control disable
  EXPECT_EQ(get16(log, e + 4), 1);        // PORTID
  EXPECT_EQ(get16(log, e + 6), 0xffff);   // CNTLID: dynamic
  EXPECT_EQ(get16(log, e + 8), 32);       // ASQSZ
  EXPECT_EQ(get16(log, e + 10), 0);       // EFLAGS
  EXPECT_TRUE(test::all_zero(log, e + 12, e + 32));
  EXPECT_EQ(test::cstring_at(log, e + 32, 32), "4420");
  EXPECT_TRUE(test::all_zero(log, e + 36, e + 256));
  EXPECT_EQ(test::cstring_at(log, e + 256, 256), "nqn.2026-11.io.portico:rbd");
  EXPECT_EQ(test::cstring_at(log, e + 512, 256), "192.0.2.10");
  EXPECT_EQ(log[e + 768], 0);  // TSAS SECTYPE none
  EXPECT_TRUE(test::all_zero(log, e + 769, e + 1024));
}

TEST(DiscoveryLog, Ipv6EntryWithTls) {
  const auto entries = two_entries();
  const auto log = discovery_log(17, entries);
  const size_t e = 2048;
  EXPECT_EQ(log[e + 0], 3);
  EXPECT_EQ(log[e + 1], 2);     // ADRFAM IPv6
  EXPECT_EQ(log[e + 3], 0x01);  // TREQ: secure channel required
  EXPECT_EQ(get16(log, e + 4), 2);
  EXPECT_EQ(get16(log, e + 10), 0x0002);  // EPCSD
  EXPECT_EQ(test::cstring_at(log, e + 512, 256), "2001:db8::10");
  EXPECT_EQ(log[e + 768], 2);  // TLS 1.3
}

TEST(DiscoveryLog, RdmaEntryNamesAConnectedQpAndTheIpCm) {
  DiscoveryEntry rdma;
  rdma.transport = TransportType::rdma;
  rdma.service_id = "4420";
  rdma.address = "192.0.2.1";
  rdma.subsystem_nqn = "nqn.2026-11.io.portico:rbd";
  const std::vector<DiscoveryEntry> entries{rdma};
  const auto log = discovery_log(3, entries);
  const size_t e = 1024;
  EXPECT_EQ(log[e + 0], 1);    // TRTYPE RDMA
  EXPECT_EQ(log[e + 768], 1);  // RDMA_QPTYPE: reliable connected
  EXPECT_EQ(log[e + 769], 1);  // RDMA_PRTYPE: no provider specified
  EXPECT_EQ(log[e + 770], 1);  // RDMA_CMS: RDMA_IP_CM
  EXPECT_TRUE(test::all_zero(log, e + 771, e + 1024));
  // The same address and port over TCP is another entry: another generation.
  DiscoveryEntry tcp = rdma;
  tcp.transport = TransportType::tcp;
  const std::vector<DiscoveryEntry> over_tcp{tcp};
  EXPECT_NE(discovery_generation(entries), discovery_generation(over_tcp));
}

TEST(DiscoveryLog, ReferralAndCurrentDiscoveryEntries) {
  DiscoveryEntry current;
  current.subsystem_type = SubsystemType::current_discovery;
  current.subsystem_nqn = kDiscoveryNqn;
  DiscoveryEntry referral;
  referral.subsystem_type = SubsystemType::referral;
  referral.service_id = std::string(40, '9');  // longer than TRSVCID: cut, NUL kept
  const std::vector<DiscoveryEntry> entries{current, referral};
  const auto log = discovery_log(0, entries);
  EXPECT_EQ(log[1024 + 2], 3);
  EXPECT_EQ(test::cstring_at(log, 1024 + 256, 256), "nqn.2014-08.org.nvmexpress.discovery");
  EXPECT_EQ(log[2048 + 2], 1);
  EXPECT_EQ(test::cstring_at(log, 2048 + 32, 32), std::string(31, '9'));
}

TEST(DiscoveryLog, EmptyIsAHeaderAlone) {
  const auto log = discovery_log(5, {});
  ASSERT_EQ(log.size(), 1024u);
  EXPECT_EQ(get64(log, 8), 0u);
}

}  // namespace
}  // namespace portico::nvme
