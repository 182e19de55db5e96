#include "cli/render.h"

#include <gtest/gtest.h>

#include "core/nvme/host.h"

namespace portico::cli {
namespace {

LunReservations sample() {
  LunReservations lun;
  lun.image = "rbd/shared";
  lun.lun_key = "rbd:rbd/1013b582787d";
  lun.object = "portico.lun.rbd:rbd%2F1013b582787d";
  lun.exists = true;
  lun.version = 7;
  lun.state.generation = 5;
  Registrant scsi;
  scsi.initiator = "iqn.2026-11.io.portico:host-a,i,0x000000000001";
  scsi.target_port = "iqn.2026-11.io.portico:shared,t,0x0001";
  scsi.key = 0xabc1;
  Registrant nvme;
  nvme.initiator = std::string(nvme::kHostRegistrantPrefix) + "0011223344556677";
  nvme.all_target_ports = true;
  nvme.key = 0xabc2;
  lun.state.registrants = {scsi, nvme};
  PersistentReservation r;
  r.type = ReservationType::write_exclusive_registrants_only;
  r.holder_initiator = scsi.initiator;
  r.holder_target_port = scsi.target_port;
  lun.state.reservation = r;
  return lun;
}

TEST(Render, ReservationsNameEveryRegistrantItsProtocolAndTheHolder) {
  const std::string text = reservations_text(sample());
  EXPECT_NE(text.find("record version 7, PR generation 5"), std::string::npos) << text;
  EXPECT_NE(text.find("key 0xabc1  scsi  iqn.2026-11.io.portico:host-a,i,0x000000000001  via "
                      "iqn.2026-11.io.portico:shared,t,0x0001  [holder]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("key 0xabc2  nvme  nvme-host:0011223344556677  via every target port\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("reservation: Write Exclusive - Registrants Only, held by iqn.2026-11.io.portico:host-a"),
            std::string::npos)
      << text;
}

TEST(Render, AllRegistrantsTypesMakeEveryRegistrantAHolder) {
  auto lun = sample();
  lun.state.reservation->type = ReservationType::exclusive_access_all_registrants;
  const std::string json = reservations_json(lun);
  EXPECT_NE(json.find("\"type\": \"Exclusive Access - All Registrants\""), std::string::npos) << json;
  size_t holders = 0;
  for (size_t at = json.find("\"holder\": true"); at != std::string::npos; at = json.find("\"holder\": true", at + 1)) {
    ++holders;
  }
  EXPECT_EQ(holders, 2u) << json;
  EXPECT_EQ(reservations_text(lun).find("held by"), std::string::npos) << "no single holder to name";
}

TEST(Render, ALunNoGatewayHasServedHasNoRecord) {
  LunReservations lun;
  lun.image = "rbd/new";
  lun.lun_key = "rbd:rbd/1";
  EXPECT_NE(reservations_text(lun).find("no reservation record"), std::string::npos);
  EXPECT_NE(reservations_json(lun).find("\"exists\": false"), std::string::npos);
}

TEST(Render, GatewaysShowStateAndPortals) {
  GatewayStatus g;
  g.record.name = "gw1";
  g.record.target_port_group = 1;
  g.record.relative_port_id = 1;
  g.record.instance_id = 4141;
  g.record.address = "127.0.0.1:0/1";
  g.record.iscsi_portals = {"127.0.0.1:3260"};
  g.record.nvme_listeners = {"127.0.0.1:4420"};
  g.heartbeat_age_ms = 12500;
  g.lease_ms = 10000;
  g.live = false;
  const std::string text = gateways_text({g});
  EXPECT_NE(text.find("expired"), std::string::npos) << text;
  EXPECT_NE(text.find("iscsi 127.0.0.1:3260 nvme 127.0.0.1:4420"), std::string::npos) << text;
  EXPECT_NE(gateways_json({g}).find("\"live\": false"), std::string::npos);
  EXPECT_NE(gateways_text({}).find("no gateway"), std::string::npos);
}

}  // namespace
}  // namespace portico::cli
