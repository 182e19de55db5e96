// Names of the RADOS objects the cluster state keeps in its pool.
//
//   portico.gateways          membership (omap: gateway name -> record, membership.h)
//   portico.lun.<lun key>     one per logical unit: data = reservation record, xattr
//                             portico.version = its decimal version; watched for events
//
// A LUN key is kept as is when it only has [A-Za-z0-9._:-]; any other byte (and '%') becomes
// %XX (upper-case hex), so the mapping is one-to-one. A key whose escaped form is longer than
// kMaxEscapedKey is cut there and suffixed with "~" and 16 hex digits of its stable hash, so
// object names stay far below the OSD's name limit.
#pragma once

#include <cstddef>
#include <string>

namespace portico::cluster::rados {

inline constexpr const char* kGatewaysObject = "portico.gateways";
inline constexpr const char* kVersionXattr = "portico.version";
inline constexpr size_t kMaxEscapedKey = 200;

std::string lun_object_name(const std::string& lun_key);

}  // namespace portico::cluster::rados
