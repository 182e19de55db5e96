// iSCSI's header and data digests (RFC 7143 §13.1) are the CRC32C shared with NVMe/TCP
// (frontends/common/crc32c.h), sent least significant byte first as RFC 3720 B.4 shows and Linux
// and libiscsi do. iSCSI code keeps using the names below.
#pragma once

#include "frontends/common/crc32c.h"
#include "core/common/little_endian.h"

namespace portico::iscsi {

using wire::crc32c;
using wire::Crc32c;

}  // namespace portico::iscsi
