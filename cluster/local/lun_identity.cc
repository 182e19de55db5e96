#include "cluster/local/lun_identity.h"

#include <cstdio>

namespace portico::cluster {

Result<LunIdentity> derive_lun_identity(const std::string& lun_key) {
  if (lun_key.empty()) return error(ErrorCode::invalid_argument, "lun identity: empty LUN key");
  LunIdentity identity;
  // SPC-4 7.7.3.6.3: NAA 3h, locally assigned: 60 bits that are unique within this site.
  identity.naa = (uint64_t{0x3} << 60) | (stable_hash64(lun_key) & 0x0fffffffffffffffull);
  char serial[17];
  std::snprintf(serial, sizeof serial, "%016llx",
                static_cast<unsigned long long>(stable_hash64(lun_key, 0x84222325cbf29ce4ull)));
  identity.serial = serial;
  identity.extension = stable_hash64(lun_key, 0x6c62272e07bb0142ull);
  return identity;
}

}  // namespace portico::cluster
