#include "daemon/gateway.h"

#include <spdlog/spdlog.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <thread>
#include <tuple>

#include "backends/file/file_block_device.h"
#include "backends/memory/delayed_block_device.h"
#include "backends/memory/memory_block_device.h"
#include "backends/rbd/rbd_block_device.h"
#include "ceph/rados_connection.h"
#include "cluster/local/local_cluster_state.h"
#include "cluster/rados/config_watch.h"
#include "cluster/rados/rados_cluster_state.h"
#include "cluster/rados/session_status.h"
#include "core/common/stable_hash.h"
#include "core/nvme/subsystem.h"
#include "core/scsi/logical_unit.h"
#include "core/scsi/scsi_target.h"
#include "daemon/config_change.h"
#include "daemon/shared_config.h"
#include "frontends/iscsi/server/iscsi_server.h"
#include "frontends/nvmeof/rdma/rdma_listener.h"
#include "frontends/nvmeof/server/discovery_service.h"
#include "frontends/nvmeof/server/nvme_tcp_server.h"
#include "frontends/fc_tcmu/handler/fabric_nexus.h"
#include "frontends/fc_tcmu/handler/tcmu_frontend.h"
#include "metrics/gateway_collector.h"
#include "metrics/metrics_endpoint.h"
#include "runtime/loop_group.h"
#include "runtime/socket_address.h"

namespace portico::daemon {
namespace {

iscsi::ChapCredentials to_credentials(const ChapConfig& c) {
  return {c.username, c.secret, c.mutual_username, c.mutual_secret};
}

// Beyond this many RBD images a stopping gateway leaves them to the process's exit
// (RbdBlockDevice::leave_open_at_exit): at 4,096 closing them one by one took minutes.
constexpr size_t kCloseImagesAtExitLimit = 512;

// How long SIGTERM waits for commands already in a backend before closing connections anyway.
constexpr std::chrono::milliseconds kShutdownGrace{10000};

// Another gateway blocklisted this one (heard by the cluster state, or by an image whose I/O
// failed with EBLOCKLISTED): nothing it sends reaches the OSDs any more. main() stops serving
// and exits; a service manager starts a new incarnation with a new RADOS client.
void on_fenced(const std::string& why) {
  static std::atomic<bool> reported{false};
  if (reported.exchange(true)) return;
  spdlog::critical("cluster: this gateway was blocklisted by another one ({}): nothing it does reaches the OSDs "
                   "any more",
                   why);
  ::kill(::getpid(), kFencedSignal);
}

Result<std::shared_ptr<BlockDevice>> open_backend(const TargetConfig& target, const LunConfig& lun,
                                                  const std::shared_ptr<ceph::RadosConnection>& ceph,
                                                  const std::string& default_pool) {
  const std::string seed = target.iqn + "/lun/" + std::to_string(lun.lun);
  switch (lun.backend) {
    case BackendKind::rbd: {
      backends::RbdOptions options;
      options.pool = lun.rbd_pool.empty() ? default_pool : lun.rbd_pool;
      options.image = lun.rbd_image;
      options.block_size = lun.block_size;
      if (lun.physical_block_size != 0) options.physical_block_size = lun.physical_block_size;
      auto device = backends::RbdBlockDevice::open(ceph, options);
      if (!device.ok()) return device.status();
      return std::shared_ptr<BlockDevice>(std::move(*device));
    }
    case BackendKind::memory: {
      auto device = backends::MemoryBlockDevice::create(lun.size_bytes, lun.block_size, seed);
      if (!device.ok()) return device.status();
      std::shared_ptr<BlockDevice> memory(std::move(*device));
      if (lun.completion_delay_us == 0) return memory;
      return std::shared_ptr<BlockDevice>(std::make_shared<backends::DelayedBlockDevice>(
          std::move(memory), std::chrono::microseconds(lun.completion_delay_us)));
    }
    case BackendKind::file: {
      auto device = backends::FileBlockDevice::open(lun.path, lun.size_bytes, lun.block_size, true, lun.path);
      if (!device.ok()) return device.status();
      return std::shared_ptr<BlockDevice>(std::move(*device));
    }
  }
  return error(ErrorCode::internal, "unknown backend");
}

// Controller ids are unique in a subsystem across every gateway (Reservation Report and hosts
// name controllers by them): each target port group takes its own block of 1024 (64 blocks fit
// below FFF0h, the first block skipping id 0).
void controller_id_range(uint16_t port_group, nvme::SubsystemConfig& config) {
  constexpr uint32_t kBlock = 1024;
  constexpr uint32_t kMaxId = 0xffef;
  const uint32_t block = port_group % 64;
  const uint32_t first = std::max<uint32_t>(block * kBlock, 1);
  const uint32_t last = std::min<uint32_t>(block * kBlock + kBlock - 1, kMaxId);
  config.controller_id_first = static_cast<uint16_t>(first);
  config.controller_id_count = static_cast<uint16_t>(last - first + 1);
  if (port_group >= 64) {
    spdlog::warn("nvme-tcp: target port group {} shares controller ids {}-{} with group {}", port_group, first, last,
                 block);
  }
}

// The subsystem serial number (SN, 20 characters): derived from the NQN, the same on every gateway.
std::string subsystem_serial(const std::string& nqn) { return fmt::format("PT{:016x}", stable_hash64(nqn)); }

class RunningGateway final : public Gateway {
 public:
  Status start(const Config& config, RecordMerger merge_record) {
    merge_record_ = std::move(merge_record);
    uint16_t port_id = 1;
    uint16_t port_group = 1;
    if (config.cluster) {
      // One Ceph client for the images and the shared state: blocklisting it fences both.
      const auto& c = *config.cluster;
      ceph::RadosOptions options;
      options.conf_path = c.ceph_conf;
      options.client_name = c.client;
      options.keyring = c.keyring;
      // Watches are pinged every objecter tick: a tick of half a heartbeat lets the heartbeat's
      // watch check see a lost channel well within the lease.
      const double tick_s = std::max(0.2, c.heartbeat_interval_ms / 2000.0);
      options.overrides = {{"rbd_cache", "false"},
                           {"rbd_skip_partial_discard", "false"},
                           {"objecter_tick_interval", std::to_string(tick_s)}};
      auto connection = ceph::RadosConnection::connect(options);
      if (!connection.ok()) return error(connection.status().code(), "cluster: " + connection.status().message());
      ceph_ = std::move(*connection);
      cluster::rados::RadosClusterOptions cluster_options;
      cluster_options.pool = c.pool;
      cluster_options.gateway_name = config.gateway.name;
      cluster_options.gateways_object = c.gateways_object;
      cluster_options.on_fenced = on_fenced;
      cluster_options.nvme_listeners = nvmeof::transport_listeners(config.gateway.nvme_listeners,
                                                                   config.gateway.nvme_rdma_listeners);
      cluster_options.iscsi_portals = config.gateway.portals;
      cluster_options.config_version = c.record_version;
      cluster_options.heartbeat_interval = std::chrono::milliseconds(c.heartbeat_interval_ms);
      cluster_options.lease = std::chrono::milliseconds(c.lease_ms);
      cluster_options.notify_timeout = std::chrono::milliseconds(c.notify_timeout_ms);
      cluster_options.session_lines = [this]() { return session_lines(); };
      auto rados = cluster::rados::RadosClusterState::start(ceph_, cluster_options);
      if (!rados.ok()) return error(rados.status().code(), "cluster: " + rados.status().message());
      port_id = (*rados)->local_relative_port_id();
      port_group = (*rados)->local_target_port_group();
      spdlog::info("cluster: gateway {} is target port group {}, relative port {}", config.gateway.name,
                   port_group, port_id);
      rados_ = rados->get();
      cluster_ = std::move(*rados);
    } else {
      cluster_ = std::make_unique<cluster::LocalClusterState>();
    }
    auto loops = runtime::LoopGroup::create(config.gateway.io_threads);
    if (!loops.ok()) return loops.status();
    loops_ = std::move(*loops);

    iscsi::IscsiServerSettings settings;
    settings.portals = config.gateway.portals;
    // Every gateway's ports are distinct SCSI target ports (registrants are I_T nexuses), and
    // its ports form its own target port group.
    settings.target_portal_group_tag = port_id;
    settings.target_port_group_id = port_group;
    settings.nop_in_interval = std::chrono::seconds(config.gateway.nop_in_interval_s);
    settings.nop_in_timeout = std::chrono::seconds(config.gateway.nop_in_timeout_s);
    settings.max_sessions = config.gateway.max_sessions;
    settings.max_queued_commands = config.gateway.max_queued_commands;
    settings.max_recv_data_segment_length = config.gateway.max_recv_data_segment_length;
    settings.max_burst_length = config.gateway.max_burst_length;
    settings.first_burst_length = config.gateway.first_burst_length;
    settings.max_session_buffer_bytes = config.gateway.max_session_buffer;
    settings.max_buffer_bytes = config.gateway.max_buffer;
    settings.login_timeout = std::chrono::seconds(config.gateway.login_timeout_s);
    settings.max_connections_per_portal = config.gateway.max_connections;
    settings.max_connections_per_address = config.gateway.max_connections_per_address;
    settings.max_discovery_sessions = config.gateway.max_discovery_sessions;
    if (config.discovery_chap) settings.discovery_chap = to_credentials(*config.discovery_chap);
    if (config.cluster) {
      // The cluster state outlives the server (members are destroyed in reverse order).
      settings.peer_portals = [cluster = cluster_.get()]() {
        std::vector<iscsi::PeerPortalGroup> peers;
        for (const auto& g : cluster->gateways()) {
          if (g.state == AluaState::unavailable || g.iscsi_portals.empty()) continue;
          peers.push_back({g.relative_port_id, g.iscsi_portals});
        }
        std::sort(peers.begin(), peers.end(), [](const auto& a, const auto& b) { return a.tag < b.tag; });
        return peers;
      };
    }
    nvmeof::NvmeTcpServerSettings nvme_settings;
    nvme_settings.listeners = config.gateway.nvme_listeners;
    nvme_settings.rdma_listeners = config.gateway.nvme_rdma_listeners;
    nvme_settings.discovery_listeners = config.gateway.nvme_discovery_listeners;
    if (nvme_settings.discovery_listeners.empty()) {
      for (const auto& listener : nvme_settings.listeners) {
        auto address = runtime::SocketAddress::parse(listener);
        if (!address.ok()) continue;  // check_gateway() reported it
        const std::string host = address->host();
        nvme_settings.discovery_listeners.push_back((host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                                                    ":8009");
      }
    }
    nvme_settings.setup_timeout = std::chrono::seconds(config.gateway.login_timeout_s);
    nvme_settings.max_connections_per_listener = config.gateway.max_connections;
    nvme_settings.max_queue_buffer_bytes = config.gateway.max_session_buffer;
    nvme_settings.max_buffer_bytes = config.gateway.max_buffer;
    nvme_settings.in_capsule_data_bytes = config.gateway.nvme_in_capsule_data;
    {
      nvme::SubsystemConfig ids;
      controller_id_range(port_group, ids);
      nvme_settings.controller_id_first = ids.controller_id_first;
      nvme_settings.controller_id_count = ids.controller_id_count;
    }
    tcmu::TcmuFrontendSettings tcmu_settings;
    port_group_ = port_group;
    config_ = config;
    std::vector<LunRef> wanted;
    for (const auto& target : config.targets) {
      for (const auto& lun : target.luns) wanted.push_back({&target, &lun});
    }
    auto opened = open_units(wanted);
    size_t next_unit = 0;
    for (const auto& target : config.targets) {
      ServedTarget served = make_target(target);
      for (const auto& lun : target.luns) {
        const std::string where = target.iqn + " lun " + std::to_string(lun.lun);
        auto& unit = opened[next_unit++];
        if (!unit.ok()) return unit.status();
        const auto& device = (*unit)->device();
        for (const auto& e : lun.tcmu) {
          // One backstore device per nexus (frontends/fc_tcmu/handler/fabric_nexus.h).
          tcmu::FabricPort fabric_port;
          fabric_port.fabric = *tcmu::parse_fabric(e.fabric);  // checked with the configuration
          fabric_port.initiator = e.initiator;
          fabric_port.target_port = e.target_port;
          fabric_port.target_name = target.iqn;
          fabric_port.target_port_group = port_group;
          const size_t index = tcmu_settings.exports.size() + 1;
          fabric_port.relative_port_id =
              e.relative_port_id != 0 ? e.relative_port_id : static_cast<uint16_t>(port_group * 256u + index % 256u);
          auto nexus = tcmu::fabric_nexus(fabric_port);
          if (!nexus.ok()) return error(nexus.status().code(), where + ": tcmu " + e.name + ": " + nexus.status().message());
          tcmu::TcmuExport x;
          x.name = e.name;
          x.target = served.scsi_target;
          x.lun = lun.lun;
          x.nexus = std::move(*nexus);
          x.size_bytes = device.capacity_bytes();
          x.block_size = device.info().block_size;
          x.max_transfer_bytes = device.info().max_transfer_bytes;
          x.write_cache = device.info().volatile_cache;
          tcmu_settings.exports.push_back(std::move(x));
          spdlog::info("{}: exported through the kernel target as TCMU backstore {} to {} initiator {}", where, e.name,
                       e.fabric, e.initiator);
          if (fabric_port.fabric == tcmu::Fabric::iscsi && e.initiator.find(",i,0x") == std::string::npos) {
            // LIO's node ACLs do not tell sessions apart by ISID; say so rather than merge silently.
            spdlog::warn("{}: tcmu {}: every session of {} through {} is one I_T nexus here (a LIO node ACL names "
                         "the initiator device, not its ports)",
                         where, e.name, e.initiator, e.target_port);
          }
        }
        if (auto added = add_lun(served, lun, std::move(*unit)); !added.ok()) return added;
      }
      if (served.subsystem) nvme_settings.subsystems.push_back(served.subsystem);
      served_.emplace(target.iqn, std::move(served));
    }
    settings.targets = iscsi_targets();
    if (settings.targets.empty()) spdlog::warn("no target to serve yet");

    auto server = iscsi::IscsiServer::create(std::move(settings), *loops_);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    // With the shared configuration, a subsystem may come with any later version.
    const bool shared = config.cluster && config.cluster->shared_config;
    const bool any_nvme_listener = !nvme_settings.listeners.empty() || !nvme_settings.rdma_listeners.empty();
    if (!nvme_settings.subsystems.empty() || (shared && any_nvme_listener)) {
      nvmeof::RdmaListenerSettings rdma_settings;
      rdma_settings.listeners = nvme_settings.rdma_listeners;
      rdma_settings.io_queue_entries = static_cast<uint16_t>(config.gateway.nvme_queue_size);
      rdma_settings.io_queues = static_cast<uint16_t>(config.gateway.nvme_io_queues);
      rdma_settings.max_queues = config.gateway.max_connections;
      rdma_settings.max_queues_per_address = nvme_settings.max_connections_per_address;
      auto nvme_server = nvmeof::NvmeTcpServer::create(std::move(nvme_settings), *cluster_, *loops_);
      if (!nvme_server.ok()) return nvme_server.status();
      nvme_server_ = std::move(*nvme_server);
      if (!rdma_settings.listeners.empty()) {
        // The same subsystems, controllers and discovery service as NVMe/TCP: one server context.
        auto rdma = nvmeof::RdmaListener::create(std::move(rdma_settings), nvme_server_->context(), *loops_);
        if (!rdma.ok()) return rdma.status();
        nvme_rdma_ = std::move(*rdma);
      }
    }
    tcmu_device_count_ = tcmu_settings.exports.size();
    if (!tcmu_settings.exports.empty()) {
      auto tcmu_frontend = tcmu::TcmuFrontend::create(std::move(tcmu_settings), *loops_);
      if (!tcmu_frontend.ok()) return tcmu_frontend.status();
      tcmu_ = std::move(*tcmu_frontend);
    }
    loops_->start();
    auto started = server_->start();
    if (started.ok() && nvme_server_) started = nvme_server_->start();
    if (started.ok() && nvme_rdma_) started = nvme_rdma_->start();
    if (started.ok() && tcmu_) started = tcmu_->start();
    if (started.ok()) {
      std::lock_guard lock(status_mutex_);
      serving_ = true;
    }
    if (started.ok() && !config.gateway.metrics_listener.empty()) started = start_metrics(config);
    if (started.ok() && config.cluster && config.cluster->shared_config && merge_record_) {
      // New versions of the record are applied live from now on; one that appeared since this
      // gateway read the record at start-up is applied at once.
      const auto& c = *config.cluster;
      config_watch_ = std::make_unique<cluster::rados::ConfigWatch>(
          rados_->pool(), c.config_object, c.record_version, std::chrono::milliseconds(c.lease_ms),
          [this](uint64_t version, const std::string& yaml) { return apply_record(version, yaml); });
    }
    if (!started.ok()) {
      stop();  // the servers stop on their running loops, then they stop (a bind error is no hang)
      return started;
    }
    return {};
  }

  // --- a new version of the configuration record (the configuration watch's thread) ---

  cluster::rados::ConfigAnswer apply_record(uint64_t version, const std::string& yaml) {
    const uint64_t serving = config_.cluster->record_version;
    auto refuse = [&](const std::string& why) {
      spdlog::error("config: version {} of the configuration record refused: {}; still serving version {}", version,
                    why, serving);
      rados_->set_config_state(serving, version, why);
      return cluster::rados::ConfigAnswer{version, false, why};
    };
    auto next = merge_record_(yaml, config_key_fetcher(ceph_));
    if (!next.ok()) return refuse(next.status().message());
    if (auto checked = check_gateway(*next); !checked.ok()) return refuse(checked.message());
    auto change = plan_config_change(config_, *next);
    if (!change.ok()) return refuse(change.status().message());
    spdlog::info("config: applying version {} of the configuration record: {}", version, change->summary());
    const auto started = std::chrono::steady_clock::now();
    // Every backend is opened before anything changes: a version that cannot be served whole
    // is not served at all.
    std::vector<LunRef> wanted;
    for (const auto& target : change->added_targets) {
      for (const auto& lun : target.luns) wanted.push_back({&target, &lun});
    }
    for (const auto& added : change->added_luns) wanted.push_back({find_target(*next, added.iqn), &added.lun});
    auto units = open_units(wanted);
    std::map<std::pair<std::string, uint64_t>, std::shared_ptr<scsi::LogicalUnit>> opened;
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (!units[i].ok()) return refuse(units[i].status().message());
      opened[{wanted[i].target->iqn, wanted[i].lun->lun}] = std::move(*units[i]);
    }
    std::vector<std::shared_ptr<Unit>> retired;
    for (const auto& removed : change->removed_luns) {
      auto& served = served_.at(removed.iqn);
      if (served.subsystem) served.subsystem->remove_namespace(removed.lun.nsid);
      if (auto unit = served.scsi_target->remove_lun(removed.lun.lun)) retired.push_back(std::move(unit));
      std::lock_guard lock(served_mutex_);
      served.units.erase(removed.lun.lun);
      spdlog::info("config: {} lun {} removed", removed.iqn, removed.lun.lun);
    }
    config_ = std::move(*next);  // `wanted` pointed into it; `opened` is keyed by name
    config_.cluster->record_version = version;
    for (const auto& target : change->added_targets) {
      ServedTarget served = make_target(target);
      for (const auto& lun : target.luns) {
        // Cannot fail: the record's NSIDs are unique per target (checked with the record).
        if (auto added = add_lun(served, lun, opened.at({target.iqn, lun.lun})); !added.ok()) {
          spdlog::error("config: {}", added.message());
        }
      }
      std::lock_guard lock(served_mutex_);
      served_.emplace(target.iqn, std::move(served));
      spdlog::info("config: target {} added with {} LUN(s)", target.iqn, target.luns.size());
    }
    for (const auto& added : change->added_luns) {
      if (auto done = add_lun(served_.at(added.iqn), added.lun, opened.at({added.iqn, added.lun.lun})); !done.ok()) {
        spdlog::error("config: {}", done.message());
      }
    }
    for (const auto& iqn : change->nvme_changed) {
      // The old subsystem (if any) ends with its controllers; a new one serves the same units.
      const auto* target = find_target(config_, iqn);
      auto& served = served_.at(iqn);
      ServedTarget rebuilt = make_target(*target);
      if (rebuilt.subsystem) {
        for (const auto& lun : target->luns) {
          auto unit = served.units.find(lun.lun);
          if (unit == served.units.end()) continue;
          if (auto added = rebuilt.subsystem->add_namespace(lun.nsid, unit->second); !added.ok()) {
            spdlog::error("config: {}", added.message());
          }
        }
      }
      {
        std::lock_guard lock(served_mutex_);
        served.subsystem = std::move(rebuilt.subsystem);
      }
      spdlog::info("config: target {}: NVMe subsystem {}", iqn,
                   served.subsystem ? served.subsystem->nqn() + " serves its LUNs" : std::string("removed"));
    }
    for (const auto& iqn : change->access_changed) {
      const auto* target = find_target(config_, iqn);
      auto& served = served_.at(iqn);
      if (served.subsystem && target->nvme) {
        const size_t ended = served.subsystem->set_allowed_hosts(
            target->nvme->any_host ? std::vector<std::string>{} : target->nvme->allowed_hosts);
        if (ended != 0) spdlog::info("config: {}: {} controller(s) of hosts no longer allowed end", iqn, ended);
      }
      spdlog::info("config: target {}: access settings changed", iqn);
    }
    // The iSCSI server closes the sessions of removed targets and of initiators no longer admitted.
    server_->set_targets(iscsi_targets());
    for (const auto& iqn : change->removed_targets) {
      std::lock_guard lock(served_mutex_);
      auto it = served_.find(iqn);
      for (auto& [lun, unit] : it->second.units) retired.push_back(std::move(unit));
      served_.erase(it);
      spdlog::info("config: target {} removed", iqn);
    }
    if (nvme_server_) nvme_server_->set_subsystems(nvme_subsystems());
    close_when_idle(std::move(retired));
    rados_->set_config_state(version, 0, "");
    spdlog::info("config: serving version {} of the configuration record (applied in {} ms)", version,
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    return {version, true, {}};
  }

  static const TargetConfig* find_target(const Config& config, const std::string& iqn) {
    for (const auto& target : config.targets) {
      if (target.iqn == iqn) return &target;
    }
    return nullptr;
  }

  // Units taken out of the configuration are closed (their images released) once the commands
  // they still run have ended; one whose commands do not end in time is kept rather than freed
  // under them.
  void close_when_idle(std::vector<std::shared_ptr<Unit>> units) {
    constexpr auto kIdleWait = std::chrono::seconds(30);
    for (auto& unit : units) {
      auto idle = std::make_shared<std::promise<void>>();
      auto future = idle->get_future();
      unit->when_idle([idle]() { idle->set_value(); });
      if (future.wait_for(kIdleWait) != std::future_status::ready) {
        spdlog::warn("config: {} still has commands after {} s: kept open until they end", unit->name(),
                     kIdleWait.count());
        lingering_.push_back(std::move(unit));
      }
    }
    units.clear();  // the last references: backends close here, on this thread
  }

  // One target as this gateway serves it: the core's SCSI target, its NVMe subsystem (when it
  // has an `nvme` section) and its units by LUN.
  struct ServedTarget {
    std::shared_ptr<scsi::ScsiTarget> scsi_target;
    std::shared_ptr<nvme::Subsystem> subsystem;
    std::map<uint64_t, std::shared_ptr<scsi::LogicalUnit>> units;
  };

  ServedTarget make_target(const TargetConfig& target) {
    ServedTarget served;
    served.scsi_target = std::make_shared<scsi::ScsiTarget>();
    if (target.nvme) {
      nvme::SubsystemConfig sub;
      sub.nqn = target.nvme->nqn;
      if (!target.nvme->any_host) sub.allowed_hosts = target.nvme->allowed_hosts;
      sub.serial = subsystem_serial(sub.nqn);
      sub.max_io_queues = static_cast<uint16_t>(config_.gateway.nvme_io_queues);
      sub.max_queue_size = static_cast<uint16_t>(config_.gateway.nvme_queue_size);
      sub.in_capsule_data_bytes = config_.gateway.nvme_in_capsule_data;
      sub.max_data_transfer_bytes = config_.gateway.nvme_max_data_transfer;
      controller_id_range(port_group_, sub);
      served.subsystem = std::make_shared<nvme::Subsystem>(std::move(sub), *cluster_);
    }
    return served;
  }

  // Opens the LUN's backend and makes its unit (not yet reachable by any host).
  Result<std::shared_ptr<scsi::LogicalUnit>> open_unit(const TargetConfig& target, const LunConfig& lun) {
    const std::string where = target.iqn + " lun " + std::to_string(lun.lun);
    auto device = open_backend(target, lun, ceph_, config_.cluster ? config_.cluster->pool : std::string());
    if (!device.ok()) return error(device.status().code(), where + ": " + device.status().message());
    scsi::LogicalUnitConfig unit_config;
    unit_config.name = where;
    unit_config.product = lun.product;
    // A shared image has the same identity (NAA, serial) and shared state on every gateway.
    unit_config.identity_seed = lun.backend == BackendKind::rbd ? (*device)->info().identity_seed
                                                                : target.iqn + "/lun/" + std::to_string(lun.lun);
    unit_config.serial_override = lun.serial;
    unit_config.read_only = lun.read_only;
    unit_config.physical_block_size = lun.physical_block_size;
    unit_config.sanitize_bytes_per_second = lun.sanitize_rate;
    auto unit = scsi::LogicalUnit::create(unit_config, *device, *cluster_);
    if (!unit.ok()) return error(unit.status().code(), where + ": " + unit.status().message());
    if (auto* rbd = dynamic_cast<backends::RbdBlockDevice*>(device->get())) {
      // Each gateway watches the image header itself, so every gateway raises it.
      std::weak_ptr<scsi::LogicalUnit> weak = *unit;
      rbd->set_capacity_listener([weak, where](uint64_t bytes) {
        if (auto u = weak.lock()) {
          spdlog::info("{}: capacity changed to {} bytes", where, bytes);
          u->notify_all(Notice::capacity_changed);
        }
      });
      rbd->set_blocklisted_listener(on_fenced);
    }
    return std::move(*unit);
  }

  struct LunRef {
    const TargetConfig* target;
    const LunConfig* lun;
  };

  // open_unit() for each, several at once with a cluster: a gateway of thousands of LUNs would
  // otherwise spend its start-up waiting on the OSDs for one image at a time. Results in order.
  std::vector<Result<std::shared_ptr<scsi::LogicalUnit>>> open_units(const std::vector<LunRef>& wanted) {
    constexpr size_t kOpeners = 8;
    constexpr size_t kProgressEvery = 512;
    std::vector<Result<std::shared_ptr<scsi::LogicalUnit>>> out(wanted.size(), error(ErrorCode::internal, "not opened"));
    std::atomic<size_t> next{0};
    std::atomic<size_t> done{0};
    auto work = [&]() {
      for (size_t i; (i = next.fetch_add(1)) < wanted.size();) {
        out[i] = open_unit(*wanted[i].target, *wanted[i].lun);
        const size_t finished = done.fetch_add(1) + 1;
        if (finished % kProgressEvery == 0) spdlog::info("opened {} of {} LUNs", finished, wanted.size());
      }
    };
    // Without a cluster the backends are local files and memory: nothing to wait for.
    const size_t threads = config_.cluster ? std::min(kOpeners, wanted.size()) : 0;
    std::vector<std::thread> openers;
    for (size_t t = 1; t < threads; ++t) openers.emplace_back(work);
    work();
    for (auto& t : openers) t.join();
    return out;
  }

  // Makes the unit reachable: a LUN of the target and, with an `nvme` section, a namespace.
  Status add_lun(ServedTarget& served, const LunConfig& lun, std::shared_ptr<scsi::LogicalUnit> unit) {
    if (served.subsystem) {
      // The same unit: one image is one LUN and one namespace.
      auto added = served.subsystem->add_namespace(lun.nsid, unit);
      if (!added.ok()) return error(added.code(), unit->config().name + ": " + added.message());
      spdlog::info("subsystem {}: namespace {} = {}", served.subsystem->nqn(), lun.nsid, unit->config().name);
    }
    spdlog::info("{}: {} backend, {} bytes", unit->config().name, unit->device().info().kind,
                 unit->device().capacity_bytes());
    served.scsi_target->add_lun(lun.lun, unit);
    std::lock_guard lock(served_mutex_);
    served.units[lun.lun] = std::move(unit);
    return {};
  }

  // The iSCSI server's view of the served targets.
  std::vector<iscsi::IscsiTargetSettings> iscsi_targets() const {
    std::vector<iscsi::IscsiTargetSettings> out;
    for (const auto& target : config_.targets) {
      auto served = served_.find(target.iqn);
      if (served == served_.end()) continue;
      iscsi::IscsiTargetSettings t;
      t.iqn = target.iqn;
      t.alias = target.alias;
      t.any_initiator = target.any_initiator;
      t.allowed_initiators = target.allowed_initiators;
      for (const auto& [name, chap] : target.initiator_chap) t.initiator_chap.emplace(name, to_credentials(chap));
      if (target.chap) t.chap = to_credentials(*target.chap);
      t.scsi_target = served->second.scsi_target;
      out.push_back(std::move(t));
    }
    return out;
  }

  // The NVMe subsystems of the served targets.
  std::vector<std::shared_ptr<nvme::Subsystem>> nvme_subsystems() const {
    std::vector<std::shared_ptr<nvme::Subsystem>> out;
    for (const auto& [iqn, served] : served_) {
      if (served.subsystem) out.push_back(served.subsystem);
    }
    return out;
  }

  // What this gateway serves now, for `portico status` (cluster/rados/session_status.h; the
  // heartbeat thread asks).
  std::string session_lines() const {
    std::lock_guard status_lock(status_mutex_);
    if (!serving_) return {};
    std::vector<cluster::rados::SessionLine> lines;
    for (const auto& s : server_->sessions()) {
      lines.push_back({"iscsi", s.target, s.initiator, fmt::format("ISID {}, TSIH {}", s.isid, s.tsih)});
    }
    {
      std::lock_guard lock(served_mutex_);
      for (const auto& [iqn, served] : served_) {
        if (!served.subsystem) continue;
        for (const auto& [id, host] : served.subsystem->controller_hosts()) {
          lines.push_back({"nvme", served.subsystem->nqn(), host, fmt::format("controller {}", id)});
        }
      }
    }
    std::sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) {
      return std::tie(a.protocol, a.target, a.initiator, a.detail) < std::tie(b.protocol, b.target, b.initiator, b.detail);
    });
    return cluster::rados::encode_session_lines(lines);
  }

  // Every served unit, for the metrics (a scrape thread).
  std::vector<metrics::LunSource> metric_luns() const {
    std::vector<metrics::LunSource> out;
    std::lock_guard lock(served_mutex_);
    for (const auto& [iqn, served] : served_) {
      for (const auto& [lun, unit] : served.units) out.push_back({iqn, lun, unit});
    }
    return out;
  }

  Status start_metrics(const Config& config) {
    metrics::GatewaySources sources;
    sources.luns = [this]() { return metric_luns(); };
    sources.cluster = config.cluster ? cluster_.get() : nullptr;
    sources.frontends = [this, tcmu_devices = tcmu_device_count_]() {
      std::vector<metrics::FrontendLoad> loads;
      loads.push_back({"iscsi", server_->connection_count(), server_->session_count()});
      if (nvme_server_) loads.push_back({"nvme_tcp", nvme_server_->connection_count(), nvme_server_->controller_count()});
      if (nvme_rdma_) loads.push_back({"nvme_rdma", nvme_rdma_->queue_count(), 0});
      if (tcmu_) loads.push_back({"tcmu", 0, tcmu_devices});
      return loads;
    };
    auto endpoint = metrics::MetricsEndpoint::start(config.gateway.metrics_listener,
                                                    std::make_shared<metrics::GatewayCollector>(std::move(sources)));
    if (!endpoint.ok()) return endpoint.status();
    metrics_ = std::move(*endpoint);
    spdlog::info("metrics: Prometheus endpoint on http://{}/metrics", config.gateway.metrics_listener);
    return {};
  }

  void stop() override {
    config_watch_.reset();  // no version is applied while the servers stop
    {
      std::lock_guard lock(status_mutex_);  // no heartbeat reads the servers from now on
      serving_ = false;
    }
    metrics_.reset();  // no scrape reads the servers once they stop
    // The server stops on running loops; the loops then stop (running or dropping what the
    // server posted to them) before the server is freed.
    if (tcmu_) tcmu_->stop(kShutdownGrace);
    if (nvme_rdma_) nvme_rdma_->stop(kShutdownGrace);
    if (nvme_server_) nvme_server_->stop(kShutdownGrace);
    if (server_) server_->stop(kShutdownGrace);
    if (loops_) loops_->stop();
    if (ceph_ && rbd_unit_count() > kCloseImagesAtExitLimit) {
      spdlog::info("{} RBD images: left open for the process's exit to end (closing each costs time in proportion to "
                   "all of them)",
                   rbd_unit_count());
      backends::RbdBlockDevice::leave_open_at_exit();
      ceph_->leave_open_at_exit();
      leaves_images_to_exit_ = true;
    }
    tcmu_.reset();
    nvme_rdma_.reset();
    nvme_server_.reset();
    server_.reset();
  }
  // Members are destroyed in reverse order: the units' subscriptions (held by the server's
  // targets) go before the cluster state, which goes before the Ceph connection.

  ~RunningGateway() override { stop(); }
  [[nodiscard]] bool leaves_images_to_exit() const override { return leaves_images_to_exit_; }

  size_t rbd_unit_count() const {
    size_t count = 0;
    std::lock_guard lock(served_mutex_);
    for (const auto& [iqn, served] : served_) {
      for (const auto& [lun, unit] : served.units) {
        if (dynamic_cast<const backends::RbdBlockDevice*>(&unit->device()) != nullptr) ++count;
      }
    }
    return count;
  }

 private:
  std::shared_ptr<ceph::RadosConnection> ceph_;
  std::unique_ptr<ClusterState> cluster_;
  std::unique_ptr<runtime::LoopGroup> loops_;
  std::unique_ptr<iscsi::IscsiServer> server_;
  std::unique_ptr<nvmeof::NvmeTcpServer> nvme_server_;
  std::unique_ptr<nvmeof::RdmaListener> nvme_rdma_;  // shares nvme_server_'s context: goes first
  std::unique_ptr<tcmu::TcmuFrontend> tcmu_;
  RecordMerger merge_record_;  // with shared_config
  cluster::rados::RadosClusterState* rados_ = nullptr;               // with a cluster
  std::vector<std::shared_ptr<Unit>> lingering_;  // removed, but their commands had not ended
  bool leaves_images_to_exit_ = false;
  mutable std::mutex status_mutex_;  // serving_, against the heartbeat's reads of the servers
  bool serving_ = false;
  Config config_;  // what is served: the start-up configuration, then each version applied
  uint16_t port_group_ = 1;
  std::map<std::string, ServedTarget> served_;  // by IQN; changed by the configuration thread
  mutable std::mutex served_mutex_;            // its unit maps, against the metrics' reads
  uint64_t tcmu_device_count_ = 0;  // backstores, fixed at start
  std::unique_ptr<metrics::MetricsEndpoint> metrics_;  // a scrape reads everything above
  std::unique_ptr<cluster::rados::ConfigWatch> config_watch_;  // first to go: it changes everything above
};

}  // namespace

Status check_gateway(const Config& config) {
  for (size_t i = 0; i < config.gateway.portals.size(); ++i) {
    auto address = runtime::SocketAddress::parse(config.gateway.portals[i]);
    if (!address.ok()) {
      return error(ErrorCode::invalid_argument,
                   "gateway.portals[" + std::to_string(i) + "]: " + address.status().message());
    }
  }
  if (!config.gateway.metrics_listener.empty()) {
    auto address = runtime::SocketAddress::parse(config.gateway.metrics_listener);
    if (!address.ok()) return error(ErrorCode::invalid_argument, "gateway.metrics_listener: " + address.status().message());
  }
  for (const auto& [name, list] : {std::pair{"nvme_listeners", &config.gateway.nvme_listeners},
                                    std::pair{"nvme_rdma_listeners", &config.gateway.nvme_rdma_listeners},
                                    std::pair{"nvme_discovery_listeners", &config.gateway.nvme_discovery_listeners}}) {
    for (size_t i = 0; i < list->size(); ++i) {
      auto address = runtime::SocketAddress::parse((*list)[i]);
      if (!address.ok()) {
        return error(ErrorCode::invalid_argument, std::string("gateway.") + name + "[" + std::to_string(i) +
                                                      "]: " + address.status().message());
      }
    }
  }
  for (size_t t = 0; t < config.targets.size(); ++t) {
    for (size_t l = 0; l < config.targets[t].luns.size(); ++l) {
      const auto& lun = config.targets[t].luns[l];
      if (lun.backend != BackendKind::file) continue;
      const auto key = "targets[" + std::to_string(t) + "].luns[" + std::to_string(l) + "]";
      std::error_code ec;
      const auto parent = std::filesystem::path(lun.path).parent_path();
      if (!std::filesystem::is_directory(parent, ec)) {
        return error(ErrorCode::invalid_argument, key + ".path: folder " + parent.string() + " does not exist");
      }
      if (!std::filesystem::exists(lun.path, ec) && lun.size_bytes == 0) {
        return error(ErrorCode::invalid_argument, key + ".size: is required because " + lun.path + " does not exist yet");
      }
    }
  }
  return {};
}

Result<std::unique_ptr<Gateway>> Gateway::start(const Config& config, RecordMerger merge_record) {
  auto gateway = std::make_unique<RunningGateway>();
  auto started = gateway->start(config, std::move(merge_record));
  if (!started.ok()) return started;
  return std::unique_ptr<Gateway>(std::move(gateway));
}

}  // namespace portico::daemon
