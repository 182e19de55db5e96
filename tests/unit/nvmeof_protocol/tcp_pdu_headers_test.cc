#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>

#include "frontends/common/crc32c.h"
#include "tests/unit/nvmeof_protocol/pdu_test_support.h"

namespace portico::nvmeof {
namespace {

using test::Bytes;
using test::controller;
using test::expect_error;
using test::host;
using test::raw_pdu;

constexpr auto kInvalid = FatalErrorStatus::invalid_pdu_header_field;

// ICReq as Linux's host sends it, asking for both digests: PFV 0, HPDA 0, MAXR2T 0.
Bytes linux_ic_req() {
  Bytes b = raw_pdu(PduType::ic_req, 0, 128, 0, 128, 128);
  b[11] = 0x03;
  return b;
}

TEST(NvmeTcpPduHeaders, IcReqFieldsAtLinuxOffsets) {
  Bytes b = linux_ic_req();
  b[10] = 7;                        // HPDA
  store_le32(&b[12], 0x01020304u);  // MAXR2T
  b[100] = 0xee;                    // reserved: ignored
  auto pdu = decode_pdu(b, controller());
  ASSERT_TRUE(pdu.ok()) << pdu.error().message;
  const auto& f = std::get<IcReq>(pdu->header);
  EXPECT_EQ(f.pfv, 0);
  EXPECT_EQ(f.hpda, 7);
  EXPECT_TRUE(f.header_digest);
  EXPECT_TRUE(f.data_digest);
  EXPECT_EQ(f.maxr2t, 0x01020304u);
  EXPECT_TRUE(pdu->data.empty());
}

TEST(NvmeTcpPduHeaders, IcReqWithUnknownPfvOrHpdaOutOfRange) {
  Bytes b = linux_ic_req();
  store_le16(&b[8], 1);
  expect_error(decode_pdu(b, controller()), kInvalid, 8);
  b = linux_ic_req();
  b[10] = 32;
  expect_error(decode_pdu(b, controller()), kInvalid, 10);
  b[10] = 31;
  EXPECT_TRUE(decode_pdu(b, controller()).ok());
}

TEST(NvmeTcpPduHeaders, IcRespFieldsAndMaxH2cDataRules) {
  Bytes b = raw_pdu(PduType::ic_resp, 0, 128, 0, 128, 128);
  b[10] = 3;     // CPDA
  b[11] = 0x01;  // header digest only
  store_le32(&b[12], 0x20000);
  auto pdu = decode_pdu(b, host());
  ASSERT_TRUE(pdu.ok()) << pdu.error().message;
  const auto& f = std::get<IcResp>(pdu->header);
  EXPECT_EQ(f.cpda, 3);
  EXPECT_TRUE(f.header_digest);
  EXPECT_FALSE(f.data_digest);
  EXPECT_EQ(f.maxh2cdata, 0x20000u);
  // Linux's host refuses MAXH2CDATA below 4096 or not a multiple of 4.
  for (uint32_t bad : {0u, 4095u, 4098u}) {
    store_le32(&b[12], bad);
    expect_error(decode_pdu(b, host()), kInvalid, 12);
  }
  store_le32(&b[12], 4096);
  b[10] = 40;
  expect_error(decode_pdu(b, host()), kInvalid, 10);
}

TEST(NvmeTcpPduHeaders, TermReqFeiSitsAtUnalignedOffset10) {
  Bytes b = raw_pdu(PduType::c2h_term_req, 0, 24, 0, 24 + 3, 24 + 3);
  store_le16(&b[8], 0x0006);
  const uint8_t fei[] = {0x78, 0x56, 0x34, 0x12};
  std::copy(std::begin(fei), std::end(fei), b.begin() + 10);
  const uint8_t error_data[] = {0xaa, 0xbb, 0xcc};
  std::copy(std::begin(error_data), std::end(error_data), b.begin() + 24);
  auto pdu = decode_pdu(b, host());
  ASSERT_TRUE(pdu.ok()) << pdu.error().message;
  const auto& f = std::get<TermReq>(pdu->header);
  EXPECT_EQ(f.fes, 6);
  EXPECT_EQ(f.fei, 0x12345678u);
  EXPECT_EQ(Bytes(pdu->data.begin(), pdu->data.end()), (Bytes{0xaa, 0xbb, 0xcc}));
}

TEST(NvmeTcpPduHeaders, CapsulesCarryTheirQueueEntriesVerbatim) {
  Bytes cmd = raw_pdu(PduType::capsule_cmd, 0, 72, 72, 72 + 5, 72 + 5);
  for (size_t i = 8; i < 72; ++i) cmd[i] = static_cast<uint8_t>(i);
  for (size_t i = 72; i < cmd.size(); ++i) cmd[i] = 0xd0;
  auto c = decode_pdu(cmd, controller());
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& sqe = std::get<CapsuleCmd>(c->header).sqe;
  EXPECT_EQ(sqe[0], 8);
  EXPECT_EQ(sqe[63], 71);
  EXPECT_EQ(c->data.size(), 5u);
  EXPECT_EQ(c->data[4], 0xd0);

  Bytes rsp = raw_pdu(PduType::capsule_resp, 0, 24, 0, 24, 24);
  for (size_t i = 8; i < 24; ++i) rsp[i] = static_cast<uint8_t>(0xf0 + i - 8);
  auto r = decode_pdu(rsp, host());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<CapsuleResp>(r->header).cqe[0], 0xf0);
  EXPECT_EQ(std::get<CapsuleResp>(r->header).cqe[15], 0xff);
}

Bytes data_pdu(PduType type, uint8_t flags, uint32_t datal, uint32_t data_bytes) {
  Bytes b = raw_pdu(type, flags, 24, data_bytes > 0 ? 24 : 0, 24 + data_bytes, 24 + data_bytes);
  store_le16(&b[8], 0x1122);
  store_le16(&b[10], 0x3344);
  store_le32(&b[12], 0x1000);
  store_le32(&b[16], datal);
  return b;
}

TEST(NvmeTcpPduHeaders, DataPduFields) {
  auto h2c = decode_pdu(data_pdu(PduType::h2c_data, kFlagLastPdu, 16, 16), controller());
  ASSERT_TRUE(h2c.ok()) << h2c.error().message;
  const auto& f = std::get<DataPdu>(h2c->header);
  EXPECT_EQ(f.cccid, 0x1122);
  EXPECT_EQ(f.ttag, 0x3344);
  EXPECT_EQ(f.datao, 0x1000u);
  EXPECT_EQ(f.datal, 16u);
  EXPECT_TRUE(f.last_pdu);
  EXPECT_FALSE(f.success);
  // TTAG is reserved in C2HData.
  auto c2h = decode_pdu(data_pdu(PduType::c2h_data, kFlagLastPdu | kFlagSuccess, 16, 16), host());
  ASSERT_TRUE(c2h.ok()) << c2h.error().message;
  EXPECT_EQ(std::get<DataPdu>(c2h->header).ttag, 0);
  EXPECT_TRUE(std::get<DataPdu>(c2h->header).success);
}

TEST(NvmeTcpPduHeaders, DatalMustMatchThePduData_Fei16) {
  expect_error(decode_pdu(data_pdu(PduType::h2c_data, 0, 15, 16), controller()), kInvalid, 16);
  expect_error(decode_pdu(data_pdu(PduType::c2h_data, 0, 17, 16), host()), kInvalid, 16);
  expect_error(decode_pdu(data_pdu(PduType::h2c_data, 0, 0, 0), controller()), kInvalid, 16);
}

TEST(NvmeTcpPduHeaders, OffsetPlusLengthBeyond32BitsIsOutOfRange) {
  Bytes b = data_pdu(PduType::h2c_data, 0, 16, 16);
  store_le32(&b[12], 0xfffffff8u);
  expect_error(decode_pdu(b, controller()), FatalErrorStatus::data_transfer_out_of_range, 0);
  Bytes r2t = raw_pdu(PduType::r2t, 0, 24, 0, 24, 24);
  store_le32(&r2t[12], 0xffffff00u);
  store_le32(&r2t[16], 0x100u);
  auto fits = decode_pdu(r2t, host());
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(std::get<R2t>(fits->header).r2to, 0xffffff00u);
  store_le32(&r2t[16], 0x101u);
  expect_error(decode_pdu(r2t, host()), FatalErrorStatus::data_transfer_out_of_range, 0);
}

TEST(NvmeTcpPduHeaders, R2tFieldsAndZeroLength_Fei16) {
  Bytes b = raw_pdu(PduType::r2t, 0, 24, 0, 24, 24);
  store_le16(&b[8], 7);
  store_le16(&b[10], 9);
  store_le32(&b[12], 4096);
  store_le32(&b[16], 8192);
  auto pdu = decode_pdu(b, host());
  ASSERT_TRUE(pdu.ok()) << pdu.error().message;
  EXPECT_EQ(std::get<R2t>(pdu->header), (R2t{7, 9, 4096, 8192}));
  store_le32(&b[16], 0);
  expect_error(decode_pdu(b, host()), kInvalid, 16);
}

TEST(NvmeTcpPduHeaders, CorruptedHeaderDigestIsAHeaderDigestError) {
  Bytes b = raw_pdu(PduType::capsule_resp, kFlagHdgst, 24, 0, 28, 28);
  b[8] = 0x42;
  store_le32(&b[24], wire::crc32c(std::span<const uint8_t>(b).first(24)));
  ASSERT_TRUE(decode_pdu(b, host(true)).ok());
  for (size_t i : {size_t{8}, size_t{23}, size_t{24}, size_t{27}}) {
    Bytes bad = b;
    bad[i] ^= 0x01;
    expect_error(decode_pdu(bad, host(true)), FatalErrorStatus::header_digest_error, 0);
  }
}

TEST(NvmeTcpPduHeaders, CorruptedDataDigestIsReportedNotFatal) {
  Bytes b = raw_pdu(PduType::h2c_data, kFlagDdgst | kFlagLastPdu, 24, 24, 24 + 4 + 4, 24 + 4 + 4);
  store_le32(&b[16], 4);
  for (size_t i = 0; i < 4; ++i) b[24 + i] = static_cast<uint8_t>(i + 1);
  store_le32(&b[28], wire::crc32c(std::span<const uint8_t>(b).subspan(24, 4)));
  auto good = decode_pdu(b, controller(false, true));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_TRUE(good->data_digest_ok);
  b[26] ^= 0x80;
  auto bad = decode_pdu(b, controller(false, true));
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  EXPECT_FALSE(bad->data_digest_ok);
}

TEST(NvmeTcpPduHeaders, BufferShorterThanPlenIsReportedAgainstPlen) {
  Bytes b = data_pdu(PduType::h2c_data, 0, 16, 16);
  b.resize(30);
  expect_error(decode_pdu(b, controller()), kInvalid, 4);
  expect_error(decode_pdu(Bytes{0x04, 0x00}, controller()), kInvalid, 4);
}

TEST(NvmeTcpPduHeaders, DecodeHeaderNeedsOnlyHeaderBytes) {
  Bytes b = data_pdu(PduType::h2c_data, 0, 4096, 4096);
  auto layout = decode_common_header(test::ch_of(b), controller());
  ASSERT_TRUE(layout.ok());
  auto header = decode_header(std::span<const uint8_t>(b).first(layout->header_bytes()), *layout);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(std::get<DataPdu>(*header).datal, 4096u);
}

}  // namespace
}  // namespace portico::nvmeof
