// The host queue against the fake target: connection initialization, data in and out by every
// path NVMe/TCP has, fused commands, pipelining, and the fatal errors.
#include <gtest/gtest.h>

#include <numeric>

#include "tests/unit/nvme_tcp_host/host_test_support.h"
#include "tools/nvme_tcp/io_commands.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host::test {
namespace {

using nvmeof::PduType;

std::vector<uint8_t> filled(size_t n, uint8_t value) { return std::vector<uint8_t>(n, value); }

nvme::SubmissionEntry last_command(FakeTarget& target) { return target.controller().commands().back().sqe; }

TEST(HostQueue, IcReqCarriesHpdaAndDigests_AndIcRespSetsTheQueueParameters) {
  FakeTargetConfig config;
  config.limits.max_h2c_data = 16384;
  config.limits.cpda = 1;
  FakeTarget target(config);
  QueueOptions options = queue_options(target);
  options.transport = TransportOptions{true, true, 2};
  auto queue = connected_queue(target, options);
  ASSERT_NE(queue, nullptr);

  const auto icreqs = pdus_of_type(target, PduType::ic_req);
  ASSERT_EQ(icreqs.size(), 1u);
  EXPECT_EQ(std::get<nvmeof::IcReq>(icreqs[0].header), (nvmeof::IcReq{0, 2, true, true, 0}));
  EXPECT_TRUE(queue->params().header_digest);
  EXPECT_TRUE(queue->params().data_digest);
  EXPECT_EQ(queue->params().hpda, 2);
  EXPECT_EQ(queue->params().cpda, 1);
  EXPECT_EQ(queue->params().max_h2c_data, 16384u);
  EXPECT_EQ(queue->params().receive, nvmeof::Direction::controller_to_host);

  // HPDA 2 asks for C2H data at a multiple of 12 bytes: a read proves the host decodes that.
  target.controller().fill_media(0x3c);
  std::vector<uint8_t> buffer(1024);
  auto done = read(*queue, {1, 0, 2}, buffer);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(buffer, filled(1024, 0x3c));
}

TEST(HostQueue, Read_C2HDataWithSuccessCompletesTheCommandWithoutACapsuleResp) {
  FakeTarget target;
  auto queue = connected_queue(target, queue_options(target));
  ASSERT_NE(queue, nullptr);
  target.controller().fill_media(0xab);

  std::vector<uint8_t> buffer(1024);
  auto done = read(*queue, {1, 4, 2}, buffer);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(done->data_in_bytes, 1024u);
  EXPECT_EQ(buffer, filled(1024, 0xab));
  const auto sqe = last_command(target);
  EXPECT_EQ(sqe.opcode, 0x02);
  EXPECT_EQ(sqe.cdw(10), 4u);
  EXPECT_EQ(sqe.cdw(12), 1u);  // NLB, 0's based
  EXPECT_EQ(sqe.psdt, nvme::DataPointerType::sgl_metadata_buffer);
  EXPECT_EQ(sqe.sgl.identifier, nvme::kSglTransportData);
  EXPECT_EQ(sqe.sgl.length, 1024u);
}

TEST(HostQueue, Read_DataInSeveralC2HDataPdusThenACapsuleResp) {
  FakeTargetConfig config;
  config.c2h_chunk = 300;
  config.success_flag = false;
  FakeTarget target(config);
  auto queue = connected_queue(target, queue_options(target, 3));
  ASSERT_NE(queue, nullptr);
  std::vector<uint8_t> pattern(2048);
  std::iota(pattern.begin(), pattern.end(), uint8_t{0});
  ASSERT_TRUE(write(*queue, {1, 8, 4}, pattern).ok());

  std::vector<uint8_t> buffer(2048);
  auto done = read(*queue, {1, 8, 4}, buffer);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(done->cqe.sq_id, 3);
  EXPECT_EQ(done->data_in_bytes, 2048u);
  EXPECT_EQ(buffer, pattern);
}

TEST(HostQueue, Write_DataWithinTheInCapsuleLimitTravelsInTheCapsule) {
  FakeTarget target;
  auto queue = connected_queue(target, queue_options(target));
  ASSERT_NE(queue, nullptr);
  const auto data = filled(512, 0x5e);

  auto done = write(*queue, {1, 3, 1}, data, true);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  const auto sqe = last_command(target);
  EXPECT_EQ(sqe.opcode, 0x01);
  EXPECT_EQ(sqe.cdw(12), 1u << 30);  // FUA, NLB 0
  EXPECT_EQ(sqe.sgl.identifier, nvme::kSglInCapsule);
  EXPECT_EQ(sqe.sgl.address, 0u);
  EXPECT_EQ(sqe.sgl.length, 512u);
  EXPECT_TRUE(pdus_of_type(target, PduType::h2c_data).empty());
  const auto media = target.controller().media();
  EXPECT_EQ(std::vector<uint8_t>(media.begin() + 3 * 512, media.begin() + 4 * 512), data);
}

TEST(HostQueue, Write_LargerThanTheInCapsuleLimitGoesByR2tInH2CDataOfAtMostMaxH2cData) {
  FakeTargetConfig config;
  config.limits.max_h2c_data = 4096;
  FakeTarget target(config);
  QueueOptions options = queue_options(target);
  options.in_capsule_limit = 1024;
  auto queue = connected_queue(target, options);
  ASSERT_NE(queue, nullptr);
  std::vector<uint8_t> data(20 * 512);
  std::iota(data.begin(), data.end(), uint8_t{7});

  auto done = write(*queue, {1, 10, 20}, data);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  const auto sqe = last_command(target);
  EXPECT_EQ(sqe.sgl.identifier, nvme::kSglTransportData);
  EXPECT_EQ(sqe.sgl.length, data.size());
  const auto h2c = pdus_of_type(target, PduType::h2c_data);
  ASSERT_EQ(h2c.size(), 3u);
  const uint32_t offsets[] = {0, 4096, 8192};
  const uint32_t lengths[] = {4096, 4096, 2048};
  for (size_t i = 0; i < h2c.size(); ++i) {
    const auto& f = std::get<nvmeof::DataPdu>(h2c[i].header);
    EXPECT_EQ(f.cccid, sqe.cid);
    EXPECT_EQ(f.ttag, 1);  // the fake's first R2T
    EXPECT_EQ(f.datao, offsets[i]);
    EXPECT_EQ(f.datal, lengths[i]);
    EXPECT_EQ(f.last_pdu, i == 2);
  }
  const auto media = target.controller().media();
  EXPECT_EQ(std::vector<uint8_t>(media.begin() + 10 * 512, media.begin() + 30 * 512), data);
}

TEST(HostQueue, CompareAndWrite_SendsTheFusedPairBackToBackAndWritesOnAMatch) {
  FakeTarget target;
  auto queue = connected_queue(target, queue_options(target));
  ASSERT_NE(queue, nullptr);
  target.controller().fill_media(0x11);

  auto done = compare_and_write(*queue, {1, 2, 1}, filled(512, 0x11), filled(512, 0x22));
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(target.controller().media()[2 * 512], 0x22);

  const auto pdus = target.pdus();
  const auto first = std::find_if(pdus.begin(), pdus.end(), [](const PduRecord& p) {
    return p.type == PduType::capsule_cmd && (std::get<nvmeof::CapsuleCmd>(p.header).sqe[1] & 0x3) == 0x1;
  });
  ASSERT_NE(first, pdus.end());
  ASSERT_NE(first + 1, pdus.end());
  ASSERT_EQ((first + 1)->type, PduType::capsule_cmd);
  const auto& compare_sqe = std::get<nvmeof::CapsuleCmd>(first->header).sqe;
  const auto& write_sqe = std::get<nvmeof::CapsuleCmd>((first + 1)->header).sqe;
  EXPECT_EQ(compare_sqe[0], 0x05);  // Compare, FUSE 01b
  EXPECT_EQ(write_sqe[0], 0x01);    // Write, FUSE 10b
  EXPECT_EQ(write_sqe[1] & 0x3, 0x2);
}

TEST(HostQueue, CompareAndWrite_MismatchFailsTheCompareAndAbortsTheWrite) {
  FakeTarget target;
  auto queue = connected_queue(target, queue_options(target));
  ASSERT_NE(queue, nullptr);
  target.controller().fill_media(0x11);

  auto done = compare_and_write(*queue, {1, 2, 1}, filled(512, 0x99), filled(512, 0x22));
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_FALSE(done->ok());
  EXPECT_EQ(done->compare.cqe.status, nvme::CompletionStatus(nvme::MediaStatus::compare_failure));
  EXPECT_EQ(describe_status(done->write.cqe.status), "SCT 0x0 SC 0x09 (Command Aborted due to Failed Fused Command)");
  EXPECT_EQ(target.controller().media()[2 * 512], 0x11);
}

TEST(HostQueue, CompareAndWrite_DataBeyondTheCapsuleLimitGoesByR2tForBoth) {
  FakeTarget target;
  QueueOptions options = queue_options(target);
  options.in_capsule_limit = 0;
  auto queue = connected_queue(target, options);
  ASSERT_NE(queue, nullptr);
  target.controller().fill_media(0x11);

  auto done = compare_and_write(*queue, {1, 0, 8}, filled(4096, 0x11), filled(4096, 0x44));
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(pdus_of_type(target, PduType::h2c_data).size(), 2u);
  EXPECT_EQ(target.controller().media()[4095], 0x44);
}

TEST(HostQueue, C2HTermReq_FailsTheQueueWithItsFes) {
  FakeTargetConfig config;
  config.term_req_lba = 5;
  config.term_fes = 0x04;
  FakeTarget target(config);
  auto queue = connected_queue(target, queue_options(target));
  ASSERT_NE(queue, nullptr);

  std::vector<uint8_t> buffer(512);
  auto done = read(*queue, {1, 5, 1}, buffer);
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.status().message().find("C2HTermReq FES 0x4 (Data Transfer Out of Range)"), std::string::npos)
      << done.status().message();
  ASSERT_TRUE(queue->termination().has_value());
  EXPECT_EQ(queue->termination()->fes, 0x04);
  // The queue is finished: later commands get the same error without touching the socket.
  auto again = read(*queue, {1, 0, 1}, buffer);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), done.status().message());
}

TEST(HostQueue, Pipelining_KeepsDepthCommandsInFlightAndMatchesCompletionsByCid) {
  FakeTargetConfig config;
  config.hold_reads = 8;
  FakeTarget target(config);
  auto queue = connected_queue(target, queue_options(target, 1, 8));
  ASSERT_NE(queue, nullptr);
  std::vector<uint8_t> media(8 * 512);
  for (size_t i = 0; i < media.size(); ++i) media[i] = static_cast<uint8_t>(i / 512 + 1);
  ASSERT_TRUE(write(*queue, {1, 0, 8}, media).ok());

  std::vector<std::vector<uint8_t>> buffers(8, std::vector<uint8_t>(512));
  for (uint64_t i = 0; i < 8; ++i) {
    Command c = read_command({1, i, 1}, buffers[i]);
    c.tag = i;
    ASSERT_TRUE(queue->submit(c).ok());
  }
  EXPECT_EQ(queue->in_flight(), 8u);
  std::vector<uint8_t> extra(512);
  auto refused = queue->submit(read_command({1, 0, 1}, extra));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::busy);

  std::vector<uint64_t> order;
  for (int i = 0; i < 8; ++i) {
    auto done = queue->reap();
    ASSERT_TRUE(done.ok()) << done.status().message();
    order.push_back(done->tag);
    EXPECT_EQ(buffers[done->tag], filled(512, static_cast<uint8_t>(done->tag + 1)));
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(queue->in_flight(), 0u);
}

TEST(HostQueue, Wait_ReturnsThatCommandAndKeepsTheOthersForReap) {
  FakeTargetConfig config;
  config.hold_reads = 3;
  FakeTarget target(config);
  auto queue = connected_queue(target, queue_options(target, 1, 4));
  ASSERT_NE(queue, nullptr);
  std::vector<std::vector<uint8_t>> buffers(3, std::vector<uint8_t>(512));
  std::vector<uint16_t> cids;
  for (uint64_t i = 0; i < 3; ++i) {
    Command c = read_command({1, i, 1}, buffers[i]);
    c.tag = i;
    auto cid = queue->submit(c);
    ASSERT_TRUE(cid.ok());
    cids.push_back(*cid);
  }
  auto first = queue->wait(cids[0]);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->tag, 0u);
  auto a = queue->reap();
  auto b = queue->reap();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tag + b->tag, 3u);  // 2 and 1, in arrival order
  EXPECT_EQ(queue->in_flight(), 0u);
}

TEST(HostQueue, Digests_ReadAndWriteRoundTripWithHeaderAndDataDigests) {
  FakeTargetConfig config;
  config.limits.max_h2c_data = 4096;
  FakeTarget target(config);
  QueueOptions options = queue_options(target);
  options.transport = TransportOptions{true, true, 0};
  options.in_capsule_limit = 2048;
  auto queue = connected_queue(target, options);
  ASSERT_NE(queue, nullptr);
  std::vector<uint8_t> small(1024, 0x61);
  std::vector<uint8_t> large(16 * 512);
  std::iota(large.begin(), large.end(), uint8_t{3});

  ASSERT_TRUE(write(*queue, {1, 0, 2}, small).ok());   // in-capsule, with DDGST
  ASSERT_TRUE(write(*queue, {1, 2, 16}, large).ok());  // R2T + H2CData, with DDGST
  std::vector<uint8_t> back(18 * 512);
  auto done = read(*queue, {1, 0, 18}, back);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + 1024), small);
  EXPECT_EQ(std::vector<uint8_t>(back.begin() + 1024, back.end()), large);

  for (const PduRecord& p : target.pdus()) {
    if (p.type != PduType::capsule_cmd && p.type != PduType::h2c_data) continue;
    EXPECT_NE(p.flags & nvmeof::kFlagHdgst, 0) << nvmeof::pdu_type_name(p.type);
    if (p.data_length > 0) {
      EXPECT_NE(p.flags & nvmeof::kFlagDdgst, 0) << nvmeof::pdu_type_name(p.type);
    }
    EXPECT_TRUE(p.data_digest_ok);
  }
  EXPECT_EQ(pdus_of_type(target, PduType::h2c_data).size(), 2u);
}

TEST(HostQueue, Digests_ARefusedDigestFailsTheConnection) {
  FakeTargetConfig config;
  config.limits.data_digest = false;
  FakeTarget target(config);
  QueueOptions options = queue_options(target);
  options.transport.data_digest = true;
  auto queue = Queue::connect(options);
  ASSERT_FALSE(queue.ok());
  EXPECT_NE(queue.status().message().find("refused data digests"), std::string::npos) << queue.status().message();
}

TEST(HostQueue, Digests_ACorruptHeaderDigestIsAnsweredWithH2CTermReq) {
  FakeTargetConfig config;
  config.corrupt_c2h_header_digest = true;
  FakeTarget target(config);
  QueueOptions options = queue_options(target);
  options.transport.header_digest = true;
  auto queue = connected_queue(target, options);
  ASSERT_NE(queue, nullptr);

  std::vector<uint8_t> buffer(512);
  auto done = read(*queue, {1, 0, 1}, buffer);
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.status().message().find("header digest"), std::string::npos) << done.status().message();
  ASSERT_TRUE(eventually([&] { return !pdus_of_type(target, PduType::h2c_term_req).empty(); }));
  const auto term = std::get<nvmeof::TermReq>(pdus_of_type(target, PduType::h2c_term_req)[0].header);
  EXPECT_EQ(term.fes, static_cast<uint16_t>(nvmeof::FatalErrorStatus::header_digest_error));
}

TEST(HostQueue, Digests_ACorruptDataDigestFailsThatCommandOnly) {
  FakeTargetConfig config;
  config.corrupt_c2h_data_digest = true;
  FakeTarget target(config);
  QueueOptions options = queue_options(target);
  options.transport.data_digest = true;
  auto queue = connected_queue(target, options);
  ASSERT_NE(queue, nullptr);

  std::vector<uint8_t> buffer(512);
  auto done = read(*queue, {1, 0, 1}, buffer);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->cqe.status, nvme::CompletionStatus(nvme::GenericStatus::data_transfer_error));
  EXPECT_TRUE(flush(*queue, 1).ok());  // the queue goes on
}

TEST(HostQueue, Status_AnUnsuccessfulCompletionIsReportedWithItsName) {
  FakeTarget target;
  auto queue = connected_queue(target, queue_options(target));
  ASSERT_NE(queue, nullptr);
  std::vector<uint8_t> buffer(512);
  const Status s = require_success(read(*queue, {1, 100000, 1}, buffer), "read lba 100000");
  EXPECT_EQ(s.message(), "read lba 100000: NVMe status SCT 0x0 SC 0x80 (LBA Out of Range)");
}

}  // namespace
}  // namespace portico::nvme_host::test
