// One SCSI command as a front-end hands it to the core, and the core's answer.
//
// The front-end owns the ScsiTask (usually as a member of its own per-command state) and keeps it
// alive until the core has called `done`. All data-out has arrived before submission; a
// front-end that collects data-out first calls ScsiTarget::admit when the command arrives, so
// that a task management function or PREEMPT AND ABORT in the meantime still covers it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/block_device.h"
#include "core/io_buffer.h"
#include "core/scsi/scsi_status.h"
#include "core/task.h"

namespace portico::scsi {

class NexusState;
class LogicalUnit;

enum class DataDirection : uint8_t { none, from_device /* data-in */, to_device /* data-out */, bidirectional };

enum class TaskAttribute : uint8_t { simple = 0, ordered = 1, head_of_queue = 2, aca = 3 };

// How a task ended, for the front-end to decide what to send.
enum class TaskOutcome : uint8_t {
  completed,         // send status (+ data-in, + sense)
  aborted_silently,  // aborted by a TMF of this nexus: send nothing (SAM-5 7.2)
};

class ScsiTask : public Task {
 public:
  // --- set by the front-end before submission (and Task::tag: the iSCSI ITT) ---
  uint64_t lun = 0;
  TaskAttribute attribute = TaskAttribute::simple;
  DataDirection direction = DataDirection::none;
  std::array<uint8_t, 16> cdb_bytes{};
  std::vector<uint8_t> extended_cdb;  // CDBs longer than 16 bytes (iSCSI AHS), else empty
  uint32_t expected_transfer_length = 0;        // what the initiator expects to move (EDTL)
  uint32_t expected_bidi_read_length = 0;
  std::span<const uint8_t> data_out;            // all the data-out the initiator sent
  // Buffers the front-end owns, in pieces (a TCMU data area's iovecs), when it has them; the
  // lists outlive the task. READ (6/10/12/16) fills data_in_segments in place and sets
  // data_in_placed; WRITE (6/10/12/16) takes data_out_segments as its data when data_out is
  // empty. Every other command uses data_out / data_in (the front-end gathers or copies).
  ReadSegments data_in_segments;
  WriteSegments data_out_segments;

  [[nodiscard]] std::span<const uint8_t> cdb() const {
    if (!extended_cdb.empty()) return extended_cdb;
    return {cdb_bytes.data(), cdb_bytes.size()};
  }

  // --- set by the core before `done` ---
  TaskOutcome outcome = TaskOutcome::completed;
  ScsiStatus status = ScsiStatus::good;
  std::vector<uint8_t> sense;  // sense data bytes, already encoded fixed or descriptor
  IoBuffer data_in;            // data-in buffer (may be larger than data_in_length)
  uint32_t data_in_length = 0; // bytes of valid data-in, <= data_in.size()
  bool data_in_placed = false; // the data_in_length bytes are in data_in_segments, not data_in
  // Bytes of data-out the CDB asked for (e.g. WRITE transfer length x block size), so that the
  // front-end can report a residual against the expected transfer length.
  uint32_t data_out_length_needed = 0;

  // --- the core's, while it executes the task ---
  NexusState* nexus = nullptr;
  LogicalUnit* unit = nullptr;
};

}  // namespace portico::scsi
