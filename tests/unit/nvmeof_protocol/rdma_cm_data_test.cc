// The NVMe/RDMA CM private data (NVMe over Fabrics 1.1, "RDMA Transport"; Linux: struct
// nvme_rdma_cm_req / _rep / _rej) and the controller's decision on a request.
#include "frontends/nvmeof/protocol/rdma_cm_data.h"

#include <gtest/gtest.h>

#include <vector>

namespace portico::nvmeof {
namespace {

// What the Linux host sent for its admin queue over soft-RoCE (tests/vm/rdma_cm_probe_test.sh):
// 56 bytes, the request padded by the CM.
std::vector<uint8_t> linux_admin_request() {
  std::vector<uint8_t> bytes(56, 0);
  bytes[4] = 0x20;  // HRQSIZE 32
  bytes[6] = 0x1f;  // HSQSIZE 31
  return bytes;
}

RdmaQueueLimits limits() {
  RdmaQueueLimits l;
  l.admin_queue_entries = 32;
  l.io_queue_entries = 128;
  l.io_queues = 4;
  l.device_work_requests = 1024;
  l.device_read_depth = 16;
  return l;
}

TEST(RdmaCmData, DecodesTheLinuxHostsAdminRequest) {
  auto decoded = decode_rdma_cm_request(linux_admin_request());
  ASSERT_TRUE(std::holds_alternative<RdmaCmRequest>(decoded));
  const auto& r = std::get<RdmaCmRequest>(decoded);
  EXPECT_EQ(r.record_format, 0);
  EXPECT_EQ(r.queue_id, 0);
  EXPECT_EQ(r.host_receive_queue_size, 32);
  EXPECT_EQ(r.host_send_queue_size, 31);
  EXPECT_EQ(r.controller_id, 0);
}

TEST(RdmaCmData, RequestRoundTrips) {
  RdmaCmRequest r;
  r.queue_id = 3;
  r.host_receive_queue_size = 128;
  r.host_send_queue_size = 127;
  r.controller_id = 0x0102;
  const auto bytes = encode_rdma_cm_request(r);
  auto decoded = decode_rdma_cm_request(bytes);
  ASSERT_TRUE(std::holds_alternative<RdmaCmRequest>(decoded));
  EXPECT_EQ(std::get<RdmaCmRequest>(decoded).queue_id, 3);
  EXPECT_EQ(std::get<RdmaCmRequest>(decoded).host_receive_queue_size, 128);
  EXPECT_EQ(std::get<RdmaCmRequest>(decoded).host_send_queue_size, 127);
  EXPECT_EQ(std::get<RdmaCmRequest>(decoded).controller_id, 0x0102);
  // Little endian on the wire.
  EXPECT_EQ(bytes[2], 3);
  EXPECT_EQ(bytes[3], 0);
  EXPECT_EQ(bytes[8], 0x02);
  EXPECT_EQ(bytes[9], 0x01);
}

TEST(RdmaCmData, ShortPrivateDataIsInvalidLength) {
  // What arrives through libfabric 1.17's verbs provider: nothing (its length header read 0).
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(decode_rdma_cm_request({})), RdmaCmRejectStatus::invalid_length);
  const std::vector<uint8_t> short_data(31, 0);
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(decode_rdma_cm_request(short_data)), RdmaCmRejectStatus::invalid_length);
}

TEST(RdmaCmData, OtherRecordFormatIsRefused) {
  auto bytes = linux_admin_request();
  bytes[0] = 1;
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(decode_rdma_cm_request(bytes)), RdmaCmRejectStatus::invalid_record_format);
}

TEST(RdmaCmData, AcceptCarriesCrqsize) {
  const auto accept = encode_rdma_cm_accept(128);
  EXPECT_EQ(accept.size(), 32u);
  EXPECT_EQ(accept[0], 0);  // RECFMT
  EXPECT_EQ(accept[1], 0);
  EXPECT_EQ(accept[2], 128);  // CRQSIZE
  EXPECT_EQ(accept[3], 0);
  for (size_t i = 4; i < accept.size(); ++i) EXPECT_EQ(accept[i], 0) << i;
}

TEST(RdmaCmData, RejectCarriesTheStatusTheHostLogs) {
  // The Linux host logs "nvme status 6 (resource not found)" for this (the probe test saw it).
  const auto reject = encode_rdma_cm_reject(RdmaCmRejectStatus::no_resources);
  EXPECT_EQ(reject, (std::array<uint8_t, 4>{0, 0, 6, 0}));
  EXPECT_EQ(rdma_cm_reject_name(RdmaCmRejectStatus::invalid_hsqsize), "invalid HSQSIZE");
}

TEST(RdmaCmData, AdminQueueIsAcceptedWithItsSizes) {
  const auto request = std::get<RdmaCmRequest>(decode_rdma_cm_request(linux_admin_request()));
  auto shape = negotiate_rdma_queue(request, 128, limits());
  ASSERT_TRUE(std::holds_alternative<RdmaQueueShape>(shape));
  EXPECT_EQ(std::get<RdmaQueueShape>(shape).queue_id, 0);
  EXPECT_EQ(std::get<RdmaQueueShape>(shape).entries, 32);
  EXPECT_EQ(std::get<RdmaQueueShape>(shape).host_receive_entries, 32);
  EXPECT_EQ(std::get<RdmaQueueShape>(shape).read_depth, 16);  // the device's, below the host's 128
}

TEST(RdmaCmData, QueueSizesAreBounded) {
  RdmaCmRequest admin;
  admin.host_receive_queue_size = 33;
  admin.host_send_queue_size = 32;  // 33 entries: more than the admin queue takes
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(admin, 8, limits())), RdmaCmRejectStatus::invalid_hsqsize);
  RdmaCmRequest io;
  io.queue_id = 1;
  io.host_receive_queue_size = 128;
  io.host_send_queue_size = 127;
  EXPECT_TRUE(std::holds_alternative<RdmaQueueShape>(negotiate_rdma_queue(io, 8, limits())));
  io.host_send_queue_size = 128;  // 129 entries
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(io, 8, limits())), RdmaCmRejectStatus::invalid_hsqsize);
  io.host_send_queue_size = 0;  // one entry: a queue always keeps one empty
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(io, 8, limits())), RdmaCmRejectStatus::invalid_hsqsize);
  io.host_send_queue_size = 127;
  io.host_receive_queue_size = 0;
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(io, 8, limits())), RdmaCmRejectStatus::invalid_hrqsize);
  auto small_device = limits();
  small_device.device_work_requests = 64;
  io.host_receive_queue_size = 128;
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(io, 8, small_device)),
            RdmaCmRejectStatus::invalid_hsqsize);
}

TEST(RdmaCmData, QueueIdAndReadDepthAreChecked) {
  RdmaCmRequest io;
  io.queue_id = 5;  // beyond the 4 I/O queues
  io.host_receive_queue_size = 32;
  io.host_send_queue_size = 31;
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(io, 8, limits())), RdmaCmRejectStatus::invalid_queue_id);
  io.queue_id = 4;
  EXPECT_EQ(std::get<RdmaQueueShape>(negotiate_rdma_queue(io, 8, limits())).read_depth, 8);
  // A host that serves none of our RDMA READs cannot send data from its memory.
  EXPECT_EQ(std::get<RdmaCmRejectStatus>(negotiate_rdma_queue(io, 0, limits())), RdmaCmRejectStatus::invalid_ord);
}

}  // namespace
}  // namespace portico::nvmeof
