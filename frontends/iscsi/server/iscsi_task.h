// Per-command state of the iSCSI front-end: the SCSI task handed to the core plus what iSCSI
// needs around it (data-out collection with R2Ts, Data-In sequencing, residuals).
#pragma once

#include <cstdint>
#include <vector>

#include "core/io_buffer.h"
#include "core/scsi/scsi_task.h"
#include "runtime/buffer_budget.h"

namespace portico::iscsi {

struct IscsiTask {
  uint32_t itt = 0;
  uint32_t cmd_sn = 0;
  bool immediate = false;
  bool is_read = false;
  bool is_write = false;
  uint32_t expected_length = 0;  // EDTL (the write direction for bidirectional commands)

  // Data-out collection (RFC 7143 §4.2.3 / §11.7, §11.8).
  IoBuffer data_out;
  uint32_t data_out_capacity = 0;  // bytes we store (EDTL capped at the transfer limit)
  uint32_t received = 0;           // bytes of data-out received so far
  uint32_t unsolicited_end = 0;    // offset up to which data may come without an R2T
  uint32_t next_r2t_offset = 0;    // first byte not yet requested by an R2T
  uint32_t r2t_sn = 0;             // R2TSN of the next R2T we send

  // One data-out sequence: the unsolicited one (ttt 0xffffffff) or one per R2T.
  struct Sequence {
    uint32_t ttt = 0xffffffff;
    uint32_t offset = 0;
    uint32_t length = 0;
    uint32_t received = 0;
    uint32_t next_data_sn = 0;
  };
  std::vector<Sequence> open_sequences;

  // A Data-Out of this task failed its data digest: the rest is collected, then the command
  // ends with PROTOCOL SERVICE CRC ERROR instead of reaching the core (RFC 7143 §7.8).
  bool data_digest_failed = false;
  // The buffer budget this command holds (data-out buffer plus the core's estimate); taken
  // before its buffer is allocated, handed to its final PDU.
  runtime::BufferCharge charge;
  bool parked = false;     // waiting for budget before its R2Ts go out / it reaches the core
  bool submitted = false;  // handed to the core; the core owns the outcome now
  bool abort_requested = false;

  scsi::ScsiTask scsi;
};

}  // namespace portico::iscsi
