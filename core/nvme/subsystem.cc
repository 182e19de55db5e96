#include "core/nvme/subsystem.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/nvme/controller.h"
#include "core/unit.h"

namespace portico::nvme {

Subsystem::Subsystem(SubsystemConfig config, ClusterState& cluster)
    : config_(std::move(config)),
      cluster_(cluster),
      allowed_hosts_(std::make_shared<const std::vector<std::string>>(config_.allowed_hosts)) {}

Subsystem::~Subsystem() = default;

Status Subsystem::add_namespace(uint32_t nsid, std::shared_ptr<Unit> unit) {
  if (nsid == 0 || nsid == kBroadcastNsid) {
    return error(ErrorCode::invalid_argument, config_.nqn + ": namespace id " + std::to_string(nsid) + " is reserved");
  }
  if (!unit) return error(ErrorCode::invalid_argument, config_.nqn + ": namespace without a unit");
  if (config_.discovery) return error(ErrorCode::invalid_argument, config_.nqn + ": a discovery subsystem has no namespaces");
  std::lock_guard lock(namespaces_mutex_);
  auto map = std::make_shared<NamespaceMap>(*namespaces());
  if (!map->emplace(nsid, unit).second) {
    return error(ErrorCode::invalid_argument, config_.nqn + ": namespace " + std::to_string(nsid) + " is defined twice");
  }
  namespaces_.store(std::move(map), std::memory_order_release);
  for (const auto& controller : live_controllers()) controller->attach_namespace(nsid, unit);
  return Status::ok_status();
}

std::shared_ptr<Unit> Subsystem::remove_namespace(uint32_t nsid) {
  std::lock_guard lock(namespaces_mutex_);
  auto map = std::make_shared<NamespaceMap>(*namespaces());
  auto it = map->find(nsid);
  if (it == map->end()) return nullptr;
  auto removed = std::move(it->second);
  map->erase(it);
  namespaces_.store(std::move(map), std::memory_order_release);
  for (const auto& controller : live_controllers()) controller->namespace_removed(nsid);
  return removed;
}

size_t Subsystem::set_allowed_hosts(std::vector<std::string> hosts) {
  allowed_hosts_.store(std::make_shared<const std::vector<std::string>>(std::move(hosts)), std::memory_order_release);
  size_t ended = 0;
  for (const auto& controller : live_controllers()) {
    if (host_allowed(controller->host_nqn())) continue;
    controller->retire();
    ++ended;
  }
  return ended;
}

size_t Subsystem::retire_controllers() {
  const auto controllers = live_controllers();
  for (const auto& controller : controllers) controller->retire();
  return controllers.size();
}

std::vector<uint32_t> Subsystem::active_nsids() const {
  std::vector<uint32_t> out;
  const auto map = namespaces();
  for (const auto& [nsid, unit] : *map) out.push_back(nsid);  // a map: ascending
  return out;
}

uint32_t Subsystem::max_nsid() const {
  const auto map = namespaces();
  return map->empty() ? 0 : map->rbegin()->first;
}

Unit* Subsystem::namespace_unit(uint32_t nsid) const {
  const auto map = namespaces();
  auto it = map->find(nsid);
  return it == map->end() ? nullptr : it->second.get();
}

std::vector<std::shared_ptr<Controller>> Subsystem::live_controllers() const {
  std::vector<std::shared_ptr<Controller>> out;
  std::lock_guard lock(controllers_mutex_);
  for (const auto& [id, weak] : controllers_) {
    if (auto controller = weak.lock()) out.push_back(std::move(controller));
  }
  return out;
}

bool Subsystem::host_allowed(const std::string& host_nqn) const {
  const auto hosts = allowed_hosts_.load(std::memory_order_acquire);
  return hosts->empty() || std::find(hosts->begin(), hosts->end(), host_nqn) != hosts->end();
}

Subsystem::ConnectResult Subsystem::connect(const ConnectCommand& command, const ConnectData& data,
                                            FabricsTransport transport) {
  // NVMe over Fabrics 1.1, "Connect command": the record format is 0; the subsystem and the host
  // are checked before anything else, and a refusal names the field.
  if (command.record_format != 0) {
    return ConnectRejection{CommandSpecificStatus::connect_incompatible_format, 0};
  }
  if (data.subsystem_nqn != config_.nqn) {
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(true, kConnectDataSubsystemNqnOffset)};
  }
  if (!host_allowed(data.host_nqn)) {
    spdlog::warn("{}: host {} is not allowed to connect", config_.nqn, data.host_nqn);
    return ConnectRejection{CommandSpecificStatus::connect_invalid_host, 0};
  }
  // SQSIZE is 0's based: a queue has at least 2 entries and at most CAP.MQES + 1.
  if (command.sq_size == 0 || command.sq_size >= config_.max_queue_size) {
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(false, 44)};  // SQSIZE: SQE bytes 44-45
  }
  if (command.queue_id != 0 && config_.discovery) {
    // A discovery controller has its admin queue only.
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(false, 42)};
  }
  return command.queue_id == 0 ? connect_admin(command, data, transport) : connect_io(command, data, transport);
}

Subsystem::ConnectResult Subsystem::connect_admin(const ConnectCommand& command, const ConnectData& data,
                                                  FabricsTransport transport) {
  if (data.controller_id != kDynamicControllerId) {
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(true, kConnectDataControllerIdOffset)};
  }
  if (std::all_of(data.host_id.begin(), data.host_id.end(), [](uint8_t b) { return b == 0; })) {
    // A zero Host Identifier would make every such host one registrant.
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(true, kConnectDataHostIdOffset)};
  }
  std::shared_ptr<Controller> controller;
  {
    std::lock_guard lock(controllers_mutex_);
    const uint32_t count = config_.controller_id_count;
    for (uint32_t tried = 0; tried < count && !controller; ++tried) {
      const auto id = static_cast<uint16_t>(config_.controller_id_first + (next_controller_ + tried) % count);
      auto it = controllers_.find(id);
      if (it != controllers_.end() && !it->second.expired()) continue;
      next_controller_ = (next_controller_ + tried + 1) % count;
      controller = std::make_shared<Controller>(*this, id, data, command.keep_alive_ms, transport);
      controllers_[id] = controller;
    }
  }
  if (!controller) {
    spdlog::warn("{}: no controller id left in this gateway's range for host {}", config_.nqn, data.host_nqn);
    return ConnectRejection{CommandSpecificStatus::connect_controller_busy, 0};
  }
  {
    std::lock_guard lock(namespaces_mutex_);
    controller->attach_namespaces();
  }
  spdlog::info("{}: controller {} created for host {}", config_.nqn, controller->id(), data.host_nqn);
  return controller;
}

Subsystem::ConnectResult Subsystem::connect_io(const ConnectCommand& command, const ConnectData& data,
                                               FabricsTransport transport) {
  std::shared_ptr<Controller> controller;
  {
    std::lock_guard lock(controllers_mutex_);
    auto it = controllers_.find(data.controller_id);
    if (it != controllers_.end()) controller = it->second.lock();
  }
  // The controller must exist, belong to this host, be enabled and have granted the queue.
  if (!controller || controller->host_nqn() != data.host_nqn || controller->host_id() != data.host_id) {
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(true, kConnectDataControllerIdOffset)};
  }
  if (!controller->ready()) return ConnectRejection{GenericStatus::command_sequence_error, 0};
  // An association runs over one transport: its I/O queues over the admin queue's.
  if (command.queue_id > controller->io_queue_limit() || transport != controller->transport()) {
    return ConnectRejection{CommandSpecificStatus::connect_invalid_parameters,
                            connect_invalid_parameter_dw0(false, 42)};  // QID: SQE bytes 42-43
  }
  return controller;
}

void Subsystem::remove_controller(uint16_t id) {
  std::lock_guard lock(controllers_mutex_);
  controllers_.erase(id);
}

std::vector<std::pair<uint16_t, std::string>> Subsystem::controller_hosts() const {
  std::vector<std::pair<uint16_t, std::string>> out;
  for (const auto& controller : live_controllers()) out.emplace_back(controller->id(), controller->host_nqn());
  return out;
}

size_t Subsystem::controller_count() const {
  std::lock_guard lock(controllers_mutex_);
  return static_cast<size_t>(std::count_if(controllers_.begin(), controllers_.end(),
                                           [](const auto& entry) { return !entry.second.expired(); }));
}

}  // namespace portico::nvme
