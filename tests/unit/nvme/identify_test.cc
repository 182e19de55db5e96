// Identify data (offsets: Linux's struct nvme_id_ctrl, nvme_id_ns, nvme_ns_id_desc).
#include <gtest/gtest.h>

#include "core/nvme/identify.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::get16;
using test::get32;
using test::get64;

LunIdentity sample_identity() {
  LunIdentity id;
  id.naa = 0x3c1543245209646eull;
  id.serial = "0a8c01908dd83c99";
  id.extension = 0x232f4993550d4b33ull;
  return id;
}

ControllerInfo sample_controller() {
  ControllerInfo c;
  c.vendor_id = 0x1b36;
  c.subsystem_vendor_id = 0x1af4;
  c.serial = "0a8c01908dd83c99";
  c.model = "Portico RBD";
  c.firmware = "0.1.0";
  c.ieee_oui = 0x525400;
  c.max_transfer_pages = 5;
  c.controller_id = 0x0021;
  c.ana_group_max = 16;
  c.ana_group_count = 16;
  c.max_commands = 128;
  c.namespace_count = 1;
  c.subsystem_nqn = "nqn.2026-11.io.portico:rbd";
  c.in_capsule_data_bytes = 8192;
  return c;
}

TEST(IdentifyController, FieldsAtTheirOffsets) {
  const auto id = identify_controller(sample_controller());
  ASSERT_EQ(id.size(), 4096u);
  EXPECT_EQ(get16(id, 0), 0x1b36);
  EXPECT_EQ(get16(id, 2), 0x1af4);
  EXPECT_EQ(test::text_at(id, 4, 20), "0a8c01908dd83c99    ");
  EXPECT_EQ(test::text_at(id, 24, 40), "Portico RBD" + std::string(29, ' '));
  EXPECT_EQ(test::text_at(id, 64, 8), "0.1.0   ");
  EXPECT_EQ(id[72], 6);                                       // RAB
  EXPECT_EQ(id[73], 0x00);                                    // IEEE OUI, LSB first
  EXPECT_EQ(id[74], 0x54);
  EXPECT_EQ(id[75], 0x52);
  EXPECT_EQ(id[76], 0x0b);                                    // CMIC: multi-port, multi-controller, ANA
  EXPECT_EQ(id[77], 5);                                       // MDTS
  EXPECT_EQ(get16(id, 78), 0x0021);                           // CNTLID
  EXPECT_EQ(get32(id, 80), 0x00020000u);                      // VER 2.0
  EXPECT_EQ(get32(id, 92), (1u << 8) | (1u << 11));           // OAES
  EXPECT_EQ(get32(id, 96), 1u);                               // CTRATT: 128-bit host ID
  EXPECT_EQ(id[111], 0x01);                                   // CNTRLTYPE: I/O
  EXPECT_EQ(get16(id, 256), 0);                               // OACS
  EXPECT_EQ(id[258], 3);                                      // ACL
  EXPECT_EQ(id[259], 3);                                      // AERL
  EXPECT_EQ(id[260], 0x03);                                   // FRMW
  EXPECT_EQ(id[261], 0x04);                                   // LPA: extended data
  EXPECT_EQ(id[262], 0);                                      // ELPE
  EXPECT_EQ(id[263], 0);                                      // NPSS
  EXPECT_EQ(get16(id, 320), 10);                              // KAS
  EXPECT_EQ(id[342], 10);                                     // ANATT
  EXPECT_EQ(id[343], 0x1f);                                   // ANACAP
  EXPECT_EQ(get32(id, 344), 16u);                             // ANAGRPMAX
  EXPECT_EQ(get32(id, 348), 16u);                             // NANAGRPID
  EXPECT_EQ(id[512], 0x66);                                   // SQES
  EXPECT_EQ(id[513], 0x44);                                   // CQES
  EXPECT_EQ(get16(id, 514), 128);                             // MAXCMD
  EXPECT_EQ(get32(id, 516), 1u);                              // NN
  EXPECT_EQ(get32(id, 540), 1u) << "MNAN: at least 1 and at most NN, or Linux refuses multipath";
  EXPECT_EQ(get16(id, 520), 0x01 | 0x04 | 0x08 | 0x20 | 0x80);  // ONCS, no Write Uncorrectable
  EXPECT_EQ(get16(id, 522), 1);                               // FUSES
  EXPECT_EQ(id[525], 0);                                      // VWC
  EXPECT_EQ(get32(id, 536), 0x00100001u);                     // SGLS
  EXPECT_EQ(test::cstring_at(id, 768, 256), "nqn.2026-11.io.portico:rbd");
  EXPECT_TRUE(test::all_zero(id, 768 + 26, 1024));
  EXPECT_EQ(get32(id, 1792), (64u + 8192u) / 16u);            // IOCCSZ
  EXPECT_EQ(get32(id, 1796), 1u);                             // IORCSZ
  EXPECT_EQ(get16(id, 1800), 0);                              // ICDOFF
  EXPECT_EQ(id[1802], 0);                                     // FCATT: dynamic
  EXPECT_EQ(id[1803], 1);                                     // MSDBD
  EXPECT_TRUE(test::all_zero(id, 2048, 4096));                // power states, vendor specific
}

TEST(IdentifyController, DiscoveryControllerAndVersion14) {
  ControllerInfo c;
  c.type = ControllerType::discovery;
  c.version = kVersion1_4;
  c.multi_port = false;
  c.multi_controller = false;
  c.ana_reporting = false;
  c.serial = std::string(25, 'x');  // longer than SN: cut
  c.model = "bad\x01name";
  c.subsystem_nqn = "nqn.2014-08.org.nvmexpress.discovery";
  const auto id = identify_controller(c);
  EXPECT_EQ(id[111], 0x02);
  EXPECT_EQ(get32(id, 80), 0x00010400u);
  EXPECT_EQ(id[76], 0);
  EXPECT_EQ(id[343], 0);
  EXPECT_EQ(test::text_at(id, 4, 20), std::string(20, 'x'));
  EXPECT_EQ(test::text_at(id, 24, 8), "bad?name");
  EXPECT_EQ(get32(id, 536), 0x1u);  // no in-capsule data: no offset descriptors
  EXPECT_EQ(test::cstring_at(id, 768, 256), "nqn.2014-08.org.nvmexpress.discovery");
  // Over RDMA the controller also takes Keyed SGL Data Blocks (Linux's RDMA host requires bit 2).
  c.keyed_sgls = true;
  EXPECT_EQ(get32(identify_controller(c), 536), 0x5u);
}

TEST(IdentifyController, SubsystemNqnKeepsATerminatingNul) {
  ControllerInfo c;
  c.subsystem_nqn = std::string(300, 'n');
  const auto id = identify_controller(c);
  EXPECT_EQ(test::cstring_at(id, 768, 256), std::string(255, 'n'));
  EXPECT_EQ(id[1023], 0);
}

TEST(IdentifyNamespace, FieldsAtTheirOffsets) {
  NamespaceInfo ns;
  ns.size_blocks = 0x200000;
  ns.capacity_blocks = 0x200000;
  ns.used_blocks = 0x1000;
  ns.block_size = 4096;
  ns.thin_provisioned = true;
  ns.deallocate_features = 0x01;
  ns.ana_group_id = 2;
  ns.identity = sample_identity();
  const auto id = identify_namespace(ns);
  ASSERT_EQ(id.size(), 4096u);
  EXPECT_EQ(get64(id, 0), 0x200000u);   // NSZE
  EXPECT_EQ(get64(id, 8), 0x200000u);   // NCAP
  EXPECT_EQ(get64(id, 16), 0x1000u);    // NUSE
  EXPECT_EQ(id[24], 0x01);              // NSFEAT: thin
  EXPECT_EQ(id[25], 0);                 // NLBAF
  EXPECT_EQ(id[26], 0);                 // FLBAS
  EXPECT_EQ(id[30], 0x01);              // NMIC: shared
  EXPECT_EQ(id[31], 0xff);              // RESCAP: PTPL, six types, IEKEY
  EXPECT_EQ(id[33], 0x01);              // DLFEAT
  EXPECT_EQ(get32(id, 92), 2u);         // ANAGRPID
  EXPECT_EQ(id[99], 0);                 // NSATTR
  const auto nguid = ns.identity.nguid();
  const auto eui64 = ns.identity.eui64();
  EXPECT_TRUE(std::equal(nguid.begin(), nguid.end(), id.begin() + 104));
  EXPECT_TRUE(std::equal(eui64.begin(), eui64.end(), id.begin() + 120));
  EXPECT_EQ(get16(id, 128), 0);         // LBAF0 MS
  EXPECT_EQ(id[130], 12);               // LBAF0 LBADS: 4096
  EXPECT_EQ(id[131], 0);                // LBAF0 RP
  EXPECT_TRUE(test::all_zero(id, 132, 4096));
}

TEST(IdentifyNamespace, WriteProtectedWithoutPtplOrReservations) {
  NamespaceInfo ns;
  ns.block_size = 512;
  ns.write_protected = true;
  ns.persist_through_power_loss = false;
  ns.shared = false;
  auto id = identify_namespace(ns);
  EXPECT_EQ(id[99], 0x01);
  EXPECT_EQ(id[31], 0xfe);
  EXPECT_EQ(id[30], 0x00);
  EXPECT_EQ(id[130], 9);
  ns.reservations = false;
  EXPECT_EQ(identify_namespace(ns)[31], 0x00);
}

TEST(ActiveNamespaceList, ListsNsidsAboveTheGivenOneAscending) {
  const std::vector<uint32_t> active{7, 1, 3, 3, 12};
  auto list = active_namespace_list(active, 1);
  ASSERT_EQ(list.size(), 4096u);
  EXPECT_EQ(get32(list, 0), 3u);
  EXPECT_EQ(get32(list, 4), 7u);
  EXPECT_EQ(get32(list, 8), 12u);
  EXPECT_TRUE(test::all_zero(list, 12, 4096));
  EXPECT_TRUE(test::all_zero(active_namespace_list(active, 12), 0, 4096));
  EXPECT_EQ(get32(active_namespace_list(active, 0), 0), 1u);
}

TEST(ActiveNamespaceList, StopsAt1024Entries) {
  std::vector<uint32_t> many;
  for (uint32_t i = 1; i <= 1500; ++i) many.push_back(i);
  auto list = active_namespace_list(many, 0);
  ASSERT_EQ(list.size(), 4096u);
  EXPECT_EQ(get32(list, 0), 1u);
  EXPECT_EQ(get32(list, 4092), 1024u);
  EXPECT_EQ(get32(active_namespace_list(many, 1000), 0), 1001u);
}

TEST(NamespaceDescriptors, EqualTheUnitsIdentity) {
  const LunIdentity identity = sample_identity();
  const auto list = namespace_descriptor_list(identity);
  ASSERT_EQ(list.size(), 4096u);
  const auto eui64 = identity.eui64();
  const auto nguid = identity.nguid();
  const auto uuid = identity.uuid();
  // EUI-64: NIDT 1, NIDL 8, then 2 reserved bytes.
  EXPECT_EQ(list[0], 0x01);
  EXPECT_EQ(list[1], 8);
  EXPECT_EQ(get16(list, 2), 0);
  EXPECT_TRUE(std::equal(eui64.begin(), eui64.end(), list.begin() + 4));
  // NGUID at 12: NIDT 2, NIDL 16.
  EXPECT_EQ(list[12], 0x02);
  EXPECT_EQ(list[13], 16);
  EXPECT_TRUE(std::equal(nguid.begin(), nguid.end(), list.begin() + 16));
  // UUID at 32: NIDT 3, NIDL 16.
  EXPECT_EQ(list[32], 0x03);
  EXPECT_EQ(list[33], 16);
  EXPECT_TRUE(std::equal(uuid.begin(), uuid.end(), list.begin() + 36));
  // CSI at 52: NIDT 4, NIDL 1, NVM command set 0.
  EXPECT_EQ(list[52], 0x04);
  EXPECT_EQ(list[53], 1);
  EXPECT_EQ(list[56], 0x00);
  EXPECT_TRUE(test::all_zero(list, 57, 4096));  // a zero NIDT ends the list
  EXPECT_TRUE(test::all_zero(namespace_descriptor_list(identity, false), 52, 4096));
}

}  // namespace
}  // namespace portico::nvme
