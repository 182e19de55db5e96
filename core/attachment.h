// How a unit reaches the initiators that can see it: one attachment per initiator and unit,
// made by the command set that exposes the unit — a SCSI nexus seeing it as a LUN, an NVMe
// controller seeing it as a namespace. So one unit can be a LUN and a namespace at once, and the
// unit tells both about a notice without knowing how either reports it.
#pragma once

#include "core/initiator.h"
#include "core/notice.h"

namespace portico {

class Attachment {
 public:
  virtual ~Attachment() = default;

  [[nodiscard]] virtual const Initiator& initiator() const = 0;
  // Thread-safe, non-blocking: called from cluster event handlers and other initiators' loops.
  virtual void notify(Notice notice) = 0;
};

}  // namespace portico
