/* The kernel's TCMU layout as the uapi header itself computes it, for ring_layout_test.cc to
 * compare with frontends/fc_tcmu/ring/ring_layout.h. Filled in by uapi_layout.c, which is C
 * because the header's inline helpers (tcmu_hdr_get_op) do not compile as C++. */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct TcmuUapiLayout {
  size_t mailbox_version, mailbox_flags, mailbox_cmdr_off, mailbox_cmdr_size, mailbox_cmd_head,
      mailbox_cmd_tail, mailbox_size;
  size_t mailbox_version_value, cap_oooc, cap_read_len, cap_tmr;
  size_t op_align, op_mask, op_pad, op_cmd, op_tmr;
  size_t hdr_len_op, hdr_cmd_id, hdr_kflags, hdr_uflags, hdr_size, uflag_read_len;
  size_t req_iov_cnt, req_iov_bidi_cnt, req_iov_dif_cnt, req_cdb_off, req_iov;
  size_t iovec_size, iovec_base, iovec_len;
  size_t rsp_scsi_status, rsp_read_len, rsp_sense, sense_size, cmd_entry_size;
  size_t tmr_type, tmr_cmd_cnt, tmr_cmd_ids, tmr_entry_size;
};

extern const struct TcmuUapiLayout kTcmuUapiLayout;

#ifdef __cplusplus
}
#endif
