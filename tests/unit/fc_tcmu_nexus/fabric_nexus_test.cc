// The nexus a TCMU backstore device stands for: the initiator's TransportID per fabric (SPC-4
// 7.6.4), and the name PERSISTENT RESERVE OUT's SPEC_I_PT parses back to the same initiator.
#include "frontends/fc_tcmu/handler/fabric_nexus.h"

#include <gtest/gtest.h>

#include <variant>

#include "core/scsi/reservations/transport_id.h"

namespace portico::tcmu {
namespace {

FabricPort port(Fabric fabric, std::string initiator) {
  FabricPort p;
  p.fabric = fabric;
  p.initiator = std::move(initiator);
  p.target_port = "naa.5001405000000b01";
  p.target_name = "iqn.2026-11.io.portico:tcmu";
  p.relative_port_id = 257;
  p.target_port_group = 1;
  return p;
}

// The initiator port name parse_transport_id() gives for the nexus's own TransportID.
std::string parsed_name(const scsi::ItNexus& nexus) {
  auto parsed = scsi::parse_transport_id(nexus.transport_id, 0);
  EXPECT_TRUE(std::holds_alternative<scsi::ParsedTransportId>(parsed));
  return std::holds_alternative<scsi::ParsedTransportId>(parsed) ? std::get<scsi::ParsedTransportId>(parsed).initiator
                                                                   : "";
}

TEST(FabricNexus, SasAddressOfATcmLoopInitiator) {
  auto nexus = fabric_nexus(port(Fabric::sas, "naa.5001405000000A01"));
  ASSERT_TRUE(nexus.ok()) << nexus.status().message();
  EXPECT_EQ(nexus->initiator_port_name, "naa.5001405000000a01");
  EXPECT_EQ(nexus->protocol_identifier, scsi::kProtocolSas);
  ASSERT_EQ(nexus->transport_id.size(), 24u);
  EXPECT_EQ(nexus->transport_id[0], 0x06);  // format 00b, SAS
  EXPECT_EQ(nexus->transport_id[4], 0x50);  // SAS address from byte 4
  EXPECT_EQ(nexus->transport_id[11], 0x01);
  EXPECT_EQ(parsed_name(*nexus), nexus->initiator_port_name);
  EXPECT_EQ(nexus->target_port_name, "naa.5001405000000b01");
  EXPECT_EQ(nexus->relative_target_port_id, 257);
}

TEST(FabricNexus, FibreChannelWwpnInColonForm) {
  auto nexus = fabric_nexus(port(Fabric::fibre_channel, "21:00:00:24:ff:31:2a:4c"));
  ASSERT_TRUE(nexus.ok()) << nexus.status().message();
  EXPECT_EQ(nexus->initiator_port_name, "naa.21000024ff312a4c");
  EXPECT_EQ(nexus->transport_id[0], 0x00);  // FC
  EXPECT_EQ(nexus->transport_id[8], 0x21);  // N_Port_Name from byte 8
  EXPECT_EQ(nexus->transport_id[15], 0x4c);
  EXPECT_EQ(parsed_name(*nexus), nexus->initiator_port_name);
}

TEST(FabricNexus, SrpInitiatorPortIdentifier) {
  auto nexus = fabric_nexus(port(Fabric::srp, "0xfe800000000000000002c90300a1b2c3"));
  ASSERT_TRUE(nexus.ok()) << nexus.status().message();
  EXPECT_EQ(nexus->transport_id[0], 0x04);
  EXPECT_EQ(nexus->transport_id[8], 0xfe);
  EXPECT_EQ(nexus->transport_id[23], 0xc3);
  EXPECT_EQ(parsed_name(*nexus), nexus->initiator_port_name);
}

TEST(FabricNexus, IscsiThroughLiosOwnFabricIsAPortOrTheInitiatorDevice) {
  auto nexus = fabric_nexus(port(Fabric::iscsi, "iqn.2026-11.io.portico:host,i,0x400001370000"));
  ASSERT_TRUE(nexus.ok()) << nexus.status().message();
  EXPECT_EQ(nexus->initiator_name, "iqn.2026-11.io.portico:host");
  EXPECT_EQ(nexus->transport_id[0], 0x45);  // format 01b: name and ISID
  EXPECT_EQ(parsed_name(*nexus), nexus->initiator_port_name);

  // A node ACL: every session of the name, so the device name and a format 00b TransportID.
  auto device = fabric_nexus(port(Fabric::iscsi, "iqn.2026-11.io.portico:host"));
  ASSERT_TRUE(device.ok()) << device.status().message();
  EXPECT_EQ(device->transport_id[0], 0x05);
  EXPECT_EQ(device->initiator_name, "iqn.2026-11.io.portico:host");
  EXPECT_EQ(device->initiator_port_name, "iqn.2026-11.io.portico:host");
  EXPECT_EQ(parsed_name(*device), "iqn.2026-11.io.portico:host");

  EXPECT_FALSE(fabric_nexus(port(Fabric::iscsi, ",i,0x400001370000")).ok());
  EXPECT_FALSE(fabric_nexus(port(Fabric::iscsi, "")).ok());
  EXPECT_FALSE(fabric_nexus(port(Fabric::iscsi, "iqn.2026-11.io.portico:a b")).ok());
}

TEST(FabricNexus, NamesAFabricCannotHaveAreRefused) {
  EXPECT_FALSE(fabric_nexus(port(Fabric::sas, "naa.50014050")).ok());
  EXPECT_FALSE(fabric_nexus(port(Fabric::sas, "naa.5001405000000a0g")).ok());
  EXPECT_FALSE(fabric_nexus(port(Fabric::fibre_channel, "21:00:00:24:ff:31:2a")).ok());
  EXPECT_FALSE(fabric_nexus(port(Fabric::srp, "naa.5001405000000a01")).ok());
  auto no_port = port(Fabric::sas, "naa.5001405000000a01");
  no_port.target_port.clear();
  EXPECT_FALSE(fabric_nexus(no_port).ok());
  EXPECT_FALSE(parse_fabric("usb").ok());
}

}  // namespace
}  // namespace portico::tcmu
