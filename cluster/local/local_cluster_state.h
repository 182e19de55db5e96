// The single-process cluster state: identity derived from the LUN's name, one target port
// group, events delivered synchronously to this process's subscribers, reservation records in
// memory, mirrored to a file under `state_dir` when APTPL asks them to survive a restart (the
// file is removed when APTPL is cleared, so a restart forgets non-APTPL state as SPC-4 says).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cluster/local/lun_identity.h"
#include "core/cluster_state.h"

namespace portico::cluster {

class LocalClusterState final : public ClusterState {
 public:
  // `state_dir`: where reservation records are persisted ("" = memory only).
  explicit LocalClusterState(std::string state_dir = {}, uint16_t target_port_group = 1);
  ~LocalClusterState() override;

  Result<LunIdentity> lun_identity(const std::string& lun_key) override;
  std::vector<TargetPortGroupInfo> target_port_groups() override;
  uint16_t local_target_port_group() override { return target_port_group_; }
  // Changes this gateway's ALUA state (maintenance, tests) and tells every logical unit.
  void set_access_state(AluaState state);

  std::unique_ptr<EventSubscription> subscribe(const std::string& lun_key, EventHandler handler) override;
  void publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done) override;

  void read_reservation(const std::string& lun_key, UniqueFunction<void(Result<VersionedRecord>)> done) override;
  void write_reservation(const std::string& lun_key, uint64_t expected_version, std::string bytes,
                         bool persist_through_power_loss, UniqueFunction<void(Status)> done) override;

 private:
  struct Subscribers;
  class Subscription;

  std::string record_path(const std::string& lun_key) const;
  Status persist(const std::string& lun_key, const std::string& bytes, bool keep);

  std::string state_dir_;
  uint16_t target_port_group_;
  std::atomic<AluaState> access_state_{AluaState::active_optimized};
  std::mutex mutex_;
  std::map<std::string, VersionedRecord> records_;
  std::shared_ptr<Subscribers> subscribers_;
};

}  // namespace portico::cluster
