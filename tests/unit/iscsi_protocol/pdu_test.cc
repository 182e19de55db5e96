#include "frontends/iscsi/protocol/pdu.h"

#include <gtest/gtest.h>

#include "core/common/big_endian.h"

namespace portico::iscsi {
namespace {

using Header = std::array<uint8_t, 48>;

Header scsi_read10(uint32_t itt, uint32_t edtl) {
  Header h{};
  h[0] = 0x01;
  h[1] = 0xc1;  // F, R, simple
  h[9] = 3;     // LUN 3, peripheral addressing
  store_be32(h.data() + 16, itt);
  store_be32(h.data() + 20, edtl);
  store_be32(h.data() + 24, 10);
  store_be32(h.data() + 28, 20);
  h[32] = 0x28;
  return h;
}

TEST(Pdu, DecodesScsiCommandHeader) {
  auto h = scsi_read10(0x1234, 4096);
  auto bhs = decode_bhs(h);
  ASSERT_TRUE(bhs.ok());
  EXPECT_EQ(bhs->opcode, Opcode::scsi_command);
  EXPECT_TRUE(bhs->final_bit);
  EXPECT_FALSE(bhs->immediate);
  EXPECT_EQ(bhs->itt, 0x1234u);
  EXPECT_EQ(bhs->cmd_sn, 10u);
  EXPECT_EQ(bhs->exp_stat_sn, 20u);
  EXPECT_EQ(bhs->lun_number(), 3u);
  auto cmd = decode_scsi_command(*bhs, {});
  ASSERT_TRUE(cmd.ok());
  EXPECT_TRUE(cmd->read);
  EXPECT_FALSE(cmd->write);
  EXPECT_EQ(cmd->task_attribute, 1);
  EXPECT_EQ(cmd->expected_data_transfer_length, 4096u);
  EXPECT_EQ(cmd->cdb[0], 0x28);
  EXPECT_TRUE(cmd->extended_cdb.empty());
}

TEST(Pdu, RejectsTargetAndUnknownOpcodes) {
  Header h{};
  for (uint8_t op : std::array<uint8_t, 6>{0x07, 0x0f, 0x1c, 0x20, 0x21, 0x3f}) {
    h[0] = op;
    EXPECT_FALSE(decode_bhs(h).ok()) << int(op);
  }
  h[0] = 0x50;  // immediate SNACK is an initiator opcode
  EXPECT_TRUE(decode_bhs(h).ok());
}

TEST(Pdu, ImmediateBitAndDataOutFields) {
  Header h{};
  h[0] = 0x05;
  h[1] = 0x80;
  store_be24(h.data() + 5, 512);
  store_be32(h.data() + 16, 9);
  store_be32(h.data() + 20, 77);
  store_be32(h.data() + 36, 2);
  store_be32(h.data() + 40, 8192);
  auto bhs = decode_bhs(h);
  ASSERT_TRUE(bhs.ok());
  EXPECT_EQ(bhs->data_segment_length, 512u);
  EXPECT_EQ(bhs->ttt, 77u);
  EXPECT_EQ(bhs->data_sn, 2u);
  EXPECT_EQ(bhs->buffer_offset, 8192u);
  h[0] = 0x40;  // immediate NOP-Out
  EXPECT_TRUE(decode_bhs(h)->immediate);
}

TEST(Pdu, TaskManagementReferencedTag) {
  Header h{};
  h[0] = 0x42;
  h[1] = 0x81;
  store_be32(h.data() + 20, 0xabcd);
  auto bhs = decode_bhs(h);
  ASSERT_TRUE(bhs.ok());
  EXPECT_EQ(bhs->referenced_task_tag, 0xabcdu);
}

TEST(Pdu, LunAddressingMethods) {
  Bhs b;
  b.lun = {0x00, 0x05, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(b.lun_number(), 5u);
  b.lun = {0x41, 0x02, 0, 0, 0, 0, 0, 0};  // flat space: 0x102
  EXPECT_EQ(b.lun_number(), 0x102u);
  b.lun = {0x01, 0x02, 0, 0, 0, 0, 0, 0};  // peripheral with a bus id: libiscsi's LUN 0x102
  EXPECT_EQ(b.lun_number(), 0x102u);
  b.lun = {0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0};  // second level
  EXPECT_EQ(b.lun_number(), kInvalidLun);
  b.lun = {0xc0, 0x00, 0, 0, 0, 0, 0, 0};  // extended addressing
  EXPECT_EQ(b.lun_number(), kInvalidLun);
}

TEST(Pdu, LayoutWithAhsDigestsAndPadding) {
  Header h{};
  h[0] = 0x01;
  h[4] = 2;  // 8 bytes of AHS
  store_be24(h.data() + 5, 5);
  auto l = pdu_layout(h, true, true, 8192);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->ahs_length, 8u);
  EXPECT_EQ(l->header_digest_offset, 56u);
  EXPECT_EQ(l->data_offset, 60u);
  EXPECT_EQ(l->data_length, 5u);
  EXPECT_EQ(l->padded_data_length, 8u);
  EXPECT_EQ(l->data_digest_offset, 68u);
  EXPECT_EQ(l->total_length, 72u);
  auto plain = pdu_layout(h, false, false, 8192);
  EXPECT_EQ(plain->total_length, 48u + 8 + 8);
  store_be24(h.data() + 5, 0);
  EXPECT_EQ(pdu_layout(h, false, true, 8192)->total_length, 56u);  // no data digest without data
}

TEST(Pdu, LayoutRejectsOversizedDataSegment) {
  Header h{};
  store_be24(h.data() + 5, 8193);
  EXPECT_FALSE(pdu_layout(h, false, false, 8192).ok());
  EXPECT_TRUE(pdu_layout(h, false, false, 8193).ok());
}

TEST(Pdu, ExtendedCdbAndBidiAhs) {
  auto h = scsi_read10(1, 0);
  h[1] = 0xe1;  // bidirectional
  for (size_t i = 0; i < 16; ++i) h[32 + i] = static_cast<uint8_t>(i);
  auto bhs = decode_bhs(h);
  // Extended CDB of 32 bytes: AHSLength = 17 (reserved byte + 16 CDB bytes), padded to 20.
  std::vector<uint8_t> ahs(20 + 8, 0);
  store_be16(ahs.data(), 17);
  ahs[2] = 1;
  for (size_t i = 0; i < 16; ++i) ahs[4 + i] = static_cast<uint8_t>(16 + i);
  store_be16(ahs.data() + 20, 5);
  ahs[22] = 2;
  store_be32(ahs.data() + 24, 999);
  auto cmd = decode_scsi_command(*bhs, ahs);
  ASSERT_TRUE(cmd.ok()) << cmd.status().message();
  ASSERT_EQ(cmd->extended_cdb.size(), 32u);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(cmd->extended_cdb[i], i);
  EXPECT_EQ(cmd->bidi_read_length, 999u);
  EXPECT_TRUE(cmd->read && cmd->write);
}

TEST(Pdu, MalformedAhsIsRejected) {
  auto bhs = decode_bhs(scsi_read10(1, 0));
  std::vector<uint8_t> ahs(8, 0);
  store_be16(ahs.data(), 17);  // claims more than present
  ahs[2] = 1;
  EXPECT_FALSE(decode_scsi_command(*bhs, ahs).ok());
  store_be16(ahs.data(), 5);
  ahs[2] = 9;  // unknown type
  EXPECT_FALSE(decode_scsi_command(*bhs, ahs).ok());
  ahs[2] = 2;
  store_be16(ahs.data(), 4);  // bidi AHS with the wrong length
  EXPECT_FALSE(decode_scsi_command(*bhs, ahs).ok());
  EXPECT_FALSE(decode_scsi_command(*bhs, std::span<const uint8_t>(ahs).first(3)).ok());
}

TEST(Pdu, LoginRequestFields) {
  Header h{};
  h[0] = 0x43;
  h[1] = 0x87;  // T, CSG 1, NSG 3
  h[2] = 0;
  h[3] = 0;
  const std::array<uint8_t, 6> isid{0x80, 1, 2, 3, 4, 5};
  std::copy(isid.begin(), isid.end(), h.begin() + 8);
  store_be16(h.data() + 14, 0x55);
  store_be32(h.data() + 16, 0x77);
  store_be16(h.data() + 20, 3);
  store_be32(h.data() + 24, 100);
  store_be32(h.data() + 28, 200);
  auto f = decode_login_request(*decode_bhs(h));
  EXPECT_TRUE(f.transit);
  EXPECT_FALSE(f.cont);
  EXPECT_EQ(f.csg, 1);
  EXPECT_EQ(f.nsg, 3);
  EXPECT_EQ(f.isid, isid);
  EXPECT_EQ(f.tsih, 0x55);
  EXPECT_EQ(f.itt, 0x77u);
  EXPECT_EQ(f.cid, 3);
  EXPECT_EQ(f.cmd_sn, 100u);
  EXPECT_EQ(f.exp_stat_sn, 200u);
}

TEST(Pdu, EncodesR2t) {
  Header h{};
  encode_r2t({.lun = 2, .itt = 1, .ttt = 5, .stat_sn = 6, .exp_cmd_sn = 7, .max_cmd_sn = 8, .r2t_sn = 9,
              .buffer_offset = 4096, .desired_length = 65536},
             h);
  EXPECT_EQ(h[0], 0x31);
  EXPECT_EQ(h[1], 0x80);
  EXPECT_EQ(h[9], 2);
  EXPECT_EQ(load_be32(h.data() + 20), 5u);
  EXPECT_EQ(load_be32(h.data() + 24), 6u);
  EXPECT_EQ(load_be32(h.data() + 36), 9u);
  EXPECT_EQ(load_be32(h.data() + 40), 4096u);
  EXPECT_EQ(load_be32(h.data() + 44), 65536u);
  EXPECT_EQ(load_be24(h.data() + 5), 0u);
}

TEST(Pdu, EncodesDataInWithAndWithoutStatus) {
  Header h{};
  DataInFields d;
  d.itt = 3;
  d.data_sn = 1;
  d.buffer_offset = 512;
  d.stat_sn = 44;
  encode_data_in(d, h);
  EXPECT_EQ(h[0], 0x25);
  EXPECT_EQ(h[1], 0x00);
  EXPECT_EQ(load_be32(h.data() + 24), 0u);  // StatSN reserved without S
  EXPECT_EQ(load_be32(h.data() + 20), kReservedTaskTag);
  d.status_present = true;
  d.underflow = true;
  d.residual = 100;
  encode_data_in(d, h);
  EXPECT_EQ(h[1], 0x83);  // F, U, S
  EXPECT_EQ(load_be32(h.data() + 24), 44u);
  EXPECT_EQ(load_be32(h.data() + 44), 100u);
}

TEST(Pdu, EncodesScsiResponseAndReject) {
  Header h{};
  encode_scsi_response({.itt = 9, .status = 2, .overflow = true, .residual = 8, .stat_sn = 1}, h);
  EXPECT_EQ(h[0], 0x21);
  EXPECT_EQ(h[1], 0x84);
  EXPECT_EQ(h[3], 2);
  EXPECT_EQ(load_be32(h.data() + 44), 8u);
  encode_reject({.reason = kRejectProtocolError, .stat_sn = 3}, h);
  EXPECT_EQ(h[0], 0x3f);
  EXPECT_EQ(h[2], 0x04);
  EXPECT_EQ(load_be32(h.data() + 16), kReservedTaskTag);
  EXPECT_EQ(load_be32(h.data() + 44), 0u);  // earlier contents cleared
}

TEST(Pdu, EncodesLoginTextLogoutNopTmf) {
  Header h{};
  LoginResponseFields l;
  l.transit = true;
  l.csg = 1;
  l.nsg = 3;
  l.isid = {1, 2, 3, 4, 5, 6};
  l.tsih = 7;
  l.status_class = 2;
  l.status_detail = 1;
  encode_login_response(l, h);
  EXPECT_EQ(h[0], 0x23);
  EXPECT_EQ(h[1], 0x87);
  EXPECT_EQ(h[8], 1);
  EXPECT_EQ(load_be16(h.data() + 14), 7);
  EXPECT_EQ(h[36], 2);
  EXPECT_EQ(h[37], 1);
  encode_text_response({.final = false, .cont = true, .itt = 4, .ttt = 10}, h);
  EXPECT_EQ(h[0], 0x24);
  EXPECT_EQ(h[1], 0x40);
  EXPECT_EQ(load_be32(h.data() + 20), 10u);
  encode_logout_response({.response = 2, .itt = 5, .time2wait = 2, .time2retain = 20}, h);
  EXPECT_EQ(h[0], 0x26);
  EXPECT_EQ(h[2], 2);
  EXPECT_EQ(load_be16(h.data() + 40), 2);
  EXPECT_EQ(load_be16(h.data() + 42), 20);
  encode_nop_in({.lun = 300, .itt = kReservedTaskTag, .ttt = 12}, h);
  EXPECT_EQ(h[0], 0x20);
  EXPECT_EQ(h[8], 0x41);  // flat addressing for LUN 300
  EXPECT_EQ(h[9], 0x2c);
  encode_tmf_response({.itt = 6, .response = 5}, h);
  EXPECT_EQ(h[0], 0x22);
  EXPECT_EQ(h[2], 5);
}

}  // namespace
}  // namespace portico::iscsi
