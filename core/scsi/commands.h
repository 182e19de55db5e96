// Command handlers of the core, one family per file. Each handler finishes the task through
// LogicalUnit::complete() / fail(), synchronously or from a backend completion.
#pragma once

#include <optional>
#include <vector>

#include "core/scsi/logical_unit.h"
#include "core/scsi/scsi_task.h"

namespace portico::scsi {

// Routes a task to its handler by operation code (command_dispatch.cc).
void dispatch_command(LogicalUnit& unit, ScsiTask& task);

// inquiry.cc
void handle_inquiry(LogicalUnit& unit, ScsiTask& task);
// mode_sense.cc
void handle_mode_sense(LogicalUnit& unit, ScsiTask& task);
// block_io.cc
void handle_read(LogicalUnit& unit, ScsiTask& task);
void handle_write(LogicalUnit& unit, ScsiTask& task);
void handle_synchronize_cache(LogicalUnit& unit, ScsiTask& task);
// compare_and_write.cc
void handle_compare_and_write(LogicalUnit& unit, ScsiTask& task);
uint32_t max_compare_and_write_blocks(const LogicalUnit& unit);
// unmap_write_same.cc
void handle_unmap(LogicalUnit& unit, ScsiTask& task);
void handle_write_same(LogicalUnit& unit, ScsiTask& task);
// verify.cc
void handle_verify(LogicalUnit& unit, ScsiTask& task);
void handle_write_and_verify(LogicalUnit& unit, ScsiTask& task);
void handle_pre_fetch(LogicalUnit& unit, ScsiTask& task);
void handle_start_stop_unit(LogicalUnit& unit, ScsiTask& task);
// lba_status.cc
void handle_get_lba_status(LogicalUnit& unit, ScsiTask& task);
// persistent_reserve.cc
void handle_persistent_reserve_in(LogicalUnit& unit, ScsiTask& task);
void handle_persistent_reserve_out(LogicalUnit& unit, ScsiTask& task);
void handle_spc2_reserve_release(LogicalUnit& unit, ScsiTask& task);
// mode_select.cc
void handle_mode_select(LogicalUnit& unit, ScsiTask& task);
// report_supported.cc
void handle_report_supported_opcodes(LogicalUnit& unit, ScsiTask& task);
void handle_report_supported_tmfs(LogicalUnit& unit, ScsiTask& task);
// read_defect_data.cc
void handle_read_defect_data(LogicalUnit& unit, ScsiTask& task);
// orwrite.cc
void handle_orwrite(LogicalUnit& unit, ScsiTask& task);
void handle_prevent_allow_medium_removal(LogicalUnit& unit, ScsiTask& task);
// sanitize.cc
void handle_sanitize(LogicalUnit& unit, ScsiTask& task);
// write_atomic.cc
void handle_write_atomic(LogicalUnit& unit, ScsiTask& task);
// The Block Limits VPD atomic fields (SBC-4 6.6.4), in logical blocks; max_blocks 0 = WRITE
// ATOMIC is not offered.
struct AtomicWriteLimits {
  uint32_t max_blocks = 0;
  uint32_t alignment_blocks = 0;
  uint32_t granularity_blocks = 0;
};
AtomicWriteLimits atomic_write_limits(const LogicalUnit& unit);
// capacity.cc
void handle_read_capacity10(LogicalUnit& unit, ScsiTask& task);
void handle_read_capacity16(LogicalUnit& unit, ScsiTask& task);
// target_port_groups.cc
void handle_report_target_port_groups(LogicalUnit& unit, ScsiTask& task);
// extended_copy.cc
void handle_extended_copy(LogicalUnit& unit, ScsiTask& task);
// receive_copy_results.cc
void handle_receive_copy_results(LogicalUnit& unit, ScsiTask& task);
// third_party_copy.cc: the Third-party Copy VPD page (SPC-4 7.8.17) and the CDB usage data of
// the copy commands for REPORT SUPPORTED OPERATION CODES (nullopt for other commands).
std::vector<uint8_t> third_party_copy_vpd_page();
std::optional<std::vector<uint8_t>> third_party_copy_cdb_usage(uint8_t opcode, std::optional<uint8_t> service_action);

// Copies `bytes` to the task's data-in, truncated to the CDB's allocation length (SPC-4 4.2.5.6).
void respond_with_data(ScsiTask& task, std::span<const uint8_t> bytes, uint32_t allocation_length);

}  // namespace portico::scsi
