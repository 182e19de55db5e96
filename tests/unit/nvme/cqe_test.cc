// The 16-byte CQE and the status field (layout: Linux's struct nvme_completion; nvmet writes the
// status field as cpu_to_le16(status << 1)), and the status code values (Linux's NVME_SC_*).
#include <gtest/gtest.h>

#include "core/nvme/cqe.h"

namespace portico::nvme {
namespace {

// Linux's (SCT << 8 | SC) | CRD | M | DNR, shifted left one bit as the CQE carries it.
uint16_t linux_status_field(uint16_t sct_sc, uint16_t flags) { return static_cast<uint16_t>((sct_sc | flags) << 1); }

TEST(Cqe, EncodesEveryFieldLittleEndian) {
  CompletionEntry e;
  e.dw0 = 0x11223344;
  e.dw1 = 0x55667788;
  e.sq_head = 0x0102;
  e.sq_id = 0x0304;
  e.cid = 0xbeef;
  e.status = CompletionStatus(GenericStatus::reservation_conflict).no_retry();
  const auto b = encode_cqe(e);
  const std::array<uint8_t, 16> expected{0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55,
                                         0x02, 0x01, 0x04, 0x03, 0xef, 0xbe, 0x06, 0x81};
  EXPECT_EQ(b, expected);
  // NVME_SC_RESERVATION_CONFLICT (0x83) | NVME_STATUS_DNR (0x4000), shifted: 0x8106.
  EXPECT_EQ(encode_status_field(e.status, false), linux_status_field(0x083, 0x4000));
}

TEST(Cqe, StatusFieldBitPositions) {
  CompletionStatus s = MediaStatus::compare_failure;  // SCT 2h, SC 85h
  EXPECT_EQ(encode_status_field(s, false), linux_status_field(0x285, 0));
  EXPECT_EQ(encode_status_field(s, true), linux_status_field(0x285, 0) | 0x1);  // P is bit 0
  s.more = true;
  EXPECT_EQ(encode_status_field(s, false), linux_status_field(0x285, 0x2000));  // NVME_STATUS_MORE
  s.more = false;
  s.retry_delay = 3;
  EXPECT_EQ(encode_status_field(s, false), linux_status_field(0x285, 0x1800));  // NVME_STATUS_CRD
  EXPECT_EQ(encode_status_field(CompletionStatus(PathStatus::ana_inaccessible), false), linux_status_field(0x302, 0));
  EXPECT_EQ(encode_status_field(CompletionStatus(), false), 0);
}

TEST(Cqe, DecodesWhatItEncodes) {
  CompletionEntry e;
  e.set_result64(0x0102030405060708ull);
  e.sq_head = 7;
  e.sq_id = 2;
  e.cid = 99;
  e.status = CompletionStatus(CommandSpecificStatus::connect_invalid_host).no_retry();
  e.status.retry_delay = 1;
  e.status.more = true;
  e.phase = true;
  const auto b = encode_cqe(e);
  EXPECT_EQ(decode_cqe(b), e);
  EXPECT_EQ(e.dw0, 0x05060708u);
  EXPECT_EQ(e.dw1, 0x01020304u);
}

TEST(Status, CodesEqualLinuxNvmeScValues) {
  struct Case {
    CompletionStatus status;
    uint16_t linux_value;
  };
  const Case cases[] = {
      {GenericStatus::success, 0x000},
      {GenericStatus::invalid_opcode, 0x001},
      {GenericStatus::invalid_field, 0x002},
      {GenericStatus::command_id_conflict, 0x003},
      {GenericStatus::data_transfer_error, 0x004},
      {GenericStatus::aborted_power_loss, 0x005},
      {GenericStatus::internal_error, 0x006},
      {GenericStatus::abort_requested, 0x007},
      {GenericStatus::aborted_sq_deletion, 0x008},
      {GenericStatus::aborted_fused_failure, 0x009},
      {GenericStatus::aborted_fused_missing, 0x00a},
      {GenericStatus::invalid_namespace, 0x00b},
      {GenericStatus::command_sequence_error, 0x00c},
      {GenericStatus::data_sgl_length_invalid, 0x00f},
      {GenericStatus::sgl_descriptor_type_invalid, 0x011},
      {GenericStatus::sgl_offset_invalid, 0x016},
      {GenericStatus::host_identifier_inconsistent, 0x018},
      {GenericStatus::keep_alive_expired, 0x019},
      {GenericStatus::keep_alive_invalid, 0x01a},
      {GenericStatus::aborted_preempt_and_abort, 0x01b},
      {GenericStatus::sanitize_in_progress, 0x01d},
      {GenericStatus::namespace_write_protected, 0x020},
      {GenericStatus::command_interrupted, 0x021},
      {GenericStatus::transient_transport_error, 0x022},
      {GenericStatus::lba_out_of_range, 0x080},
      {GenericStatus::capacity_exceeded, 0x081},
      {GenericStatus::namespace_not_ready, 0x082},
      {GenericStatus::reservation_conflict, 0x083},
      {CommandSpecificStatus::invalid_queue_identifier, 0x101},
      {CommandSpecificStatus::invalid_queue_size, 0x102},
      {CommandSpecificStatus::async_event_limit_exceeded, 0x105},
      {CommandSpecificStatus::invalid_log_page, 0x109},
      {CommandSpecificStatus::feature_not_saveable, 0x10d},
      {CommandSpecificStatus::feature_not_changeable, 0x10e},
      {CommandSpecificStatus::feature_not_namespace_specific, 0x10f},
      {CommandSpecificStatus::connect_incompatible_format, 0x180},
      {CommandSpecificStatus::connect_controller_busy, 0x181},
      {CommandSpecificStatus::connect_invalid_parameters, 0x182},
      {CommandSpecificStatus::connect_restart_discovery, 0x183},
      {CommandSpecificStatus::connect_invalid_host, 0x184},
      {MediaStatus::write_fault, 0x280},
      {MediaStatus::unrecovered_read_error, 0x281},
      {MediaStatus::compare_failure, 0x285},
      {MediaStatus::access_denied, 0x286},
      {PathStatus::internal_path_error, 0x300},
      {PathStatus::ana_persistent_loss, 0x301},
      {PathStatus::ana_inaccessible, 0x302},
      {PathStatus::ana_transition, 0x303},
      {PathStatus::controller_pathing_error, 0x360},
      {PathStatus::host_pathing_error, 0x370},
      {PathStatus::aborted_by_host, 0x371},
  };
  for (const auto& c : cases) EXPECT_EQ(c.status.combined(), c.linux_value) << std::hex << c.linux_value;
}

TEST(Status, OnlyGenericZeroIsSuccess) {
  EXPECT_TRUE(CompletionStatus().ok());
  EXPECT_FALSE(CompletionStatus(PathStatus::internal_path_error).ok());  // SC 0 of another type
  EXPECT_FALSE(CompletionStatus(GenericStatus::invalid_field).ok());
  EXPECT_TRUE(CompletionStatus(GenericStatus::invalid_field).no_retry().do_not_retry);
}

}  // namespace
}  // namespace portico::nvme
