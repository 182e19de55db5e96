// An NVM subsystem as this gateway serves it: its NQN, the hosts it admits, its namespaces (each
// a unit of the core, the very object a SCSI target may export as a LUN at the same time) and
// the controllers hosts have created on this gateway (the dynamic controller model: one per
// admin-queue Connect).
//
// Controller ids must be unique in the subsystem across every gateway (Reservation Report and
// the host's multipath code name controllers by them), so each gateway allocates from its own
// range (SubsystemConfig::controller_id_first / count), which the daemon derives from the
// gateway's target port group id.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "core/cluster_state.h"
#include "core/common/result.h"
#include "core/nvme/discovery_log.h"
#include "core/nvme/fabrics.h"
#include "core/nvme/nvme_command.h"

namespace portico {
class Unit;
}

namespace portico::nvme {

class Controller;

struct SubsystemConfig {
  std::string nqn;                          // "nqn.2026-11.io.portico:<name>"
  std::vector<std::string> allowed_hosts;   // host NQNs; empty: any host
  std::string serial;                       // SN, the same on every gateway (20 ASCII at most)
  std::string model = "Portico";            // MN
  std::string firmware = "0001";            // FR
  uint16_t max_io_queues = 8;               // per controller
  uint16_t max_queue_size = 128;            // entries per queue (CAP.MQES + 1)
  uint32_t in_capsule_data_bytes = 8192;    // IOCCSZ beyond the SQE
  uint32_t max_data_transfer_bytes = 1u << 20;  // MDTS (a power of two, at least 4 KiB)
  uint16_t controller_id_first = 1;         // this gateway's controller ids
  uint16_t controller_id_count = 0xffef;
  // A discovery subsystem (nqn = kDiscoveryNqn): no namespaces, no I/O queues; its controllers
  // answer the Discovery log page from `discovery_entries`.
  bool discovery = false;
  // The entries the Discovery log page lists for the host named by its NQN.
  std::function<std::vector<DiscoveryEntry>(const std::string& host_nqn)> discovery_entries;
};

// Where a refused Connect's DW0 points (its fields, for connect_invalid_parameter_dw0).
inline constexpr uint16_t kConnectDataHostIdOffset = 0;
inline constexpr uint16_t kConnectDataControllerIdOffset = 16;
inline constexpr uint16_t kConnectDataSubsystemNqnOffset = 256;
inline constexpr uint16_t kConnectDataHostNqnOffset = 512;

class Subsystem {
 public:
  Subsystem(SubsystemConfig config, ClusterState& cluster);
  ~Subsystem();
  Subsystem(const Subsystem&) = delete;
  Subsystem& operator=(const Subsystem&) = delete;

  using NamespaceMap = std::map<uint32_t, std::shared_ptr<Unit>>;

  // Before serving, or live (a new configuration version): every controller then attaches to
  // the unit and is told through a Namespace Attribute Changed event with the namespace in its
  // Changed Namespace List, on which a host rescans.
  Status add_namespace(uint32_t nsid, std::shared_ptr<Unit> unit);
  // Live removal, told the same way: commands that arrive from now on find no such namespace;
  // those already in the unit finish there. Returns the unit (null if there was none) so that
  // its owner can wait for them (Unit::when_idle) before closing its backend.
  std::shared_ptr<Unit> remove_namespace(uint32_t nsid);
  // Who may connect from now on; the controllers of a host no longer allowed end (their queues
  // close). Returns how many ended.
  size_t set_allowed_hosts(std::vector<std::string> hosts);
  // Ends every controller (the subsystem is no longer served); returns how many.
  size_t retire_controllers();

  [[nodiscard]] const SubsystemConfig& config() const { return config_; }
  [[nodiscard]] const std::string& nqn() const { return config_.nqn; }
  [[nodiscard]] bool discovery() const { return config_.discovery; }
  [[nodiscard]] ClusterState& cluster() const { return cluster_; }
  // The unit of namespace `nsid`, or null when no such namespace is active. A command may use it
  // until it ends: a removed unit is kept until its commands have ended.
  [[nodiscard]] Unit* namespace_unit(uint32_t nsid) const;
  // Snapshots: the set changes as a whole when the configuration changes.
  [[nodiscard]] std::vector<uint32_t> active_nsids() const;
  [[nodiscard]] std::shared_ptr<const NamespaceMap> namespaces() const {
    return namespaces_.load(std::memory_order_acquire);
  }
  // NN in Identify Controller: the largest NSID.
  [[nodiscard]] uint32_t max_nsid() const;
  [[nodiscard]] bool host_allowed(const std::string& host_nqn) const;
  // True when a command would move more than MDTS either way (Fabrics commands have their own
  // sizes): Invalid Field, before anything is allocated for it.
  [[nodiscard]] bool beyond_max_transfer(const NvmeCommand& command) const {
    const uint32_t max = config_.max_data_transfer_bytes;
    return !command.sqe.is_fabrics() && (command.data_in_limit() > max || command.data_out_length() > max);
  }

  // Connect on an admin queue creates a controller; on an I/O queue it names one created here.
  using ConnectResult = std::variant<std::shared_ptr<Controller>, ConnectRejection>;
  ConnectResult connect(const ConnectCommand& command, const ConnectData& data,
                        FabricsTransport transport = FabricsTransport::tcp);
  // The admin queue of `controller` is gone: so is the controller.
  void remove_controller(uint16_t id);
  [[nodiscard]] size_t controller_count() const;
  // The live controllers' ids and hosts, for the gateway's status.
  [[nodiscard]] std::vector<std::pair<uint16_t, std::string>> controller_hosts() const;

  // The ANA change count this gateway reports (raised with every access state change it sees).
  [[nodiscard]] uint64_t ana_change_count() const { return ana_change_count_.load(std::memory_order_acquire); }
  void count_ana_change() { ana_change_count_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  ConnectResult connect_admin(const ConnectCommand& command, const ConnectData& data, FabricsTransport transport);
  ConnectResult connect_io(const ConnectCommand& command, const ConnectData& data, FabricsTransport transport);

  std::vector<std::shared_ptr<Controller>> live_controllers() const;

  SubsystemConfig config_;
  ClusterState& cluster_;
  std::mutex namespaces_mutex_;  // writers, and controllers attaching (none misses a namespace)
  std::atomic<std::shared_ptr<const NamespaceMap>> namespaces_{std::make_shared<const NamespaceMap>()};
  std::atomic<std::shared_ptr<const std::vector<std::string>>> allowed_hosts_;

  mutable std::mutex controllers_mutex_;
  std::map<uint16_t, std::weak_ptr<Controller>> controllers_;
  uint32_t next_controller_ = 0;  // offset into this gateway's range, round robin
  std::atomic<uint64_t> ana_change_count_{1};
};

}  // namespace portico::nvme
