// ring_layout.h's offsets against the kernel's own header (uapi_layout.c).
#include "frontends/fc_tcmu/ring/ring_layout.h"

#include <gtest/gtest.h>

#include "tests/unit/fc_tcmu/uapi_layout.h"

namespace portico::tcmu::layout {
namespace {

TEST(RingLayout, MatchesTheKernelsUapiHeader) {
  const TcmuUapiLayout& k = kTcmuUapiLayout;
  EXPECT_EQ(k.mailbox_version, kMailboxVersion);
  EXPECT_EQ(k.mailbox_flags, kMailboxFlags);
  EXPECT_EQ(k.mailbox_cmdr_off, kMailboxCmdrOff);
  EXPECT_EQ(k.mailbox_cmdr_size, kMailboxCmdrSize);
  EXPECT_EQ(k.mailbox_cmd_head, kMailboxCmdHead);
  EXPECT_EQ(k.mailbox_cmd_tail, kMailboxCmdTail);
  EXPECT_EQ(k.mailbox_size, kMailboxSize);
  EXPECT_EQ(k.mailbox_version_value, kMailboxVersionSupported);
  EXPECT_EQ(k.cap_oooc, kCapOutOfOrderCompletion);
  EXPECT_EQ(k.cap_read_len, kCapReadLen);
  EXPECT_EQ(k.cap_tmr, kCapTmr);
  EXPECT_EQ(k.op_align, kEntryAlign);
  EXPECT_EQ(k.op_mask, kOpMask);
  EXPECT_EQ(k.op_pad, static_cast<size_t>(EntryOp::pad));
  EXPECT_EQ(k.op_cmd, static_cast<size_t>(EntryOp::cmd));
  EXPECT_EQ(k.op_tmr, static_cast<size_t>(EntryOp::tmr));
  EXPECT_EQ(k.hdr_len_op, kHdrLenOp);
  EXPECT_EQ(k.hdr_cmd_id, kHdrCmdId);
  EXPECT_EQ(k.hdr_kflags, kHdrKflags);
  EXPECT_EQ(k.hdr_uflags, kHdrUflags);
  EXPECT_EQ(k.hdr_size, kHdrSize);
  EXPECT_EQ(k.uflag_read_len, kUflagReadLen);
  EXPECT_EQ(k.req_iov_cnt, kReqIovCnt);
  EXPECT_EQ(k.req_iov_bidi_cnt, kReqIovBidiCnt);
  EXPECT_EQ(k.req_iov_dif_cnt, kReqIovDifCnt);
  EXPECT_EQ(k.req_cdb_off, kReqCdbOff);
  EXPECT_EQ(k.req_iov, kReqIov);
  EXPECT_EQ(k.iovec_size, kIovecSize);
  EXPECT_EQ(k.iovec_base, kIovecBase);
  EXPECT_EQ(k.iovec_len, kIovecLen);
  EXPECT_EQ(k.rsp_scsi_status, kRspScsiStatus);
  EXPECT_EQ(k.rsp_read_len, kRspReadLen);
  EXPECT_EQ(k.rsp_sense, kRspSense);
  EXPECT_EQ(k.sense_size, kSenseBufferSize);
  EXPECT_EQ(k.cmd_entry_size, kCmdEntrySize);
  EXPECT_EQ(k.tmr_type, kTmrType);
  EXPECT_EQ(k.tmr_cmd_cnt, kTmrCmdCnt);
  EXPECT_EQ(k.tmr_cmd_ids, kTmrCmdIds);
  EXPECT_EQ(k.tmr_entry_size, kTmrEntrySize);
}

}  // namespace
}  // namespace portico::tcmu::layout
