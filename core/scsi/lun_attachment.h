// The SCSI command set's attachment (core/attachment.h): a nexus that sees the unit as one LUN.
// A notice becomes a unit attention for that LUN (SAM-5 5.14). The nexus owns its attachments
// (NexusState::keep_attachments) and the unit holds them weakly, so a nexus that goes away stops
// receiving notices without the unit knowing it.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "core/attachment.h"
#include "core/scsi/nexus_state.h"
#include "core/scsi/notice_sense.h"

namespace portico::scsi {

class LunAttachment final : public Attachment {
 public:
  LunAttachment(const std::shared_ptr<NexusState>& nexus, uint64_t lun)
      : nexus_(nexus), initiator_(nexus->nexus()), lun_(lun) {}

  [[nodiscard]] const Initiator& initiator() const override { return initiator_; }
  void notify(Notice notice) override {
    if (auto nexus = nexus_.lock()) nexus->raise_unit_attention(lun_, unit_attention_of(notice));
  }

 private:
  std::weak_ptr<NexusState> nexus_;
  Initiator initiator_;
  uint64_t lun_;
};

}  // namespace portico::scsi
