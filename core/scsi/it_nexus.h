// SAM-5 4.6: an I_T nexus is the relationship between one initiator port and one target port.
// Unit attentions and reservation registrations belong to a nexus, not to a connection: a
// session that is reinstated with the same ISID is the same nexus again. The SCSI command set
// names the core's initiators (core/initiator.h) this way.
#pragma once

#include "core/initiator.h"

namespace portico::scsi {

using ItNexus = Initiator;

}  // namespace portico::scsi
