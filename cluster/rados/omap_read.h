// One object's omap entries, read with one blocking read operation (membership records, the
// gateways' session lists). A missing object has none.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "cluster/rados/pool.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

struct OmapEntries {
  std::map<std::string, std::string> entries;
  bool more = false;         // there were more than `max_entries`
  uint64_t version = 0;      // the object's version as read
};

Result<OmapEntries> read_omap(Pool& pool, const std::string& object, uint64_t max_entries);

}  // namespace portico::cluster::rados
