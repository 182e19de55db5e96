#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/nvmeof_protocol/pdu_test_support.h"

namespace portico::nvmeof {
namespace {

using test::Bytes;
using test::controller;
using test::host;

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 13);
  return b;
}

// Decodes `wire` on the receiving side and checks the header and data came through unchanged.
template <typename T>
void expect_round_trip(const Bytes& wire, const ConnectionParams& receiver, PduType type, const T& sent,
                       const Bytes& data = {}) {
  auto pdu = decode_pdu(wire, receiver);
  ASSERT_TRUE(pdu.ok()) << pdu_type_name(type) << ": " << pdu.error().message;
  EXPECT_EQ(pdu->layout.common.type, type);
  EXPECT_EQ(pdu->layout.total_length(), wire.size());
  ASSERT_TRUE(std::holds_alternative<T>(pdu->header)) << pdu_type_name(type);
  EXPECT_EQ(std::get<T>(pdu->header), sent) << pdu_type_name(type);
  EXPECT_EQ(Bytes(pdu->data.begin(), pdu->data.end()), data) << pdu_type_name(type);
  EXPECT_TRUE(pdu->data_digest_ok);
}

// Every PDU type, under every combination of digests and two alignments each way.
TEST(NvmeTcpEncode, EveryPduTypeRoundTripsUnderEveryNegotiation) {
  for (int variant = 0; variant < test::kNegotiations; ++variant) {
    const auto ctrl = test::negotiation(variant);
    const auto hst = test::host_side(ctrl);
    SCOPED_TRACE(variant);
    Bytes w;
    const IcReq icreq{0, 5, true, false, 3};
    encode_ic_req(icreq, w);
    expect_round_trip(w, ctrl, PduType::ic_req, icreq);
    const IcResp icresp{0, 2, false, true, 65536};
    encode_ic_resp(icresp, w = {});
    expect_round_trip(w, hst, PduType::ic_resp, icresp);
    CapsuleCmd cmd;
    std::copy_n(pattern(64, 1).begin(), 64, cmd.sqe.begin());
    encode_capsule_cmd(cmd, {}, ctrl, w = {});
    expect_round_trip(w, ctrl, PduType::capsule_cmd, cmd);
    const Bytes icd = pattern(1000, 2);
    encode_capsule_cmd(cmd, icd, ctrl, w = {});
    expect_round_trip(w, ctrl, PduType::capsule_cmd, cmd, icd);
    CapsuleResp rsp;
    std::copy_n(pattern(16, 3).begin(), 16, rsp.cqe.begin());
    encode_capsule_resp(rsp, ctrl, w = {});
    expect_round_trip(w, hst, PduType::capsule_resp, rsp);
    const Bytes data = pattern(777, 4);
    const DataPdu h2c{0x10, 0x20, 4096, 777, true, false};
    encode_h2c_data(h2c, data, hst, w = {});
    expect_round_trip(w, ctrl, PduType::h2c_data, h2c, data);
    const DataPdu c2h{0x10, 0, 8192, 777, true, true};
    encode_c2h_data(c2h, data, ctrl, w = {});
    expect_round_trip(w, hst, PduType::c2h_data, c2h, data);
    const R2t r2t{0x10, 0x20, 4096, 65536};
    encode_r2t(r2t, ctrl, w = {});
    expect_round_trip(w, hst, PduType::r2t, r2t);
    const TermReq term{2, 0};
    const Bytes offending = pattern(24, 5);
    encode_h2c_term_req(term, offending, w = {});
    expect_round_trip(w, ctrl, PduType::h2c_term_req, term, offending);
    encode_c2h_term_req(term, offending, w = {});
    expect_round_trip(w, hst, PduType::c2h_term_req, term, offending);
  }
}

TEST(NvmeTcpEncode, IcReqMatchesLinuxHostBytes) {
  Bytes w;
  encode_ic_req(IcReq{0, 0, true, true, 0}, w);
  Bytes expected(128, 0);
  expected[2] = 0x80;  // HLEN 128
  expected[4] = 0x80;  // PLEN 128, little-endian
  expected[11] = 0x03;  // HDGST_ENABLE | DDGST_ENABLE
  EXPECT_EQ(w, expected);
}

TEST(NvmeTcpEncode, CapsuleRespWithHeaderDigest) {
  CapsuleResp rsp;
  for (size_t i = 0; i < 16; ++i) rsp.cqe[i] = static_cast<uint8_t>(0x10 + i);
  Bytes w;
  encode_capsule_resp(rsp, controller(true), w);
  // CRC32C of the 24 header bytes, 0x6c7cd21a from a bitwise reference, least significant first.
  Bytes expected{0x05, 0x01, 0x18, 0x00, 0x1c, 0x00, 0x00, 0x00};
  for (uint8_t b : rsp.cqe) expected.push_back(b);
  expected.insert(expected.end(), {0x1a, 0xd2, 0x7c, 0x6c});
  EXPECT_EQ(w, expected);
}

TEST(NvmeTcpEncode, C2hDataWithBothDigestsAndSuccess) {
  const Bytes data{'N', 'V', 'M', 'e', '/', 'T', 'C', 'P'};
  Bytes w;
  encode_c2h_data(DataPdu{0x0102, 0xffff, 0x200, 0, false, true}, data, controller(true, true), w);
  ASSERT_EQ(w.size(), 24u + 4 + 8 + 4);
  EXPECT_EQ(w[0], 0x07);
  EXPECT_EQ(w[1], kFlagHdgst | kFlagDdgst | kFlagLastPdu | kFlagSuccess);  // SUCCESS implies LAST_PDU
  EXPECT_EQ(w[3], 28);                                                    // PDO right after HDGST
  EXPECT_EQ(load_le32(&w[4]), 40u);
  EXPECT_EQ(load_le16(&w[8]), 0x0102);
  EXPECT_EQ(load_le16(&w[10]), 0);  // TTAG reserved in C2HData
  EXPECT_EQ(load_le32(&w[12]), 0x200u);
  EXPECT_EQ(load_le32(&w[16]), 8u);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), w.begin() + 28));
  // DDGST covers the data only: 0xb8bb5703 from a bitwise reference.
  EXPECT_EQ(Bytes(w.end() - 4, w.end()), (Bytes{0x03, 0x57, 0xbb, 0xb8}));
}

TEST(NvmeTcpEncode, PadsToTheReceiversAlignment) {
  auto p = controller(true);
  p.cpda = 3;   // H2C data on 16-byte boundaries: 72 + 4 rounds up to 80
  p.hpda = 31;  // C2H data on 128-byte boundaries
  Bytes w;
  encode_capsule_cmd(CapsuleCmd{}, Bytes(10, 0xab), p, w);
  EXPECT_EQ(w[3], 80);
  EXPECT_EQ(w.size(), 90u);
  EXPECT_TRUE(std::all_of(w.begin() + 76, w.begin() + 80, [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(w[80], 0xab);
  encode_c2h_data(DataPdu{}, Bytes(3, 0xcd), p, w = {});
  EXPECT_EQ(w[3], 128);
  EXPECT_EQ(w.size(), 131u);
  EXPECT_TRUE(std::all_of(w.begin() + 28, w.begin() + 128, [](uint8_t b) { return b == 0; }));
  // Without data there is no padding and PDO is 0.
  encode_capsule_cmd(CapsuleCmd{}, {}, p, w = {});
  EXPECT_EQ(w[3], 0);
  EXPECT_EQ(w.size(), 76u);
}

TEST(NvmeTcpEncode, CapsuleWithoutDataHasNoDataDigestFlag) {
  Bytes w;
  encode_capsule_cmd(CapsuleCmd{}, {}, controller(false, true), w);
  EXPECT_EQ(w[1], 0);
  EXPECT_EQ(w.size(), 72u);
  encode_capsule_cmd(CapsuleCmd{}, Bytes(4, 1), controller(false, true), w = {});
  EXPECT_EQ(w[1], kFlagDdgst);
  EXPECT_EQ(w.size(), 72u + 4 + 4);
}

TEST(NvmeTcpEncode, TermReqForADecodeErrorCarriesItsFesFeiAndTheHeader) {
  test::Bytes bad = test::raw_pdu(PduType::capsule_cmd, 0, 72, 0, 71, 72);
  auto error = decode_common_header(test::ch_of(bad), controller());
  ASSERT_FALSE(error.ok());
  Bytes w;
  encode_c2h_term_req(term_req_for(error.error()), bad, w);
  auto term = decode_pdu(w, host());
  ASSERT_TRUE(term.ok()) << term.error().message;
  EXPECT_EQ(std::get<TermReq>(term->header), (TermReq{0x01, 4}));
  EXPECT_EQ(Bytes(term->data.begin(), term->data.end()), bad);
}

TEST(NvmeTcpEncode, TermReqErrorDataIsCutAt128Bytes) {
  Bytes w;
  encode_h2c_term_req(TermReq{3, 0}, pattern(200, 6), w);
  EXPECT_EQ(w.size(), 152u);
  EXPECT_EQ(load_le32(&w[4]), 152u);
  EXPECT_TRUE(decode_pdu(w, controller()).ok());
}

TEST(NvmeTcpEncode, EncodersAppend) {
  Bytes w;
  encode_r2t(R2t{1, 2, 0, 512}, controller(), w);
  encode_capsule_resp(CapsuleResp{}, controller(), w);
  ASSERT_EQ(w.size(), 48u);
  auto first = decode_pdu(w, host());
  ASSERT_TRUE(first.ok());
  auto second = decode_pdu(std::span<const uint8_t>(w).subspan(first->layout.total_length()), host());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->layout.common.type, PduType::capsule_resp);
}

TEST(NvmeTcpEncode, EncodePduDispatchesOnTypeAndRefusesAMismatchedHeader) {
  Bytes w;
  EXPECT_TRUE(encode_pdu(PduType::r2t, R2t{1, 2, 3, 4}, {}, controller(), w));
  EXPECT_EQ(w.size(), 24u);
  EXPECT_FALSE(encode_pdu(PduType::capsule_cmd, R2t{}, {}, controller(), w));
  EXPECT_EQ(w.size(), 24u);
}

TEST(NvmeTcpEncode, C2HDataFrameAroundUncopiedDataMakesTheSameBytes) {
  // Under every digest combination and a 32-byte host alignment: frame + data + digest on the
  // wire are exactly what encode_c2h_data writes.
  const Bytes data = pattern(1000, 7);
  for (int digests = 0; digests < 4; ++digests) {
    ConnectionParams params = controller();
    params.header_digest = (digests & 1) != 0;
    params.data_digest = (digests & 2) != 0;
    params.hpda = 7;
    const DataPdu f{9, 0, 4096, 0, true, true};
    Bytes whole;
    encode_c2h_data(f, data, params, whole);
    Bytes framed;
    const auto digest = encode_c2h_data_frame(f, data, params, framed);
    framed.insert(framed.end(), data.begin(), data.end());
    if (digest) framed.insert(framed.end(), digest->begin(), digest->end());
    EXPECT_EQ(digest.has_value(), params.data_digest);
    EXPECT_EQ(framed, whole) << "digests " << digests;
  }
}

}  // namespace
}  // namespace portico::nvmeof
