// Connection initialization and framing of one NVMe/TCP queue on the controller side: the ICReq
// negotiation, the sequence rules, and the bound on what a peer can make the receiver buffer.
#include <gtest/gtest.h>

#include <vector>

#include "frontends/nvmeof/protocol/queue_setup.h"
#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"
#include "tests/unit/nvmeof_protocol/pdu_test_support.h"

namespace portico::nvmeof {
namespace {

using test::Bytes;

Bytes ic_req(bool header_digest, bool data_digest, uint8_t hpda = 0, uint16_t pfv = kPduFormatVersion10) {
  IcReq req;
  req.pfv = pfv;
  req.hpda = hpda;
  req.header_digest = header_digest;
  req.data_digest = data_digest;
  req.maxr2t = 3;
  Bytes out;
  encode_ic_req(req, out);
  return out;
}

// Feeds `stream` through the receiver the way the server does: frame, wait for the bytes,
// receive. Returns the decoded PDUs, or the first error.
struct Fed {
  std::vector<PduType> types;
  std::optional<PduError> error;
};
Fed feed(QueueReceiver& receiver, const Bytes& stream) {
  Fed fed;
  std::span<const uint8_t> rest(stream);
  while (!rest.empty()) {
    auto length = receiver.frame(rest);
    if (!length.ok()) {
      fed.error = length.error();
      return fed;
    }
    if (!*length || rest.size() < **length) return fed;  // waits for more bytes
    auto pdu = receiver.receive(rest.first(**length));
    if (!pdu.ok()) {
      fed.error = pdu.error();
      return fed;
    }
    fed.types.push_back(pdu->layout.common.type);
    rest = rest.subspan(**length);
  }
  return fed;
}

TEST(QueueSetup, IcReqNegotiatesDigestsTheConfigurationAllows) {
  ControllerTransportLimits limits;
  limits.data_digest = false;
  IcReq req;
  req.header_digest = true;
  req.data_digest = true;
  req.hpda = 2;
  req.maxr2t = 7;
  auto queue = accept_ic_req(req, limits);
  ASSERT_TRUE(queue.ok());
  EXPECT_TRUE(queue->response.header_digest);
  EXPECT_FALSE(queue->response.data_digest) << "refused: the host sees the cleared bit";
  EXPECT_EQ(queue->response.maxh2cdata, limits.max_h2c_data);
  EXPECT_EQ(queue->response.cpda, 0);
  EXPECT_TRUE(queue->params.header_digest);
  EXPECT_FALSE(queue->params.data_digest);
  EXPECT_EQ(queue->params.hpda, 2);
  EXPECT_EQ(queue->params.max_in_capsule_data, limits.in_capsule_data);
  EXPECT_EQ(queue->params.receive, Direction::host_to_controller);
  EXPECT_EQ(queue->host_max_r2t, 7u);
}

TEST(QueueSetup, UnknownFormatVersionAndOversizedAlignmentAreInvalidFields) {
  IcReq req;
  req.pfv = 1;
  auto bad_pfv = accept_ic_req(req, {});
  ASSERT_FALSE(bad_pfv.ok());
  EXPECT_EQ(bad_pfv.error().fes, FatalErrorStatus::invalid_pdu_header_field);
  EXPECT_EQ(bad_pfv.error().fei, 8u);
  req.pfv = kPduFormatVersion10;
  req.hpda = 32;
  auto bad_hpda = accept_ic_req(req, {});
  ASSERT_FALSE(bad_hpda.ok());
  EXPECT_EQ(bad_hpda.error().fei, 10u);
}

TEST(QueueReceiver, IcReqFirstThenCommandsWithTheNegotiatedDigests) {
  QueueReceiver receiver({});
  Bytes stream = ic_req(true, true);
  ASSERT_EQ(feed(receiver, stream).types, std::vector<PduType>{PduType::ic_req});
  ASSERT_TRUE(receiver.established().has_value());
  EXPECT_TRUE(receiver.params().header_digest);

  // A command capsule with 512 bytes in the capsule, digests on: framed and decoded whole, even
  // when it arrives a byte at a time.
  Bytes capsule;
  CapsuleCmd cmd;
  cmd.sqe[0] = 0x01;  // a write
  const Bytes data(512, 0x5a);
  encode_capsule_cmd(cmd, data, receiver.params(), capsule);
  for (size_t have = 0; have < capsule.size(); ++have) {
    auto length = receiver.frame(std::span<const uint8_t>(capsule).first(have));
    ASSERT_TRUE(length.ok());
    if (have < kCommonHeaderSize) {
      EXPECT_FALSE(length->has_value());
    } else {
      EXPECT_EQ(**length, capsule.size());
    }
  }
  auto pdu = receiver.receive(capsule);
  ASSERT_TRUE(pdu.ok()) << pdu.error().message;
  EXPECT_TRUE(pdu->data_digest_ok);
  EXPECT_EQ(Bytes(pdu->data.begin(), pdu->data.end()), data);
}

TEST(QueueReceiver, AnythingBeforeTheIcReqOrASecondIcReqIsASequenceError) {
  QueueReceiver receiver({});
  Bytes capsule;
  encode_capsule_cmd(CapsuleCmd{}, {}, receiver.params(), capsule);
  auto early = feed(receiver, capsule);
  ASSERT_TRUE(early.error.has_value());
  EXPECT_EQ(early.error->fes, FatalErrorStatus::pdu_sequence_error);

  QueueReceiver again({});
  Bytes twice = ic_req(false, false);
  const Bytes second = ic_req(false, false);
  twice.insert(twice.end(), second.begin(), second.end());
  auto fed = feed(again, twice);
  EXPECT_EQ(fed.types, std::vector<PduType>{PduType::ic_req});
  ASSERT_TRUE(fed.error.has_value());
  EXPECT_EQ(fed.error->fes, FatalErrorStatus::pdu_sequence_error);
}

// A peer announcing a huge PDU is refused from its 8-byte common header, before anything is
// buffered for it: in-capsule data beyond the limit, and H2C data beyond MAXH2CDATA.
TEST(QueueReceiver, OversizedPdusAreRefusedFromTheirCommonHeader) {
  ControllerTransportLimits limits;
  limits.in_capsule_data = 4096;
  QueueReceiver receiver(limits);
  ASSERT_FALSE(feed(receiver, ic_req(false, false)).error.has_value());
  auto capsule = test::raw_pdu(PduType::capsule_cmd, 0, kCapsuleCmdHeaderLength, kCapsuleCmdHeaderLength,
                               kCapsuleCmdHeaderLength + 64 * 1024 * 1024);
  auto length = receiver.frame(capsule);
  ASSERT_FALSE(length.ok());
  EXPECT_EQ(length.error().fes, FatalErrorStatus::data_transfer_limit_exceeded);
  auto data = test::raw_pdu(PduType::h2c_data, kFlagLastPdu, kDataHeaderLength, kDataHeaderLength,
                            kDataHeaderLength + limits.max_h2c_data + 4);
  length = receiver.frame(data);
  ASSERT_FALSE(length.ok());
  EXPECT_EQ(length.error().fes, FatalErrorStatus::data_transfer_limit_exceeded);
}

TEST(QueueReceiver, BadIcReqLeavesTheQueueUninitialized) {
  QueueReceiver receiver({});
  auto fed = feed(receiver, ic_req(false, false, 0, 7));
  ASSERT_TRUE(fed.error.has_value());
  EXPECT_EQ(fed.error->fei, 8u);
  EXPECT_FALSE(receiver.established().has_value());
}

}  // namespace
}  // namespace portico::nvmeof
