// A RADOS object whose data goes with a version: the decimal xattr portico.version (absent =
// version 0), as the reservation records and the configuration record keep it. This is the
// blocking read of both, for start-up and the portico command (the gateways' asynchronous
// reads of reservation records are reservation_store.h's).
#pragma once

#include <cstdint>
#include <string>

#include "cluster/rados/pool.h"
#include "core/common/result.h"

namespace portico::cluster::rados {

struct VersionedObject {
  bool exists = false;
  uint64_t version = 0;
  std::string data;
};

// Data and version in one read operation, so that they belong together; a missing object is
// {exists = false}. `what` names the object in errors ("configuration record").
Result<VersionedObject> read_versioned_object(Pool& pool, const std::string& object, const std::string& what);

}  // namespace portico::cluster::rados
