// The portico command's verbs on single objects of the configuration record, each one new
// version of the record (record_change.h):
//   target create IQN [--nvme NQN] [--alias TEXT]     target delete IQN
//   lun add IQN IMAGE [--lun N] [--nsid N] [--read-only]
//   lun remove IQN LUN                                lun resize IMAGE SIZE (librbd, no new version)
//   host add IQN NAME                                 host remove IQN NAME
//   auth set IQN [--initiator NAME] --username U --secret-file F [--mutual-username U2 --mutual-secret-file F2]
//   auth clear IQN [--initiator NAME]
// NAME is an initiator's iSCSI name (the target's ACL) or a host NQN (its NVMe subsystem's
// allowed hosts). Each returns the exit status and prints one line naming a bad argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/cluster_view.h"

namespace portico::cli {

struct TargetCreate {
  std::string iqn;
  std::string nqn;    // empty: iSCSI (and TCMU) only
  std::string alias;
};
int target_create(const ClusterView& view, const TargetCreate& request);
int target_delete(const ClusterView& view, const std::string& iqn);

struct LunAdd {
  std::string iqn;
  std::string image;            // POOL/NAME or NAME
  std::optional<uint64_t> lun;  // default: the smallest free number
  std::optional<uint32_t> nsid;
  bool read_only = false;
};
int lun_add(const ClusterView& view, const LunAdd& request);
int lun_remove(const ClusterView& view, const std::string& iqn, uint64_t lun);
int lun_resize(const ClusterView& view, const std::string& image, const std::string& size);

// CHAP for a target (every initiator without credentials of its own) or for one initiator of
// its ACL (added to it if needed). The secrets go to the monitors' config-key store under a new
// key each time (so the record changes and every gateway reads them again), the record gets
// references; the keys of the credentials replaced are removed once the record no longer names
// them.
struct AuthSet {
  std::string iqn;
  std::string initiator;  // empty: the target's own
  std::string username;
  std::string secret_file;
  std::string mutual_username;  // empty: one-way CHAP
  std::string mutual_secret_file;
};
int auth_set(const ClusterView& view, const AuthSet& request);
int auth_clear(const ClusterView& view, const std::string& iqn, const std::string& initiator);

int host_add(const ClusterView& view, const std::string& iqn, const std::string& name);
int host_remove(const ClusterView& view, const std::string& iqn, const std::string& name);

}  // namespace portico::cli
