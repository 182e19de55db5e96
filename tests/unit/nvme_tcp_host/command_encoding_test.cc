// The host library's pure parts: SQE fields, ICResp handling, Identify and report parsing, and
// the words for statuses. Identify data comes from the target's own builders (core/nvme), so
// the host's offsets are checked against the bytes the target will send.
#include <gtest/gtest.h>

#include "core/common/little_endian.h"
#include "core/nvme/identify.h"
#include "core/nvme/sqe.h"
#include "tools/nvme_tcp/admin_commands.h"
#include "tools/nvme_tcp/connection_setup.h"
#include "tools/nvme_tcp/io_commands.h"
#include "tools/nvme_tcp/reservation_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host {
namespace {

TEST(CommandEncoding, SglAndCid_AreWhatTheTargetDecodes) {
  Sqe sqe = make_sqe(0x02, 1);
  set_fuse(sqe, nvme::FusedOperation::second);
  set_cid(sqe, 0x0102);
  set_sgl(sqe, nvme::kSglTransportData, 8192);
  const auto decoded = nvme::decode_sqe(sqe);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->cid, 0x0102);
  EXPECT_EQ(decoded->fuse, nvme::FusedOperation::second);
  EXPECT_EQ(decoded->psdt, nvme::DataPointerType::sgl_metadata_buffer);
  EXPECT_EQ(decoded->sgl.identifier, 0x5a);
  EXPECT_EQ(decoded->sgl.length, 8192u);
  EXPECT_EQ(cid_of(sqe), 0x0102);
}

TEST(CommandEncoding, Read_SplitsSlbaAndSetsZeroBasedNlb) {
  std::vector<uint8_t> buffer(4096);
  const Command c = read_command({7, 0x123456789aull, 8}, buffer, true);
  const auto sqe = *nvme::decode_sqe(c.sqe);
  EXPECT_EQ(sqe.nsid, 7u);
  EXPECT_EQ(sqe.cdw(10), 0x3456789au);
  EXPECT_EQ(sqe.cdw(11), 0x12u);
  EXPECT_EQ(sqe.cdw(12), 7u | (1u << 30));
  EXPECT_EQ(c.data_in.size(), 4096u);
}

TEST(CommandEncoding, GetLogPage_SplitsNumdIntoNumdlAndNumdu) {
  LogPageArgs args;
  args.lid = 0x80;
  args.length = (0x40000 + 1) * 4;
  args.lsp = 1;
  args.retain_async_event = true;
  args.lsi = 9;
  args.offset = 0x100000004ull;
  const auto sqe = *nvme::decode_sqe(get_log_page_sqe(args));
  EXPECT_EQ(sqe.cdw(10), 0x80u | (1u << 8) | (1u << 15));  // NUMDL 0
  EXPECT_EQ(sqe.cdw(11), 0x4u | (9u << 16));               // NUMDU 4, LSI 9
  EXPECT_EQ(sqe.cdw(12), 4u);
  EXPECT_EQ(sqe.cdw(13), 1u);
}

TEST(CommandEncoding, IcResp_SetsTheHostParametersAndRejectsAnUnaskedDigest) {
  const nvmeof::IcReq request = make_ic_req(TransportOptions{true, false, 3});
  EXPECT_EQ(request.maxr2t, 0u);
  auto params = accept_ic_resp(request, nvmeof::IcResp{0, 2, true, false, 65536});
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->receive, nvmeof::Direction::controller_to_host);
  EXPECT_EQ(params->hpda, 3);
  EXPECT_EQ(params->cpda, 2);
  EXPECT_EQ(params->max_h2c_data, 65536u);
  EXPECT_FALSE(accept_ic_resp(request, nvmeof::IcResp{0, 0, true, true, 4096}).ok());
  EXPECT_EQ(accept_ic_resp(request, nvmeof::IcResp{0, 0, false, false, 4096}).status().code(), ErrorCode::unsupported);
}

TEST(CommandEncoding, IdentifyController_ReadsTheFieldsTheTargetWrites) {
  nvme::ControllerInfo info;
  info.serial = "SN42";
  info.model = "Portico";
  info.firmware = "0.1";
  info.controller_id = 0x0a0b;
  info.max_commands = 128;
  info.namespace_count = 4;
  info.max_transfer_pages = 5;
  info.subsystem_nqn = "nqn.2026-11.io.portico:sub";
  info.in_capsule_data_bytes = 16384;
  info.volatile_write_cache = true;
  const auto data = nvme::identify_controller(info);
  const ControllerIdentity id = parse_identify_controller(IdentifyData(data.data(), nvme::kIdentifySize));
  EXPECT_EQ(id.serial, "SN42");
  EXPECT_EQ(id.model, "Portico");
  EXPECT_EQ(id.firmware, "0.1");
  EXPECT_EQ(id.controller_id, 0x0a0b);
  EXPECT_EQ(id.max_commands, 128);
  EXPECT_EQ(id.namespace_count, 4u);
  EXPECT_EQ(id.mdts, 5);
  EXPECT_EQ(id.version, nvme::kVersion2_0);
  EXPECT_EQ(id.subsystem_nqn, info.subsystem_nqn);
  EXPECT_EQ(id.in_capsule_data_bytes(), 16384u);
  EXPECT_EQ(id.oncs & 0x21, 0x21);  // Compare and reservations
  EXPECT_EQ(id.fuses, 1);
  EXPECT_TRUE(id.volatile_write_cache);
  EXPECT_EQ(id.msdbd, 1);
}

TEST(CommandEncoding, IdentifyNamespace_ReadsTheBlockSizeOfTheSelectedFormat) {
  nvme::NamespaceInfo info;
  info.size_blocks = 1000;
  info.capacity_blocks = 900;
  info.used_blocks = 10;
  info.block_size = 4096;
  const auto data = nvme::identify_namespace(info);
  const NamespaceIdentity ns = parse_identify_namespace(IdentifyData(data.data(), nvme::kIdentifySize));
  EXPECT_EQ(ns.size_blocks, 1000u);
  EXPECT_EQ(ns.capacity_blocks, 900u);
  EXPECT_EQ(ns.used_blocks, 10u);
  EXPECT_EQ(ns.block_size, 4096u);
  EXPECT_EQ(ns.rescap, 0xff);
}

TEST(CommandEncoding, ReservationReport_CompactEntriesHaveHostIdBeforeKey) {
  std::vector<uint8_t> data(24 + 2 * 24, 0);
  store_le32(data.data(), 3);
  data[4] = 5;
  store_le16(data.data() + 5, 2);
  store_le16(data.data() + 24, 0x0001);
  data[24 + 2] = 1;
  store_le64(data.data() + 24 + 8, 0x1122334455667788ull);  // HOSTID
  store_le64(data.data() + 24 + 16, 0xaaaa);                // RKEY
  store_le64(data.data() + 48 + 16, 0xbbbb);
  const ReservationStatus s = parse_reservation_report(data, false);
  EXPECT_EQ(s.generation, 3u);
  EXPECT_EQ(s.type, 5);
  ASSERT_EQ(s.registrants.size(), 2u);
  EXPECT_EQ(s.registrants[0].key, 0xaaaau);
  EXPECT_TRUE(s.registrants[0].holds_reservation);
  EXPECT_EQ(s.registrants[0].host_id[0], 0x88);
  EXPECT_EQ(s.registrants[1].key, 0xbbbbu);
  // A report cut short keeps only whole entries.
  EXPECT_EQ(parse_reservation_report(std::span<const uint8_t>(data).first(60), false).registrants.size(), 1u);
}

TEST(StatusText, NamesSctAndScWithTheRetryHints) {
  EXPECT_EQ(describe_status(nvme::CompletionStatus(nvme::MediaStatus::compare_failure).no_retry()),
            "SCT 0x2 SC 0x85 (Compare Failure), DNR");
  EXPECT_EQ(describe_status(nvme::GenericStatus::reservation_conflict), "SCT 0x0 SC 0x83 (Reservation Conflict)");
  EXPECT_EQ(describe_status(nvme::PathStatus::ana_inaccessible), "SCT 0x3 SC 0x02 (Asymmetric Access Inaccessible)");
  nvme::CompletionStatus odd;
  odd.type = nvme::StatusCodeType::generic;
  odd.code = 0x7e;
  EXPECT_EQ(describe_status(odd), "SCT 0x0 SC 0x7e (Unknown)");
  EXPECT_EQ(fatal_error_status_name(0x03), "Header Digest Error");
}

}  // namespace
}  // namespace portico::nvme_host
