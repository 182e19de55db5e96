// The copy manager of a logical unit (SPC-4 5.17 third-party copy): where EXTENDED COPY finds
// the copy targets its target descriptors name, and what RECEIVE COPY RESULTS reports about the
// copies it ran. One per logical unit; its state is shared by every gateway thread, so it locks.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace portico::scsi {

class LogicalUnit;

// The limits the copy manager advertises (RECEIVE COPY RESULTS OPERATING PARAMETERS, SPC-4
// 6.18.4; Third-party Copy VPD page, SPC-4 7.8.17) and enforces on every EXTENDED COPY.
namespace copy_limits {
inline constexpr uint16_t kMaxTargetDescriptors = 8;
inline constexpr uint16_t kMaxSegmentDescriptors = 64;
inline constexpr uint32_t kTargetDescriptorBytes = 32;        // identification descriptor (E4h)
inline constexpr uint32_t kBlockToBlockSegmentBytes = 28;     // block -> block segment (02h)
inline constexpr uint32_t kMaxDescriptorListLength =
    kMaxTargetDescriptors * kTargetDescriptorBytes + kMaxSegmentDescriptors * kBlockToBlockSegmentBytes;
// A block -> block segment moves at most 65535 blocks of 4096 bytes; every such segment fits.
inline constexpr uint32_t kMaxSegmentBytes = 256u << 20;
inline constexpr uint32_t kMaxInlineDataLength = 0;
// Copies running at once on one logical unit; more are refused with BUSY.
inline constexpr uint16_t kMaxConcurrentCopies = 16;
// The copy moves data through one buffer of this size, so a copy never holds more memory.
inline constexpr uint32_t kChunkBytes = 1u << 20;
}  // namespace copy_limits

// What RECEIVE COPY RESULTS reports about one EXTENDED COPY with a list identifier (SPC-4 6.18).
struct CopyRecord {
  std::string nexus_key;  // list identifiers are per I_T nexus (SPC-4 6.4.3.2)
  uint8_t list_id = 0;
  bool in_progress = true;
  bool failed = false;
  uint16_t segments_processed = 0;
  uint64_t bytes_transferred = 0;
  uint8_t status = 0;          // the SCSI status the command ended with
  std::vector<uint8_t> sense;  // its sense data, until FAILED SEGMENT DETAILS returned it
};

class CopyManager {
 public:
  // Every logical unit of the SCSI target device, in LUN order (set by ScsiTarget::add_lun):
  // the copy targets an identification descriptor can name.
  using Directory = std::vector<std::weak_ptr<LogicalUnit>>;
  void set_directory(std::shared_ptr<const Directory> directory);
  // The unit whose logical unit NAA designator (VPD page 83h) is `naa`, if it is in the target.
  [[nodiscard]] std::shared_ptr<LogicalUnit> find_unit_by_naa(uint64_t naa) const;

  enum class Admission : uint8_t { admitted, list_id_in_use, too_many_copies };
  // Starts accounting a copy; `list_id` is nullopt when the command asked for no status to be
  // kept (LIST ID USAGE 11b).
  Admission begin(const std::string& nexus_key, std::optional<uint8_t> list_id);
  void progress(const std::string& nexus_key, std::optional<uint8_t> list_id, uint16_t segments_processed,
                uint64_t bytes_transferred);
  void finish(const std::string& nexus_key, std::optional<uint8_t> list_id, uint8_t status,
              std::vector<uint8_t> sense);

  [[nodiscard]] std::optional<CopyRecord> find(const std::string& nexus_key, uint8_t list_id) const;
  // SPC-4 6.18.5: failed segment details are discarded once they have been returned.
  void discard_failure_details(const std::string& nexus_key, uint8_t list_id);

 private:
  static constexpr size_t kMaxRecords = 64;

  CopyRecord* locate(const std::string& nexus_key, uint8_t list_id);

  mutable std::mutex mutex_;
  std::shared_ptr<const Directory> directory_;
  std::deque<CopyRecord> records_;  // oldest first
  uint16_t running_ = 0;
};

}  // namespace portico::scsi
