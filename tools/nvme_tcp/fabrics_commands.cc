#include "tools/nvme_tcp/fabrics_commands.h"

#include <algorithm>
#include <cstdio>

#include "core/common/little_endian.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host {
namespace {

// Fabrics SQE fields (Linux: struct nvmf_connect_command, nvmf_property_*_command).
constexpr size_t kRecfmtOffset = 40;
constexpr size_t kQidOffset = 42;
constexpr size_t kSqsizeOffset = 44;
constexpr size_t kKatoOffset = 48;
constexpr size_t kAttribOffset = 40;
constexpr size_t kPropertyOffset = 44;
constexpr size_t kValueOffset = 48;

// Connect data fields (Linux: struct nvmf_connect_data).
constexpr size_t kCntlidOffset = 16;
constexpr size_t kSubnqnOffset = 256;
constexpr size_t kHostnqnOffset = 512;

void put_nqn(uint8_t* field, const std::string& nqn) {
  std::copy_n(nqn.begin(), std::min(nqn.size(), nvme::kNqnMaxLength), field);
}

Sqe property_sqe(nvme::FabricsType type, uint32_t offset, bool eight_bytes) {
  Sqe sqe = make_fabrics_sqe(type);
  sqe[kAttribOffset] = eight_bytes ? 1 : 0;
  store_le32(&sqe[kPropertyOffset], offset);
  return sqe;
}

std::string property_name(uint32_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "property 0x%02x", offset);
  return buf;
}

}  // namespace

std::array<uint8_t, nvme::kConnectDataSize> encode_connect_data(const ConnectArgs& args) {
  std::array<uint8_t, nvme::kConnectDataSize> data{};
  std::copy(args.host_id.begin(), args.host_id.end(), data.begin());
  store_le16(&data[kCntlidOffset], args.controller_id);
  put_nqn(&data[kSubnqnOffset], args.subsystem_nqn);
  put_nqn(&data[kHostnqnOffset], args.host_nqn);
  return data;
}

Sqe connect_sqe(const ConnectArgs& args) {
  Sqe sqe = make_fabrics_sqe(nvme::FabricsType::connect);
  store_le16(&sqe[kRecfmtOffset], 0);
  store_le16(&sqe[kQidOffset], args.queue_id);
  store_le16(&sqe[kSqsizeOffset], args.sq_size);
  store_le32(&sqe[kKatoOffset], args.keep_alive_ms);
  return sqe;
}

Sqe property_get_sqe(uint32_t offset, bool eight_bytes) {
  return property_sqe(nvme::FabricsType::property_get, offset, eight_bytes);
}

Sqe property_set_sqe(uint32_t offset, uint64_t value, bool eight_bytes) {
  Sqe sqe = property_sqe(nvme::FabricsType::property_set, offset, eight_bytes);
  store_le64(&sqe[kValueOffset], eight_bytes ? value : static_cast<uint32_t>(value));
  return sqe;
}

Sqe disconnect_sqe() { return make_fabrics_sqe(nvme::FabricsType::disconnect); }

Result<uint16_t> connect(Queue& queue, const ConnectArgs& args) {
  const auto data = encode_connect_data(args);
  Command command;
  command.sqe = connect_sqe(args);
  command.data_out = data;
  command.placement = DataPlacement::in_capsule;
  auto done = queue.execute(command);
  if (!done.ok()) return done.status();
  const std::string what = queue.name() + ": Connect to " + args.subsystem_nqn + " as " + args.host_nqn;
  if (!done->ok()) {
    Status failed = command_failed(what, done->cqe.status);
    const nvme::CompletionStatus invalid = nvme::CommandSpecificStatus::connect_invalid_parameters;
    if (done->cqe.status.combined() == invalid.combined()) {
      const uint32_t dw0 = done->cqe.dw0;
      return error(failed.code(), failed.message() + "; invalid field at byte " + std::to_string(dw0 & 0xffff) +
                                      ((dw0 & (1u << 16)) != 0 ? " of the Connect data" : " of the SQE"));
    }
    return failed;
  }
  return static_cast<uint16_t>(done->cqe.dw0 & 0xffff);
}

Result<uint64_t> property_get(Queue& queue, uint32_t offset, bool eight_bytes) {
  Command command;
  command.sqe = property_get_sqe(offset, eight_bytes);
  auto done = queue.execute(command);
  if (Status s = require_success(done, queue.name() + ": Property Get " + property_name(offset)); !s.ok()) return s;
  const uint64_t value = done->cqe.dw0 | (uint64_t{done->cqe.dw1} << 32);
  return eight_bytes ? value : value & 0xffffffffu;
}

Status property_set(Queue& queue, uint32_t offset, uint64_t value, bool eight_bytes) {
  Command command;
  command.sqe = property_set_sqe(offset, value, eight_bytes);
  return require_success(queue.execute(command), queue.name() + ": Property Set " + property_name(offset));
}

Status disconnect(Queue& queue) {
  Command command;
  command.sqe = disconnect_sqe();
  return require_success(queue.execute(command), queue.name() + ": Disconnect");
}

}  // namespace portico::nvme_host
