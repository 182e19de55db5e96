#include "core/nvme/controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/nvme/features.h"
#include "core/nvme/subsystem.h"
#include "core/unit.h"

namespace portico::nvme {
namespace {

// Admin opcodes (NVMe Base 2.0, "Admin Command Set"; Linux: enum nvme_admin_opcode).
constexpr uint8_t kGetLogPage = 0x02;
constexpr uint8_t kIdentify = 0x06;
constexpr uint8_t kAbort = 0x08;
constexpr uint8_t kSetFeatures = 0x09;
constexpr uint8_t kGetFeatures = 0x0a;
constexpr uint8_t kAsyncEventRequest = 0x0c;
constexpr uint8_t kKeepAlive = 0x18;

constexpr size_t kAsyncEventLimit = 4;  // AERL + 1 in Identify Controller

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One controller seeing one namespace's unit.
class NamespaceAttachment : public Attachment {
 public:
  NamespaceAttachment(std::weak_ptr<Controller> controller, const Initiator& initiator, uint32_t nsid)
      : controller_(std::move(controller)), initiator_(initiator), nsid_(nsid) {}
  [[nodiscard]] const Initiator& initiator() const override { return initiator_; }
  void notify(Notice notice) override {
    if (auto controller = controller_.lock()) controller->on_notice(nsid_, notice);
  }

 private:
  std::weak_ptr<Controller> controller_;
  const Initiator& initiator_;  // the controller's, which outlives its attachments
  uint32_t nsid_;
};

}  // namespace

Controller::Controller(Subsystem& subsystem, uint16_t id, const ConnectData& connect, uint32_t keep_alive_ms,
                       FabricsTransport transport)
    : subsystem_(subsystem), id_(id), host_id_(connect.host_id), host_nqn_(connect.host_nqn), transport_(transport),
      initiator_(host_initiator(connect.host_id, connect.host_nqn, subsystem.nqn(), id,
                                subsystem.cluster().local_target_port_group())),
      key_(initiator_.key()) {
  keep_alive_ms_.store(keep_alive_ms);
  touch(now_ns());
  // Until Set Features (Number of Queues) says otherwise, the host may use every queue.
  io_queues_granted_.store(subsystem.config().max_io_queues);
  async_event_config_ = kAecNamespaceAttribute | kAecAnaChange;
}

Controller::~Controller() = default;

void Controller::attach_namespaces() {
  const auto namespaces = subsystem_.namespaces();
  std::lock_guard lock(attachments_mutex_);
  for (const auto& [nsid, unit] : *namespaces) {
    auto attachment = std::make_shared<NamespaceAttachment>(weak_from_this(), initiator_, nsid);
    unit->attach(attachment);
    attachments_.push_back(std::move(attachment));
  }
}

void Controller::attach_namespace(uint32_t nsid, const std::shared_ptr<Unit>& unit) {
  {
    auto attachment = std::make_shared<NamespaceAttachment>(weak_from_this(), initiator_, nsid);
    unit->attach(attachment);
    std::lock_guard lock(attachments_mutex_);
    attachments_.push_back(std::move(attachment));
  }
  on_notice(nsid, Notice::capacity_changed);  // Namespace Attribute Changed, as for a new size
}

void Controller::namespace_removed(uint32_t nsid) { on_notice(nsid, Notice::capacity_changed); }

bool Controller::keep_alive_expired(int64_t now) const {
  const uint32_t kato = keep_alive_ms();
  if (kato == 0) return false;
  return now - last_activity_ns_.load(std::memory_order_relaxed) > int64_t{kato} * 1'000'000;
}

void Controller::execute(QueueContext& queue, NvmeCommand& command, Executor& executor,
                         UniqueFunction<void()> done) {
  touch(now_ns());
  command.controller = this;
  command.unit = nullptr;
  command.status = GenericStatus::success;
  command.result_dw0 = 0;
  command.result_dw1 = 0;
  command.data_in_length = 0;
  command.tag = (uint64_t{queue.id} << 16) | command.sqe.cid;
  command.core.executor = &executor;
  command.core.done = std::move(done);
  if (command.sqe.is_fabrics()) return execute_fabrics(queue, command);
  // SGLs only (NVMe over Fabrics 1.1, "Submission Queue Entry"): PSDT 01b or 10b.
  if (command.sqe.psdt == DataPointerType::prp || command.sqe.psdt == DataPointerType::reserved) {
    return finish(command, CompletionStatus(GenericStatus::invalid_field).no_retry());
  }
  // MDTS bounds every transfer (Identify Controller reports it): nothing a host asks for makes
  // the core allocate more, whatever the front-end checked before.
  if (subsystem_.beyond_max_transfer(command)) {
    return finish(command, CompletionStatus(GenericStatus::invalid_field).no_retry());
  }
  if (queue.id == 0) return execute_admin(queue, command);
  if (!ready()) return finish(command, GenericStatus::command_sequence_error);
  execute_io(queue, command);
}

void Controller::finish(NvmeCommand& command, CompletionStatus status) {
  command.status = status;
  if (!status.ok()) command.data_in_length = 0;
  auto done = std::move(command.core.done);
  done();
}

void Controller::execute_fabrics(QueueContext& queue, NvmeCommand& command) {
  auto decoded = decode_fabrics_command(command.sqe);
  if (auto* status = std::get_if<CompletionStatus>(&decoded)) return finish(command, *status);
  const auto& fabrics = std::get<FabricsCommand>(decoded);
  switch (fabrics.type) {
    case FabricsType::property_get:
      if (queue.id != 0) break;
      return property_get(command, std::get<PropertyGetCommand>(fabrics.body));
    case FabricsType::property_set:
      if (queue.id != 0) break;
      return property_set(command, std::get<PropertySetCommand>(fabrics.body));
    case FabricsType::connect:
      // The queue is connected already (its front-end answers the first Connect).
      return finish(command, CompletionStatus(GenericStatus::command_sequence_error).no_retry());
    case FabricsType::disconnect:
      // The front-end closes the queue after this answer.
      return finish(command, GenericStatus::success);
    case FabricsType::authentication_send:
    case FabricsType::authentication_receive:
      break;  // no in-band authentication: Connect never asks for it
  }
  finish(command, CompletionStatus(GenericStatus::invalid_opcode).no_retry());
}

void Controller::property_get(NvmeCommand& command, const PropertyGetCommand& get) {
  const auto& config = subsystem_.config();
  switch (get.offset) {
    case kPropertyCap: {
      if (!get.eight_bytes) break;
      // MQES (15:0, 0's based), CQR (16: contiguous queues), TO (31:24, in 500 ms: how long
      // the host waits for CSTS.RDY), CSS bit 37 (NVM command set); MPSMIN = MPSMAX = 0 (4 KiB).
      const uint64_t cap = uint64_t{static_cast<uint16_t>(config.max_queue_size - 1)} | (1ull << 16) |
                           (uint64_t{15} << 24) | (1ull << 37);
      command.result_dw0 = static_cast<uint32_t>(cap);
      command.result_dw1 = static_cast<uint32_t>(cap >> 32);
      return finish(command, GenericStatus::success);
    }
    case kPropertyVersion:
      if (get.eight_bytes) break;
      command.result_dw0 = kReportedVersion;
      return finish(command, GenericStatus::success);
    case kPropertyCc:
      if (get.eight_bytes) break;
      command.result_dw0 = cc_.load(std::memory_order_acquire);
      return finish(command, GenericStatus::success);
    case kPropertyCsts:
      if (get.eight_bytes) break;
      command.result_dw0 = csts_.load(std::memory_order_acquire);
      return finish(command, GenericStatus::success);
    default:
      break;
  }
  finish(command, CompletionStatus(GenericStatus::invalid_field).no_retry());
}

void Controller::property_set(NvmeCommand& command, const PropertySetCommand& set) {
  if (set.offset != kPropertyCc || set.eight_bytes) {
    return finish(command, CompletionStatus(GenericStatus::invalid_field).no_retry());
  }
  const auto cc = static_cast<uint32_t>(set.value);
  const uint32_t before = cc_.exchange(cc, std::memory_order_acq_rel);
  uint32_t csts = csts_.load(std::memory_order_acquire);
  if ((cc & kCcEnable) != 0 && (before & kCcEnable) == 0) {
    // Enabling: CSS (6:4) NVM, MPS (10:7) 4 KiB, AMS (13:11) round robin, IOSQES (19:16) 64
    // bytes, IOCQES (23:20) 16 bytes — anything else is a configuration this controller cannot
    // run, reported as Controller Fatal Status (as nvmet does).
    const bool valid = ((cc >> 4) & 0x7) == 0 && ((cc >> 7) & 0xf) == 0 && ((cc >> 11) & 0x7) == 0 &&
                       ((cc >> 16) & 0xf) == 6 && ((cc >> 20) & 0xf) == 4;
    csts = valid ? (csts | kCstsReady) & ~kCstsFatal : csts | kCstsFatal;
    if (!valid) spdlog::warn("{}: controller {}: invalid CC {:08x}h from host {}", subsystem_.nqn(), id_, cc, host_nqn_);
  } else if ((cc & kCcEnable) == 0 && (before & kCcEnable) != 0) {
    csts &= ~kCstsReady;
  }
  if ((cc & kCcShutdownMask) != 0 && (before & kCcShutdownMask) == 0) {
    // Shutdown: whatever a volatile cache holds becomes durable before CSTS.SHST says complete.
    csts_.store((csts & ~(3u << 2)) | kCstsShutdownOccurring, std::memory_order_release);
    auto self = shared_from_this();
    const auto namespaces = subsystem_.namespaces();
    auto remaining = std::make_shared<std::atomic<size_t>>(namespaces->size() + 1);
    auto one_done = [self, remaining]() {
      if (remaining->fetch_sub(1) != 1) return;
      const uint32_t now = self->csts_.load(std::memory_order_acquire);
      self->csts_.store((now & ~(3u << 2)) | kCstsShutdownComplete, std::memory_order_release);
    };
    for (const auto& [nsid, unit] : *namespaces) {
      unit->device().flush(*command.core.executor, [self, nsid = nsid, one_done](IoStatus status) mutable {
        if (!status.ok()) {
          spdlog::error("{}: controller {}: flush of namespace {} at shutdown failed: {}", self->subsystem_.nqn(),
                        self->id_, nsid, errno_text(status.error));
        }
        one_done();
      });
    }
    one_done();
  } else {
    csts_.store(csts, std::memory_order_release);
  }
  finish(command, GenericStatus::success);
}

void Controller::execute_admin(QueueContext& queue, NvmeCommand& command) {
  (void)queue;
  const uint8_t opcode = command.sqe.opcode;
  // Before CC.EN = 1 only the Fabrics commands run (NVMe over Fabrics 1.1: the host enables the
  // controller with Property Set first).
  if (!ready()) return finish(command, GenericStatus::command_sequence_error);
  if (command.sqe.fuse != FusedOperation::normal) {
    return finish(command, CompletionStatus(GenericStatus::invalid_field).no_retry());
  }
  switch (opcode) {
    case kIdentify: return identify(command);
    case kGetLogPage: return get_log_page(command);
    case kSetFeatures: return set_features(command);
    case kGetFeatures: return get_features(command);
    case kAsyncEventRequest: return async_event_request(command);
    case kKeepAlive: return finish(command, GenericStatus::success);
    case kAbort: return abort_command(command);
    default: break;
  }
  finish(command, CompletionStatus(GenericStatus::invalid_opcode).no_retry());
}

void Controller::abort_command(NvmeCommand& command) {
  // CDW10: SQID (15:0), CID (31:16). DW0 bit 0 set: not aborted. Only I/O commands are in a
  // unit's task set; an admin command (an Asynchronous Event Request) is not aborted.
  const uint32_t cdw10 = command.sqe.cdw(10);
  const uint16_t sqid = static_cast<uint16_t>(cdw10);
  const uint16_t cid = static_cast<uint16_t>(cdw10 >> 16);
  const auto namespace_set = subsystem_.namespaces();
  const auto& namespaces = *namespace_set;
  if (sqid == 0 || namespaces.empty()) {
    command.result_dw0 = 1;
    return finish(command, GenericStatus::success);
  }
  const uint64_t tag = (uint64_t{sqid} << 16) | cid;
  auto found = std::make_shared<std::atomic<bool>>(false);
  auto remaining = std::make_shared<std::atomic<size_t>>(namespaces.size());
  auto self = shared_from_this();
  for (const auto& [nsid, unit] : namespaces) {
    unit->abort_task(key_, tag, *command.core.executor, [self, &command, found, remaining, u = unit](bool aborted) {
      if (aborted) {
        found->store(true);
        u->metrics().count_task_management(TaskManagementKind::abort_task);  // the unit that had it
      }
      if (remaining->fetch_sub(1) != 1) return;
      command.result_dw0 = found->load() ? 0 : 1;
      self->finish(command, GenericStatus::success);
    });
  }
}

void Controller::async_event_request(NvmeCommand& command) {
  std::unique_lock lock(async_mutex_);
  if (async_requests_.size() >= kAsyncEventLimit) {
    lock.unlock();
    return finish(command, CompletionStatus(CommandSpecificStatus::async_event_limit_exceeded).no_retry());
  }
  async_requests_.push_back({&command, command.core.executor});
  deliver_async_events();
}

void Controller::deliver_async_events() {
  // async_mutex_ is held. Each delivered event masks its log page until the host reads it
  // (NVMe Base 2.0, "Asynchronous Event Request command": events of a type are not sent again
  // until the host has read the log page).
  while (!async_requests_.empty() && !async_events_.empty()) {
    const AsyncEvent event = async_events_.front();
    async_events_.pop_front();
    const auto page = static_cast<uint8_t>(event.log_page);
    if (masked_log_pages_.count(page) != 0) continue;
    masked_log_pages_.insert(page);
    PendingRequest request = async_requests_.front();
    async_requests_.pop_front();
    request.command->result_dw0 = encode_async_event(event);
    request.executor->post([self = shared_from_this(), command = request.command]() {
      self->finish(*command, GenericStatus::success);
    });
  }
}

void Controller::raise_async_event(const AsyncEvent& event, uint32_t enable_bit) {
  std::lock_guard lock(async_mutex_);
  if (enable_bit != 0 && (async_event_config_ & enable_bit) == 0) return;
  const auto page = static_cast<uint8_t>(event.log_page);
  if (masked_log_pages_.count(page) != 0) return;  // the host has not read the page yet
  if (std::find(async_events_.begin(), async_events_.end(), event) == async_events_.end()) {
    async_events_.push_back(event);
  }
  deliver_async_events();
}

std::vector<DiscoveryEntry> Controller::discovery_entries() const {
  const auto& entries = subsystem_.config().discovery_entries;
  return entries ? entries(host_nqn_) : std::vector<DiscoveryEntry>{};
}

void Controller::check_discovery_log() {
  if (!subsystem_.discovery()) return;
  {
    std::lock_guard lock(async_mutex_);
    if ((async_event_config_ & kAecDiscoveryChange) == 0 || async_requests_.empty()) return;
  }
  const uint64_t generation = discovery_generation(discovery_entries());
  {
    std::lock_guard lock(async_mutex_);
    const uint64_t seen = std::exchange(discovery_generation_seen_, generation);
    if (seen == 0 || seen == generation) return;
    // Told already and not read since: the host reads the newest list when it does.
    if (masked_log_pages_.count(static_cast<uint8_t>(LogPageId::discovery)) != 0) return;
  }
  spdlog::info("nvme: discovery log of host {} changed: controller {} tells it", host_nqn_, id_);
  raise_async_event({AsyncEventType::notice, kNoticeDiscoveryLogChanged, LogPageId::discovery}, kAecDiscoveryChange);
}

void Controller::on_notice(uint32_t nsid, Notice notice) {
  switch (notice) {
    case Notice::registrations_preempted:
    case Notice::reservations_preempted:
    case Notice::reservations_released: {
      const auto type = reservation_notice_for(notice);
      if (!type) return;
      {
        std::lock_guard lock(async_mutex_);
        auto mask = reservation_masks_.find(nsid);
        const uint32_t bit = 1u << static_cast<uint8_t>(*type);
        if (mask != reservation_masks_.end() && (mask->second & bit) != 0) return;
        // At most 255 waiting (the page's Number of Available Log Pages); older ones go first.
        if (reservation_notices_.size() >= 255) reservation_notices_.pop_front();
        reservation_log_count_ = next_reservation_log_count(reservation_log_count_);
        reservation_notices_.push_back({reservation_log_count_, *type, 0, nsid});
      }
      if (auto event = async_event_for(notice)) raise_async_event(*event, 0);
      return;
    }
    case Notice::access_state_changed:
      subsystem_.count_ana_change();
      if (auto event = async_event_for(notice)) raise_async_event(*event, kAecAnaChange);
      return;
    case Notice::capacity_changed: {
      {
        std::lock_guard lock(async_mutex_);
        if (std::find(changed_nsids_.begin(), changed_nsids_.end(), nsid) == changed_nsids_.end()) {
          if (changed_nsids_.size() >= kMaxChangedNamespaces) {
            changed_nsids_overflowed_ = true;
          } else {
            changed_nsids_.push_back(nsid);
          }
        }
      }
      if (auto event = async_event_for(notice)) raise_async_event(*event, kAecNamespaceAttribute);
      return;
    }
    case Notice::reset_occurred:
    case Notice::commands_cleared_by_another_initiator:
    case Notice::mode_parameters_changed:
      return;  // SCSI's: an NVMe host has no unit attention to learn them from
  }
}

void Controller::release_queue(QueueContext& queue) {
  if (queue.fused_first != nullptr) {
    NvmeCommand* first = queue.fused_first;
    queue.fused_first = nullptr;
    end_fused_missing(*first);
  }
  if (queue.id != 0) return;
  std::deque<PendingRequest> requests;
  {
    std::lock_guard lock(async_mutex_);
    requests.swap(async_requests_);
  }
  for (auto& request : requests) finish(*request.command, GenericStatus::aborted_sq_deletion);
}

std::optional<CompletionStatus> Controller::access_refusal(Unit& unit) const {
  if (!unit.state_is_current()) {
    // This gateway cannot prove its cached reservations and aborts are current: serving could
    // let a preempted host write. ANA Transition is a path status: a multipathing host retries
    // the command through another controller at once and re-reads this one's ANA log, which
    // reports the group in change state until the state is re-read.
    unit.retry_stale_reload();
    return PathStatus::ana_transition;
  }
  switch (unit.access_state(initiator_.target_port_group_id)) {
    case AluaState::active_optimized:
    case AluaState::active_non_optimized: return std::nullopt;
    case AluaState::transitioning: return PathStatus::ana_transition;
    case AluaState::standby:
    case AluaState::unavailable: return PathStatus::ana_inaccessible;
  }
  return std::nullopt;
}

}  // namespace portico::nvme
