#include "tests/ceph/multi_gateway_initiator.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

namespace portico::testing::mgw {
namespace {

void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put_be64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint16_t be16(std::span<const uint8_t> d, size_t at) {
  return at + 2 <= d.size() ? static_cast<uint16_t>(d[at] << 8 | d[at + 1]) : 0;
}
uint32_t be32(std::span<const uint8_t> d, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && at + i < d.size(); ++i) v = v << 8 | d[at + i];
  return v;
}
uint64_t be64(std::span<const uint8_t> d, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && at + i < d.size(); ++i) v = v << 8 | d[at + i];
  return v;
}

ScsiResult result_of(iscsi_context* iscsi, int status, const scsi_task* task) {
  ScsiResult result;
  result.status = status;
  if (task == nullptr) {
    result.transport_error = iscsi_get_error(iscsi);
    return result;
  }
  if (status == SCSI_STATUS_CHECK_CONDITION) {
    result.sense_key = static_cast<uint8_t>(task->sense.key);
    result.asc = static_cast<uint8_t>(task->sense.ascq >> 8);
    result.ascq = static_cast<uint8_t>(task->sense.ascq);
    if (task->sense.sense_specific) result.sense_specific = task->sense.field_pointer;
  } else if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED || status == SCSI_STATUS_TIMEOUT) {
    result.transport_error = iscsi_get_error(iscsi);
  }
  if (task->datain.data != nullptr && task->datain.size > 0) {
    result.data.assign(task->datain.data, task->datain.data + task->datain.size);
  }
  return result;
}

}  // namespace

std::string ScsiResult::describe() const {
  char text[96];
  switch (status) {
    case status::kGood: return "GOOD";
    case status::kReservationConflict: return "RESERVATION CONFLICT";
    case status::kTaskAborted: return "TASK ABORTED";
    case status::kCheckCondition:
      std::snprintf(text, sizeof(text), "CHECK CONDITION sense %Xh %02Xh/%02Xh", sense_key, asc, ascq);
      return text;
    default:
      std::snprintf(text, sizeof(text), "status 0x%x", static_cast<unsigned>(status));
      return transport_error.empty() ? std::string(text) : std::string(text) + " (" + transport_error + ")";
  }
}

// A synchronous command's completion, filled by libiscsi's callback.
struct CommandSlot {
  bool done = false;
  ScsiResult result;
  std::vector<uint8_t> data_out;
  uint32_t tmf_response = 0xff;
};

namespace {

void on_command(iscsi_context* iscsi, int status, void* command_data, void* private_data) {
  auto* slot = static_cast<CommandSlot*>(private_data);
  auto* task = static_cast<scsi_task*>(command_data);
  slot->result = result_of(iscsi, status, task);
  slot->done = true;
  if (task != nullptr) scsi_free_scsi_task(task);
}

void on_async_command(iscsi_context* iscsi, int status, void* command_data, void* private_data) {
  auto* command = static_cast<AsyncCommand*>(private_data);
  auto* task = static_cast<scsi_task*>(command_data);
  command->result = result_of(iscsi, status, task);
  command->done = true;
  command->completed_at = std::chrono::steady_clock::now();
  if (task != nullptr) scsi_free_scsi_task(task);
}

void on_task_management(iscsi_context* iscsi, int status, void* command_data, void* private_data) {
  auto* slot = static_cast<CommandSlot*>(private_data);
  slot->result.status = status;
  if (status == SCSI_STATUS_GOOD && command_data != nullptr) {
    slot->tmf_response = *static_cast<uint32_t*>(command_data);
  } else {
    slot->result.transport_error = iscsi_get_error(iscsi);
  }
  slot->done = true;
}

}  // namespace

std::unique_ptr<Initiator> Initiator::connect(const std::string& portal, const std::string& initiator_name,
                                              std::string* error, int command_timeout_s) {
  iscsi_context* iscsi = iscsi_create_context(initiator_name.c_str());
  if (iscsi == nullptr) {
    *error = "iscsi_create_context failed";
    return nullptr;
  }
  iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_targetname(iscsi, kTargetIqn);
  iscsi_set_noautoreconnect(iscsi, 1);
  iscsi_set_timeout(iscsi, command_timeout_s);
  if (iscsi_full_connect_sync(iscsi, portal.c_str(), 0) != 0) {
    *error = "login to " + portal + " as " + initiator_name + ": " + iscsi_get_error(iscsi);
    iscsi_destroy_context(iscsi);
    return nullptr;
  }
  std::unique_ptr<Initiator> initiator(new Initiator(iscsi, portal, initiator_name));
  initiator->command_timeout_s_ = command_timeout_s;
  initiator->clear_unit_attentions();
  return initiator;
}

Initiator::Initiator(iscsi_context* context, std::string portal, std::string name)
    : iscsi_(context), portal_(std::move(portal)), name_(std::move(name)) {}

Initiator::~Initiator() {
  // Destroying the context completes every command still in flight (CANCELLED) into its slot.
  iscsi_destroy_context(iscsi_);
}

CommandSlot* Initiator::new_slot() {
  slots_.remove_if([](const std::unique_ptr<CommandSlot>& s) { return s->done; });
  slots_.push_back(std::make_unique<CommandSlot>());
  return slots_.back().get();
}

bool Initiator::wait_for(const CommandSlot* slot) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(command_timeout_s_ + 5);
  while (!slot->done) {
    if (std::chrono::steady_clock::now() > deadline || !poll_once(100)) return false;
  }
  return true;
}

ScsiResult Initiator::command(std::span<const uint8_t> cdb, int xfer_dir, uint32_t expected_in,
                              std::span<const uint8_t> data_out) {
  CommandSlot* slot = new_slot();
  std::vector<uint8_t> cdb_copy(cdb.begin(), cdb.end());
  const int length = xfer_dir == SCSI_XFER_WRITE ? static_cast<int>(data_out.size()) : static_cast<int>(expected_in);
  scsi_task* task = scsi_create_task(static_cast<int>(cdb_copy.size()), cdb_copy.data(), xfer_dir, length);
  ScsiResult failed;
  if (task == nullptr) {
    slot->done = true;
    failed.transport_error = "scsi_create_task failed";
    return failed;
  }
  slot->data_out.assign(data_out.begin(), data_out.end());
  iscsi_data data{slot->data_out.size(), slot->data_out.empty() ? nullptr : slot->data_out.data()};
  if (iscsi_scsi_command_async(iscsi_, 0, task, on_command, data.data != nullptr ? &data : nullptr, slot) != 0) {
    scsi_free_scsi_task(task);
    slot->done = true;
    failed.transport_error = std::string("cannot queue the command: ") + iscsi_get_error(iscsi_);
    return failed;
  }
  if (!wait_for(slot)) {
    failed.transport_error = std::string("no response: ") + iscsi_get_error(iscsi_);
    return failed;  // the slot stays until a late callback or the context's destruction
  }
  return std::move(slot->result);
}

ScsiResult Initiator::test_unit_ready() {
  const uint8_t cdb[6] = {0x00};
  return command(cdb, SCSI_XFER_NONE, 0);
}

ScsiResult Initiator::sanitize(uint8_t byte1) {
  const uint8_t cdb[10] = {0x48, byte1};
  return command(cdb, SCSI_XFER_NONE, 0);
}

ScsiResult Initiator::read(uint64_t lba, uint32_t blocks) {
  uint8_t cdb[16] = {0x88};
  put_be64(cdb + 2, lba);
  put_be32(cdb + 10, blocks);
  return command(cdb, SCSI_XFER_READ, blocks * kBlockSize);
}

ScsiResult Initiator::write(uint64_t lba, std::span<const uint8_t> data) {
  uint8_t cdb[16] = {0x8a};
  put_be64(cdb + 2, lba);
  put_be32(cdb + 10, static_cast<uint32_t>(data.size() / kBlockSize));
  return command(cdb, SCSI_XFER_WRITE, 0, data);
}

ScsiResult Initiator::compare_and_write(uint64_t lba, std::span<const uint8_t> expected,
                                        std::span<const uint8_t> replacement) {
  uint8_t cdb[16] = {0x89};
  put_be64(cdb + 2, lba);
  cdb[13] = static_cast<uint8_t>(expected.size() / kBlockSize);
  std::vector<uint8_t> out(expected.begin(), expected.end());
  out.insert(out.end(), replacement.begin(), replacement.end());
  return command(cdb, SCSI_XFER_WRITE, 0, out);
}

ScsiResult Initiator::inquiry_vpd(uint8_t page) {
  uint8_t cdb[6] = {0x12, 0x01, page};
  put_be16(cdb + 3, 1024);
  return command(cdb, SCSI_XFER_READ, 1024);
}

ScsiResult Initiator::report_target_port_groups() {
  uint8_t cdb[12] = {0xa3, 0x0a};
  put_be32(cdb + 6, 4096);
  return command(cdb, SCSI_XFER_READ, 4096);
}

ScsiResult Initiator::persistent_reserve_in_read_keys() {
  uint8_t cdb[10] = {0x5e, 0x00};
  put_be16(cdb + 7, 4096);
  return command(cdb, SCSI_XFER_READ, 4096);
}

ScsiResult Initiator::persistent_reserve_out(PrOut action, uint64_t key, uint64_t service_action_key, uint8_t type) {
  uint8_t cdb[10] = {0x5f, static_cast<uint8_t>(action), static_cast<uint8_t>(type & 0x0f)};
  put_be32(cdb + 5, 24);
  uint8_t parameters[24] = {};
  put_be64(parameters, key);
  put_be64(parameters + 8, service_action_key);
  return command(cdb, SCSI_XFER_WRITE, 0, parameters);
}

bool Initiator::lun_reset(std::string* error) {
  CommandSlot* slot = new_slot();
  if (iscsi_task_mgmt_lun_reset_async(iscsi_, 0, on_task_management, slot) != 0) {
    slot->done = true;
    *error = std::string("cannot queue LOGICAL UNIT RESET: ") + iscsi_get_error(iscsi_);
    return false;
  }
  if (!wait_for(slot)) {
    *error = std::string("LOGICAL UNIT RESET got no response: ") + iscsi_get_error(iscsi_);
    return false;
  }
  if (slot->result.status != SCSI_STATUS_GOOD || slot->tmf_response != 0) {
    *error = "LOGICAL UNIT RESET failed: status " + std::to_string(slot->result.status) + ", response " +
             std::to_string(slot->tmf_response) + " " + slot->result.transport_error;
    return false;
  }
  return true;
}

std::vector<ScsiResult> Initiator::clear_unit_attentions(int limit) {
  std::vector<ScsiResult> seen;
  for (int i = 0; i < limit; ++i) {
    auto result = test_unit_ready();
    if (!result.has_sense(sense_key::kUnitAttention)) break;
    seen.push_back(std::move(result));
  }
  return seen;
}

bool Initiator::submit(AsyncCommand* command) {
  scsi_task* task = nullptr;
  if (command->data.empty()) {
    uint8_t cdb[6] = {0x00};
    task = scsi_create_task(6, cdb, SCSI_XFER_NONE, 0);
  } else {
    uint8_t cdb[16] = {0x8a};
    put_be64(cdb + 2, command->lba);
    put_be32(cdb + 10, static_cast<uint32_t>(command->data.size() / kBlockSize));
    task = scsi_create_task(16, cdb, SCSI_XFER_WRITE, static_cast<int>(command->data.size()));
  }
  if (task == nullptr) return false;
  iscsi_data data{command->data.size(), command->data.data()};
  if (iscsi_scsi_command_async(iscsi_, 0, task, on_async_command, command->data.empty() ? nullptr : &data,
                               command) != 0) {
    scsi_free_scsi_task(task);
    return false;
  }
  return true;
}

bool Initiator::poll_once(int timeout_ms, short events) {
  pollfd pfd{iscsi_get_fd(iscsi_), static_cast<short>(iscsi_which_events(iscsi_) & events), 0};
  if (pfd.fd < 0) return false;
  if (pfd.events == 0) {
    ::poll(nullptr, 0, std::min(timeout_ms, 100));
    return iscsi_service(iscsi_, 0) == 0;
  }
  const int ready = ::poll(&pfd, 1, timeout_ms);
  if (ready < 0) return errno == EINTR;
  short revents = ready > 0 ? pfd.revents : 0;
  // libiscsi acts on POLLHUP before it reads: responses the target sent just before closing
  // would be lost. Read them first, as a kernel initiator does; the next read sees the close.
  if ((revents & POLLIN) != 0) revents = static_cast<short>(revents & ~POLLHUP);
  return iscsi_service(iscsi_, revents) == 0;
}

int Initiator::in_flight() const { return iscsi_queue_length(iscsi_); }

int Initiator::queued_to_send() const { return iscsi_out_queue_length(iscsi_); }

RegisteredKeys parse_read_keys(std::span<const uint8_t> data) {
  RegisteredKeys keys;
  keys.generation = be32(data, 0);
  const size_t length = be32(data, 4);
  for (size_t at = 8; at + 8 <= data.size() && at + 8 <= 8 + length; at += 8) keys.keys.push_back(be64(data, at));
  return keys;
}

std::vector<PortGroupState> parse_target_port_groups(std::span<const uint8_t> data) {
  std::vector<PortGroupState> groups;
  const size_t end = std::min<size_t>(data.size(), 4 + size_t{be32(data, 0)});
  for (size_t at = 4; at + 8 <= end;) {
    PortGroupState group;
    group.state = data[at] & 0x0f;
    group.id = be16(data, at + 2);
    const size_t ports = data[at + 7];
    at += 8;
    for (size_t i = 0; i < ports && at + 4 <= end; ++i, at += 4) group.relative_ports.push_back(be16(data, at + 2));
    groups.push_back(std::move(group));
  }
  return groups;
}

DeviceIdentification parse_device_identification(std::span<const uint8_t> data) {
  DeviceIdentification id;
  const size_t end = std::min<size_t>(data.size(), 4 + size_t{be16(data, 2)});
  for (size_t at = 4; at + 4 <= end;) {
    const uint8_t association = (data[at + 1] >> 4) & 0x3;
    const uint8_t type = data[at + 1] & 0x0f;
    const size_t length = data[at + 3];
    if (at + 4 + length > end) break;
    const auto designator = data.subspan(at + 4, length);
    if (type == 0x3 && association == 0) id.naa.assign(designator.begin(), designator.end());
    if (type == 0x5 && length >= 4) id.target_port_group = be16(designator, 2);
    if (type == 0x4 && length >= 4) id.relative_target_port = be16(designator, 2);
    at += 4 + length;
  }
  return id;
}

std::vector<uint8_t> pattern(uint64_t tag, uint64_t lba, uint64_t generation, uint32_t blocks) {
  std::vector<uint8_t> data(size_t{blocks} * kBlockSize);
  for (uint32_t b = 0; b < blocks; ++b) {
    uint8_t* block = data.data() + size_t{b} * kBlockSize;
    uint64_t state = (tag * 0x9E3779B97F4A7C15ull) ^ ((lba + b) * 0x100000001B3ull) ^ (generation << 17);
    for (uint32_t i = 0; i < kBlockSize; i += 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      put_be64(block + i, state);
    }
    put_be64(block, tag);
    put_be64(block + 8, lba + b);
    put_be64(block + 16, generation);
  }
  return data;
}

std::string describe_pattern(std::span<const uint8_t> data) {
  if (data.size() < 24) return "(no data)";
  return "tag " + std::to_string(be64(data, 0)) + " lba " + std::to_string(be64(data, 8)) + " generation " +
         std::to_string(be64(data, 16));
}

uint64_t checksum(std::span<const uint8_t> data) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t byte : data) hash = (hash ^ byte) * 0x100000001b3ull;
  return hash;
}

}  // namespace portico::testing::mgw
