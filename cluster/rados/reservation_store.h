// Reservation records in RADOS: object portico.lun.<key> (object_names.h) holds the record's
// bytes as its data and its version as the decimal xattr portico.version (absent = version 0).
// A write is one guarded OSD operation (compare the version xattr, set the next one, replace
// the data), so two gateways racing on one record get exactly one winner; the loser gets
// ErrorCode::busy and re-reads. The record lives in RADOS whatever APTPL says: RADOS is durable
// either way, so a record survives every gateway restarting (which SPC-4 5.12.5 allows).
#pragma once

#include <memory>
#include <string>

#include "cluster/rados/pool.h"
#include "core/cluster_state.h"
#include "core/common/unique_function.h"

namespace portico::cluster::rados {

class ReservationStore {
 public:
  explicit ReservationStore(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

  // Both are asynchronous; `done` runs on a librados thread (or at once on a submit error).
  void read(const std::string& lun_key, UniqueFunction<void(Result<VersionedRecord>)> done);
  void write(const std::string& lun_key, uint64_t expected_version, std::string bytes,
             UniqueFunction<void(Status)> done);

 private:
  std::shared_ptr<Pool> pool_;
};

}  // namespace portico::cluster::rados
