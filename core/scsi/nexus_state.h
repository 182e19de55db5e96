// The core's state for one I_T nexus: its identity and its pending unit attention conditions
// per logical unit (SAM-5 5.14). Unit attentions are raised from any thread (another nexus's
// LUN RESET, a cluster event) and consumed by the nexus's own commands, so the queue locks; a
// nexus with nothing queued answers without the lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/attachment.h"
#include "core/scsi/it_nexus.h"
#include "core/scsi/sense.h"

namespace portico::scsi {

class NexusState {
 public:
  explicit NexusState(ItNexus nexus) : nexus_(std::move(nexus)), key_(nexus_.key()) {}

  [[nodiscard]] const ItNexus& nexus() const { return nexus_; }
  [[nodiscard]] const std::string& key() const { return key_; }  // ItNexus::key(), kept

  // The attachments through which units reach this nexus (lun_attachment.h): kept here while
  // the nexus has a connection, so that the units' weak references end with them.
  void keep_attachments(std::vector<std::shared_ptr<Attachment>> attachments);
  void add_attachment(std::shared_ptr<Attachment> attachment);  // a LUN added while attached
  void drop_attachments();

  // Queues a unit attention for `lun`. SAM-5 5.14: a reset-class condition (29h) supersedes
  // everything queued before it; duplicates are not queued twice; the queue is bounded.
  void raise_unit_attention(uint64_t lun, Asc condition);
  // The oldest pending condition for `lun`, removed (a command reported it) or kept (peek).
  std::optional<Asc> take_unit_attention(uint64_t lun);
  [[nodiscard]] std::optional<Asc> peek_unit_attention(uint64_t lun) const;
  // Removes one specific condition (REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED).
  void clear_unit_attention(uint64_t lun, Asc condition);

 private:
  static constexpr size_t kMaxQueued = 16;

  ItNexus nexus_;
  const std::string key_;
  std::mutex attachments_mutex_;
  std::vector<std::shared_ptr<Attachment>> attachments_;
  mutable std::mutex mutex_;
  std::map<uint64_t, std::deque<Asc>> pending_;
  // Conditions queued for every LUN: the commands of a nexus with none take no lock.
  std::atomic<size_t> queued_{0};
};

}  // namespace portico::scsi
