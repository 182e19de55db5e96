// Identify, Get Log Page, Set / Get Features on a controller (NVMe Base 2.0, "Admin Command
// Set"). The data structures are built by identify.cc, log_pages.cc, ana_log.cc; this file fills
// them from the subsystem, the namespaces' units and the controller's own state.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/nvme/ana_log.h"
#include "core/nvme/controller.h"
#include "core/nvme/features.h"
#include "core/nvme/identify.h"
#include "core/nvme/subsystem.h"
#include "core/unit.h"

namespace portico::nvme {
namespace {

constexpr uint32_t kMaxAnaGroups = 64;  // NANAGRPID: descriptors the ANA log may hold
constexpr uint32_t kMaxAnaGroupId = 0xffff;  // ANAGRPMAX: a target port group id is 16 bits

CompletionStatus invalid_field() { return CompletionStatus(GenericStatus::invalid_field).no_retry(); }
CompletionStatus invalid_namespace() { return CompletionStatus(GenericStatus::invalid_namespace).no_retry(); }

// Returns `bytes` as the command's data, cut to what the host's SGL can take.
void respond_with(NvmeCommand& command, std::span<const uint8_t> bytes) {
  const size_t length = std::min<size_t>(bytes.size(), command.data_in_limit());
  command.data_in = IoBuffer(length == 0 ? 1 : length);
  if (length != 0) std::memcpy(command.data_in.data(), bytes.data(), length);
  command.data_in_length = static_cast<uint32_t>(length);
}

}  // namespace

void Controller::identify(NvmeCommand& command) {
  const uint32_t cdw10 = command.sqe.cdw(10);
  const auto cns = static_cast<uint8_t>(cdw10);
  const uint32_t nsid = command.sqe.nsid;
  const auto& config = subsystem_.config();
  switch (static_cast<IdentifyCns>(cns)) {
    case IdentifyCns::controller: {
      ControllerInfo info;
      info.serial = config.serial;
      info.model = config.model;
      info.firmware = config.firmware;
      info.controller_id = id_;
      info.version = kReportedVersion;
      info.max_transfer_pages =
          static_cast<uint8_t>(std::countr_zero(std::max<uint32_t>(config.max_data_transfer_bytes, 4096) / 4096));
      info.max_commands = config.max_queue_size;
      info.subsystem_nqn = config.nqn;
      info.keyed_sgls = transport_ == FabricsTransport::rdma;  // a discovery controller's too
      if (subsystem_.discovery()) {
        // NVMe over Fabrics 1.1, "Discovery Controller": no namespaces, no I/O commands, no ANA.
        info.type = ControllerType::discovery;
        info.multi_port = info.multi_controller = info.ana_reporting = false;
        info.namespace_attribute_notices = info.ana_change_notices = false;
        info.discovery_change_notices = true;
        info.compare = info.dataset_management = info.write_zeroes = info.reservations = info.verify = false;
        info.compare_and_write = false;
        return respond_with(command, identify_controller(info)), finish(command, GenericStatus::success);
      }
      info.ana_group_max = kMaxAnaGroupId;
      info.ana_group_count = kMaxAnaGroups;
      info.namespace_count = subsystem_.max_nsid();
      info.async_event_limit = 3;
      info.in_capsule_data_bytes = config.in_capsule_data_bytes;
      // Fused Compare and Write, and the volatile cache bit, only when every namespace has them.
      const auto namespaces = subsystem_.namespaces();
      bool caw = !namespaces->empty();
      bool volatile_cache = false;
      for (const auto& [id, unit] : *namespaces) {
        caw = caw && unit->device().info().max_compare_and_write_bytes >= unit->block_size();
        volatile_cache = volatile_cache || unit->device().info().volatile_cache;
      }
      info.compare_and_write = caw;
      info.volatile_write_cache = volatile_cache;
      return respond_with(command, identify_controller(info)), finish(command, GenericStatus::success);
    }
    case IdentifyCns::namespace_data: {
      if (nsid == 0 || nsid == kBroadcastNsid) return finish(command, invalid_namespace());
      Unit* unit = subsystem_.namespace_unit(nsid);
      if (unit == nullptr) {
        // NVMe Base 2.0: an inactive NSID within NN returns zeros; beyond it, Invalid Namespace.
        if (nsid > subsystem_.max_nsid()) return finish(command, invalid_namespace());
        std::vector<uint8_t> zeros(kIdentifySize, 0);
        return respond_with(command, zeros), finish(command, GenericStatus::success);
      }
      const auto& device = unit->device().info();
      NamespaceInfo info;
      info.size_blocks = unit->block_count();
      info.capacity_blocks = info.size_blocks;
      info.used_blocks = info.size_blocks;
      info.block_size = unit->block_size();
      info.thin_provisioned = device.thin_provisioned;
      info.deallocate_features = device.discard_zeroes ? 0x01 : 0x00;  // deallocated blocks read as zeroes
      info.ana_group_id = initiator_.target_port_group_id;
      info.identity = unit->identity();
      return respond_with(command, identify_namespace(info)), finish(command, GenericStatus::success);
    }
    case IdentifyCns::active_namespaces: {
      if (nsid >= 0xfffffffe) return finish(command, invalid_namespace());
      return respond_with(command, active_namespace_list(subsystem_.active_nsids(), nsid)),
             finish(command, GenericStatus::success);
    }
    case IdentifyCns::namespace_descriptors: {
      Unit* unit = subsystem_.namespace_unit(nsid);
      if (unit == nullptr) return finish(command, invalid_namespace());
      return respond_with(command, namespace_descriptor_list(unit->identity())),
             finish(command, GenericStatus::success);
    }
  }
  finish(command, invalid_field());
}

std::vector<uint8_t> Controller::ana_log_page(bool groups_only) {
  // One ANA group per gateway, the same id as its target port group. Through this controller
  // every namespace is in this gateway's group; the other gateways' groups are listed with no
  // namespace, so that the host sees their states (a dead gateway's inaccessible) too.
  const uint16_t local = initiator_.target_port_group_id;
  bool current = true;
  const auto namespaces = subsystem_.namespaces();
  for (const auto& [nsid, unit] : *namespaces) current = current && unit->state_is_current();
  std::vector<AnaGroup> groups;
  AnaGroup own{local, AnaState::optimized, subsystem_.ana_change_count(), subsystem_.active_nsids()};
  std::vector<TargetPortGroupInfo> cluster_groups = subsystem_.cluster().target_port_groups();
  for (const auto& g : cluster_groups) {
    if (g.id == local) own.state = ana_state_from(g.state);
  }
  if (!current) own.state = AnaState::change;  // until this gateway has re-read the cluster state
  groups.push_back(std::move(own));
  for (const auto& g : cluster_groups) {
    if (g.id == local || g.id == 0 || groups.size() >= kMaxAnaGroups) continue;
    groups.push_back(AnaGroup{g.id, ana_state_from(g.state), subsystem_.ana_change_count(), {}});
  }
  std::sort(groups.begin(), groups.end(), [](const AnaGroup& a, const AnaGroup& b) { return a.id < b.id; });
  return ana_log(subsystem_.ana_change_count(), groups, groups_only);
}

void Controller::get_log_page(NvmeCommand& command) {
  const LogPageRequest request = decode_log_page_request(command.sqe);
  if (request.length > command.data_in_limit()) {
    return finish(command, CompletionStatus(GenericStatus::data_sgl_length_invalid).no_retry());
  }
  if (subsystem_.discovery() && static_cast<LogPageId>(request.lid) != LogPageId::discovery &&
      static_cast<LogPageId>(request.lid) != LogPageId::error_information) {
    return finish(command, CompletionStatus(CommandSpecificStatus::invalid_log_page).no_retry());
  }
  std::vector<uint8_t> page;
  switch (static_cast<LogPageId>(request.lid)) {
    case LogPageId::error_information:
      page = error_information_log(1);
      break;
    case LogPageId::smart_health:
      if (request.nsid != 0 && request.nsid != kBroadcastNsid) return finish(command, invalid_field());
      page = smart_health_log(HealthInfo{});
      break;
    case LogPageId::firmware_slot:
      page = firmware_slot_log(subsystem_.config().firmware);
      break;
    case LogPageId::changed_namespaces: {
      std::lock_guard lock(async_mutex_);
      page = changed_namespace_list(changed_nsids_, changed_nsids_overflowed_);
      if (!request.retain_async_event) {
        changed_nsids_.clear();
        changed_nsids_overflowed_ = false;
        masked_log_pages_.erase(static_cast<uint8_t>(LogPageId::changed_namespaces));
      }
      break;
    }
    case LogPageId::ana: {
      page = ana_log_page((request.lsp & kAnaReturnGroupsOnly) != 0);
      if (!request.retain_async_event) {
        std::lock_guard lock(async_mutex_);
        masked_log_pages_.erase(static_cast<uint8_t>(LogPageId::ana));
      }
      break;
    }
    case LogPageId::reservation_notification: {
      // Each read returns the oldest notice and removes it (NVMe Base 2.0, "Reservation
      // Notification"): Number of Available Log Pages says how many more wait.
      std::lock_guard lock(async_mutex_);
      ReservationNotice notice;
      if (!reservation_notices_.empty()) {
        notice = reservation_notices_.front();
        reservation_notices_.pop_front();
        notice.available = static_cast<uint8_t>(std::min<size_t>(reservation_notices_.size(), 255));
      }
      page = reservation_notification_log(notice);
      if (!request.retain_async_event && reservation_notices_.empty()) {
        masked_log_pages_.erase(static_cast<uint8_t>(LogPageId::reservation_notification));
      }
      break;
    }
    case LogPageId::discovery: {
      if (!subsystem_.discovery()) {
        return finish(command, CompletionStatus(CommandSpecificStatus::invalid_log_page).no_retry());
      }
      const auto entries = discovery_entries();
      const uint64_t generation = discovery_generation(entries);
      page = discovery_log(generation, entries);
      std::lock_guard lock(async_mutex_);
      discovery_generation_seen_ = generation;
      if (!request.retain_async_event) masked_log_pages_.erase(static_cast<uint8_t>(LogPageId::discovery));
      break;
    }
    default:
      return finish(command, CompletionStatus(CommandSpecificStatus::invalid_log_page).no_retry());
  }
  auto slice = slice_log_page(page, request.offset, request.length);
  if (auto* status = std::get_if<CompletionStatus>(&slice)) return finish(command, *status);
  const auto& part = std::get<LogPageSlice>(slice);
  const size_t length = std::min<uint64_t>(part.size(), command.data_in_limit());
  command.data_in = IoBuffer(length == 0 ? 1 : length);
  std::memset(command.data_in.data(), 0, command.data_in.size());
  std::memcpy(command.data_in.data(), part.data.data(), std::min(part.data.size(), length));
  command.data_in_length = static_cast<uint32_t>(length);
  if (!request.retain_async_event) {
    // A read of the page the event pointed at lets the next event of its kind through.
    std::lock_guard lock(async_mutex_);
    deliver_async_events();
  }
  finish(command, GenericStatus::success);
}

void Controller::set_features(NvmeCommand& command) {
  const FeatureRequest request = decode_feature_request(command.sqe);
  if (request.save) return finish(command, CompletionStatus(CommandSpecificStatus::feature_not_saveable).no_retry());
  const uint32_t nsid = command.sqe.nsid;
  if (subsystem_.discovery() && static_cast<FeatureId>(request.fid) != FeatureId::keep_alive_timer &&
      static_cast<FeatureId>(request.fid) != FeatureId::async_event_configuration) {
    return finish(command, invalid_field());  // a discovery controller has no queues or namespaces
  }
  switch (static_cast<FeatureId>(request.fid)) {
    case FeatureId::number_of_queues: {
      auto wanted = decode_queue_request(request.value);
      if (!wanted) return finish(command, invalid_field());
      const uint32_t max = subsystem_.config().max_io_queues;
      const QueueCounts granted{std::min(wanted->submission, max), std::min(wanted->completion, max)};
      io_queues_granted_.store(static_cast<uint16_t>(std::min(granted.submission, granted.completion)));
      command.result_dw0 = encode_queue_counts(granted);
      return finish(command, GenericStatus::success);
    }
    case FeatureId::async_event_configuration: {
      std::lock_guard lock(async_mutex_);
      async_event_config_ =
          request.value & (subsystem_.discovery() ? kAecDiscoveryChange : (kAecNamespaceAttribute | kAecAnaChange));
      return finish(command, GenericStatus::success);
    }
    case FeatureId::keep_alive_timer:
      keep_alive_ms_.store(request.value);
      return finish(command, GenericStatus::success);
    case FeatureId::host_identifier:
      // Over fabrics the Host Identifier comes with Connect.
      return finish(command, CompletionStatus(GenericStatus::command_sequence_error).no_retry());
    case FeatureId::reservation_notification_mask: {
      if (nsid != kBroadcastNsid && subsystem_.namespace_unit(nsid) == nullptr) {
        return finish(command, invalid_namespace());
      }
      std::lock_guard lock(async_mutex_);
      for (uint32_t id : subsystem_.active_nsids()) {
        if (nsid == kBroadcastNsid || nsid == id) reservation_masks_[id] = request.value & kReservationMaskValid;
      }
      return finish(command, GenericStatus::success);
    }
    case FeatureId::reservation_persistence: {
      Unit* unit = subsystem_.namespace_unit(nsid);
      if (unit == nullptr) return finish(command, invalid_namespace());
      const bool ptpl = persist_through_power_loss(request.value);
      auto outcome = std::make_shared<ReservationOutcome>();
      auto self = shared_from_this();
      unit->update_record(
          key_,
          [outcome, ptpl](ReservationState& state) -> const ReservationOutcome& {
            *outcome = ReservationOutcome{};
            outcome->changed = state.aptpl != ptpl;
            state.aptpl = ptpl;
            return *outcome;
          },
          [self, &command](RecordUpdate result) {
            command.core.executor->post([self, &command, result]() {
              self->finish(command, result == RecordUpdate::unavailable ? CompletionStatus(PathStatus::ana_transition)
                                                                        : CompletionStatus(GenericStatus::success));
            });
          });
      return;
    }
    case FeatureId::volatile_write_cache:
      return finish(command, CompletionStatus(CommandSpecificStatus::feature_not_changeable).no_retry());
  }
  finish(command, invalid_field());
}

void Controller::get_features(NvmeCommand& command) {
  const FeatureRequest request = decode_feature_request(command.sqe);
  const uint32_t nsid = command.sqe.nsid;
  const auto id = static_cast<FeatureId>(request.fid);
  const bool namespace_specific =
      id == FeatureId::reservation_notification_mask || id == FeatureId::reservation_persistence;
  switch (id) {
    case FeatureId::number_of_queues:
    case FeatureId::async_event_configuration:
    case FeatureId::keep_alive_timer:
    case FeatureId::host_identifier:
    case FeatureId::reservation_notification_mask:
    case FeatureId::reservation_persistence:
    case FeatureId::volatile_write_cache:
      break;
    default:
      return finish(command, invalid_field());
  }
  if (request.select == FeatureSelect::supported_capabilities) {
    command.result_dw0 = (namespace_specific ? kCapabilityNamespaceSpecific : 0) |
                         (id == FeatureId::volatile_write_cache || id == FeatureId::host_identifier
                              ? 0
                              : kCapabilityChangeable);
    return finish(command, GenericStatus::success);
  }
  if (static_cast<uint8_t>(request.select) > 3) return finish(command, invalid_field());
  Unit* unit = namespace_specific ? subsystem_.namespace_unit(nsid) : nullptr;
  if (namespace_specific && unit == nullptr) return finish(command, invalid_namespace());
  switch (id) {
    case FeatureId::number_of_queues: {
      const uint32_t granted = io_queue_limit();
      command.result_dw0 = encode_queue_counts({granted, granted});
      break;
    }
    case FeatureId::async_event_configuration: {
      std::lock_guard lock(async_mutex_);
      command.result_dw0 = async_event_config_;
      break;
    }
    case FeatureId::keep_alive_timer:
      command.result_dw0 = keep_alive_ms();
      break;
    case FeatureId::host_identifier:
      if (!extended_host_id(request.value)) return finish(command, invalid_field());
      respond_with(command, host_id_);
      break;
    case FeatureId::reservation_notification_mask: {
      std::lock_guard lock(async_mutex_);
      auto it = reservation_masks_.find(nsid);
      command.result_dw0 = it == reservation_masks_.end() ? 0 : it->second;
      break;
    }
    case FeatureId::reservation_persistence:
      command.result_dw0 = encode_reservation_persistence(unit->reservations().aptpl);
      break;
    case FeatureId::volatile_write_cache: {
      bool volatile_cache = false;
      const auto namespaces = subsystem_.namespaces();
      for (const auto& [n, u] : *namespaces) volatile_cache |= u->device().info().volatile_cache;
      command.result_dw0 = volatile_cache ? 1 : 0;
      break;
    }
  }
  finish(command, GenericStatus::success);
}

}  // namespace portico::nvme
