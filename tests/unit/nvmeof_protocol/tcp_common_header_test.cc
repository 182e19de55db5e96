#include <gtest/gtest.h>

#include "frontends/nvmeof/protocol/tcp_pdu.h"
#include "tests/unit/nvmeof_protocol/pdu_test_support.h"

namespace portico::nvmeof {
namespace {

using test::controller;
using test::expect_invalid_field;
using test::host;
using test::raw_pdu;

PduResult<PduLayout> decode(const test::Bytes& b, const ConnectionParams& p) {
  return decode_common_header(test::ch_of(b), p);
}

TEST(NvmeTcpCommonHeader, ControllerAcceptsEachHostToControllerType) {
  const auto p = controller();
  EXPECT_TRUE(decode(raw_pdu(PduType::ic_req, 0, 128, 0, 128), p).ok());
  EXPECT_TRUE(decode(raw_pdu(PduType::h2c_term_req, 0, 24, 0, 24 + 72), p).ok());
  EXPECT_TRUE(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 0, 72), p).ok());
  auto data = decode(raw_pdu(PduType::h2c_data, kFlagLastPdu, 24, 24, 24 + 512), p);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->common.type, PduType::h2c_data);
  EXPECT_EQ(data->common.flags, kFlagLastPdu);
  EXPECT_EQ(data->data_offset, 24u);
  EXPECT_EQ(data->data_length, 512u);
}

TEST(NvmeTcpCommonHeader, EachSideRejectsThePdusItSends_Fei0) {
  for (auto type : {PduType::ic_resp, PduType::c2h_term_req, PduType::capsule_resp, PduType::c2h_data, PduType::r2t}) {
    expect_invalid_field(decode(raw_pdu(type, 0, 24, 0, 24), controller()), 0);
  }
  for (auto type : {PduType::ic_req, PduType::h2c_term_req, PduType::capsule_cmd, PduType::h2c_data}) {
    expect_invalid_field(decode(raw_pdu(type, 0, 24, 0, 24), host()), 0);
  }
  EXPECT_TRUE(decode(raw_pdu(PduType::r2t, 0, 24, 0, 24), host()).ok());
}

TEST(NvmeTcpCommonHeader, UnknownTypesAreInvalidHeaderFields_Fei0) {
  for (int type : {0x08, 0x0a, 0x10, 0x7f, 0xff}) {
    auto b = raw_pdu(PduType::ic_req, 0, 24, 0, 24);
    b[0] = static_cast<uint8_t>(type);
    expect_invalid_field(decode(b, controller()), 0);
    expect_invalid_field(decode(b, host()), 0);
  }
}

TEST(NvmeTcpCommonHeader, ReservedFlagBitsAreRejected_Fei1) {
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, kFlagLastPdu, 72, 0, 72), controller()), 1);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, 0x10, 72, 0, 72), controller()), 1);
  expect_invalid_field(decode(raw_pdu(PduType::h2c_data, kFlagSuccess | kFlagLastPdu, 24, 24, 32), controller()), 1);
  expect_invalid_field(decode(raw_pdu(PduType::r2t, kFlagLastPdu, 24, 0, 24), host()), 1);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_resp, kFlagDdgst, 24, 0, 24), host(false, true)), 1);
  // Connection setup and termination PDUs never carry digests, whatever was negotiated.
  expect_invalid_field(decode(raw_pdu(PduType::ic_req, kFlagHdgst, 128, 0, 132), controller(true)), 1);
  expect_invalid_field(decode(raw_pdu(PduType::h2c_term_req, kFlagHdgst, 24, 0, 28), controller(true)), 1);
  EXPECT_TRUE(decode(raw_pdu(PduType::h2c_term_req, 0, 24, 0, 24), controller(true, true)).ok());
}

TEST(NvmeTcpCommonHeader, HeaderDigestFlagFollowsNegotiation_Fei1) {
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 0, 72), controller(true)), 1);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 0, 76), controller(false)), 1);
  auto ok = decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 0, 76), controller(true));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->header_digest);
  EXPECT_EQ(ok->header_bytes(), 76u);
  EXPECT_EQ(ok->data_length, 0u);
}

TEST(NvmeTcpCommonHeader, DataDigestFlagOnlyWithNegotiatedDigestsAndData_Fei1) {
  // Not negotiated.
  expect_invalid_field(decode(raw_pdu(PduType::h2c_data, kFlagDdgst, 24, 24, 24 + 8 + 4), controller()), 1);
  // Negotiated, data present, flag clear.
  expect_invalid_field(decode(raw_pdu(PduType::h2c_data, 0, 24, 24, 24 + 8), controller(false, true)), 1);
  // Negotiated, no data: Linux's host leaves DDGSTF clear on a capsule without data.
  EXPECT_TRUE(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 0, 72), controller(false, true)).ok());
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, kFlagDdgst, 72, 0, 72), controller(false, true)), 1);
}

TEST(NvmeTcpCommonHeader, SuccessNeedsLastPdu_Fei1) {
  expect_invalid_field(decode(raw_pdu(PduType::c2h_data, kFlagSuccess, 24, 24, 32), host()), 1);
  auto ok = decode(raw_pdu(PduType::c2h_data, kFlagSuccess | kFlagLastPdu, 24, 24, 32), host());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->data_length, 8u);
}

TEST(NvmeTcpCommonHeader, HlenIsFixedPerType_Fei2) {
  const struct {
    PduType type;
    uint8_t hlen;
    bool host_side;
  } cases[] = {{PduType::ic_req, 128, false},      {PduType::ic_resp, 128, true},     {PduType::h2c_term_req, 24, false},
               {PduType::c2h_term_req, 24, true},  {PduType::capsule_cmd, 72, false}, {PduType::capsule_resp, 24, true},
               {PduType::h2c_data, 24, false},     {PduType::c2h_data, 24, true},     {PduType::r2t, 24, true}};
  for (const auto& c : cases) {
    const auto p = c.host_side ? host() : controller();
    for (int delta : {-1, 1}) {
      const auto hlen = static_cast<uint8_t>(c.hlen + delta);
      expect_invalid_field(decode(raw_pdu(c.type, 0, hlen, 0, hlen), p), 2);
    }
  }
}

TEST(NvmeTcpCommonHeader, PlenBoundsPerType_Fei4) {
  expect_invalid_field(decode(raw_pdu(PduType::ic_req, 0, 128, 0, 129), controller()), 4);
  expect_invalid_field(decode(raw_pdu(PduType::ic_resp, 0, 128, 0, 127), host()), 4);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_resp, 0, 24, 0, 28), host()), 4);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_resp, kFlagHdgst, 24, 0, 24), host(true)), 4);
  expect_invalid_field(decode(raw_pdu(PduType::r2t, 0, 24, 0, 25), host()), 4);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 0, 71), controller()), 4);
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 0, 74), controller(true)), 4);
  // Termination requests: 24 header bytes and up to 128 bytes of error data.
  expect_invalid_field(decode(raw_pdu(PduType::h2c_term_req, 0, 24, 0, 23), controller()), 4);
  expect_invalid_field(decode(raw_pdu(PduType::c2h_term_req, 0, 24, 0, 153), host()), 4);
  auto term = decode(raw_pdu(PduType::c2h_term_req, 0, 24, 0, 152), host());
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(term->data_offset, 24u);
  EXPECT_EQ(term->data_length, 128u);
}

TEST(NvmeTcpCommonHeader, PdoIsZeroWithoutData_Fei3) {
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 72, 72), controller()), 3);
  expect_invalid_field(decode(raw_pdu(PduType::r2t, 0, 24, 24, 24), host()), 3);
  expect_invalid_field(decode(raw_pdu(PduType::ic_req, 0, 128, 128, 128), controller()), 3);
  expect_invalid_field(decode(raw_pdu(PduType::h2c_term_req, 0, 24, 24, 40), controller()), 3);
}

TEST(NvmeTcpCommonHeader, PdoFollowsHeaderDigestAndStaysInsidePlen_Fei3) {
  // With header digests the data cannot start before byte HLEN + 4.
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 72, 76 + 16), controller(true)), 3);
  expect_invalid_field(decode(raw_pdu(PduType::h2c_data, 0, 24, 20, 64), controller()), 3);
  expect_invalid_field(decode(raw_pdu(PduType::c2h_data, 0, 24, 64, 64), host()), 3);
  expect_invalid_field(decode(raw_pdu(PduType::c2h_data, 0, 24, 96, 64), host()), 3);
  auto ok = decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 76, 76 + 16), controller(true));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->data_offset, 76u);
  EXPECT_EQ(ok->data_length, 16u);
}

TEST(NvmeTcpCommonHeader, PdoRespectsTheReceiversAlignment_Fei3) {
  auto p = controller(true);
  p.cpda = 3;  // H2C data on 16-byte boundaries
  expect_invalid_field(decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 76, 76 + 16), p), 3);
  auto padded = decode(raw_pdu(PduType::capsule_cmd, kFlagHdgst, 72, 80, 80 + 16), p);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->data_offset, 80u);
  EXPECT_EQ(padded->data_length, 16u);
  // Any larger multiple is allowed too.
  auto plain = controller();
  plain.cpda = 3;
  EXPECT_TRUE(decode(raw_pdu(PduType::h2c_data, 0, 24, 96, 96 + 8), plain).ok());
  expect_invalid_field(decode(raw_pdu(PduType::h2c_data, 0, 24, 24, 24 + 8), plain), 3);
  // HPDA governs C2H data only: the host side checks it, the controller's CPDA does not apply.
  auto h = host();
  h.hpda = 31;  // 128 bytes
  h.cpda = 0;
  expect_invalid_field(decode(raw_pdu(PduType::c2h_data, 0, 24, 24, 24 + 8), h), 3);
  EXPECT_TRUE(decode(raw_pdu(PduType::c2h_data, 0, 24, 128, 128 + 8), h).ok());
}

TEST(NvmeTcpCommonHeader, DataDigestNeedsRoomAfterPdo_Fei4) {
  expect_invalid_field(decode(raw_pdu(PduType::h2c_data, kFlagDdgst, 24, 24, 28), controller(false, true)), 4);
  auto ok = decode(raw_pdu(PduType::h2c_data, kFlagDdgst, 24, 24, 29), controller(false, true));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->data_digest);
  EXPECT_EQ(ok->data_length, 1u);
  EXPECT_EQ(ok->data_digest_offset(), 25u);
  EXPECT_EQ(ok->total_length(), 29u);
}

TEST(NvmeTcpCommonHeader, DataBeyondNegotiatedLimitsIsDataTransferLimitExceeded) {
  const auto p = controller();  // MAXH2CDATA 8192, 4096 bytes in-capsule
  EXPECT_TRUE(decode(raw_pdu(PduType::h2c_data, 0, 24, 24, 24 + 8192), p).ok());
  test::expect_error(decode(raw_pdu(PduType::h2c_data, 0, 24, 24, 24 + 8193), p),
                     FatalErrorStatus::data_transfer_limit_exceeded, 0);
  EXPECT_TRUE(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 72, 72 + 4096), p).ok());
  test::expect_error(decode(raw_pdu(PduType::capsule_cmd, 0, 72, 72, 72 + 4097), p),
                     FatalErrorStatus::data_transfer_limit_exceeded, 0);
  // The data digest does not count against the limit.
  EXPECT_TRUE(decode(raw_pdu(PduType::h2c_data, kFlagDdgst, 24, 24, 24 + 8192 + 4), controller(false, true)).ok());
  // C2H data has no negotiated limit; a huge PLEN is still a valid header.
  EXPECT_TRUE(decode(raw_pdu(PduType::c2h_data, 0, 24, 24, 0xffffffffu), host()).ok());
}

TEST(NvmeTcpCommonHeader, PlanLayoutProducesHeadersTheDecoderAccepts) {
  const PduType h2c[] = {PduType::ic_req, PduType::h2c_term_req, PduType::capsule_cmd, PduType::h2c_data};
  const PduType c2h[] = {PduType::ic_resp, PduType::c2h_term_req, PduType::capsule_resp, PduType::c2h_data, PduType::r2t};
  for (int variant = 0; variant < test::kNegotiations; ++variant) {
    const auto p = test::negotiation(variant);
    const auto q = test::host_side(p);
    for (uint32_t data : {0u, 1u, 100u}) {
      for (auto type : h2c) {
        const auto planned = plan_layout(type, kFlagLastPdu, type == PduType::h2c_data ? data + 1 : data, p);
        auto b = raw_pdu(type, planned.common.flags, planned.common.hlen, planned.common.pdo, planned.common.plen);
        auto decoded = decode(b, p);
        ASSERT_TRUE(decoded.ok()) << pdu_type_name(type) << " " << variant << ": " << decoded.error().message;
        EXPECT_EQ(decoded->data_offset, planned.data_offset);
        EXPECT_EQ(decoded->data_length, planned.data_length);
        EXPECT_EQ(decoded->data_digest, planned.data_digest);
      }
      for (auto type : c2h) {
        const auto planned = plan_layout(type, kFlagSuccess | kFlagLastPdu, type == PduType::c2h_data ? data + 1 : data, q);
        auto b = raw_pdu(type, planned.common.flags, planned.common.hlen, planned.common.pdo, planned.common.plen);
        EXPECT_TRUE(decode(b, q).ok()) << pdu_type_name(type) << " " << variant;
      }
    }
  }
}

}  // namespace
}  // namespace portico::nvmeof
