#include "tools/nvme_tcp/reservation_commands.h"

#include <algorithm>
#include <string>

#include "core/common/little_endian.h"
#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host {
namespace {

constexpr uint32_t kIekey = 1u << 3;

uint32_t action_cdw10(uint8_t action, bool iekey, uint8_t type) {
  return (action & 0x7u) | (iekey ? kIekey : 0u) | (uint32_t{type} << 8);
}

Command data_command(uint8_t opcode, uint32_t nsid, uint32_t cdw10, std::span<const uint8_t> data) {
  Command c;
  c.sqe = make_sqe(opcode, nsid);
  set_cdw(c.sqe, 10, cdw10);
  c.data_out = data;
  return c;
}

// Extended (EDS = 1): 64-byte header, 64-byte entries with CNTLID 0, RCSTS 2, RKEY 8, HOSTID 16.
// Compact (EDS = 0): 24-byte header, 24-byte entries with CNTLID 0, RCSTS 2, HOSTID 8, RKEY 16.
struct ReportLayout {
  size_t header;
  size_t entry;
  size_t key_at;
  size_t host_id_at;
  size_t host_id_bytes;
};
constexpr ReportLayout kExtended{64, 64, 8, 16, 16};
constexpr ReportLayout kCompact{24, 24, 16, 8, 8};

}  // namespace

Command register_command(const RegisterArgs& args, RegisterData& data) {
  store_le64(data.data(), args.current_key);
  store_le64(data.data() + 8, args.new_key);
  const uint32_t cdw10 = action_cdw10(static_cast<uint8_t>(args.action), args.ignore_existing_key, 0) |
                         (uint32_t{static_cast<uint8_t>(args.ptpl)} << 30);
  return data_command(reservation_opcode::kRegister, args.nsid, cdw10, data);
}

Command acquire_command(const AcquireArgs& args, AcquireData& data) {
  store_le64(data.data(), args.current_key);
  store_le64(data.data() + 8, args.preempt_key);
  return data_command(reservation_opcode::kAcquire, args.nsid,
                      action_cdw10(static_cast<uint8_t>(args.action), args.ignore_existing_key, args.type), data);
}

Command release_command(const ReleaseArgs& args, ReleaseData& data) {
  store_le64(data.data(), args.current_key);
  return data_command(reservation_opcode::kRelease, args.nsid,
                      action_cdw10(static_cast<uint8_t>(args.action), args.ignore_existing_key, args.type), data);
}

Command report_command(uint32_t nsid, bool extended, std::span<uint8_t> buffer) {
  Command c;
  c.sqe = make_sqe(reservation_opcode::kReport, nsid);
  set_cdw(c.sqe, 10, static_cast<uint32_t>(buffer.size() / 4 - 1));
  set_cdw(c.sqe, 11, extended ? 1u : 0u);
  c.data_in = buffer;
  return c;
}

Result<Completion> reservation_register(Queue& queue, const RegisterArgs& args) {
  RegisterData data{};
  return queue.execute(register_command(args, data));
}

Result<Completion> reservation_acquire(Queue& queue, const AcquireArgs& args) {
  AcquireData data{};
  return queue.execute(acquire_command(args, data));
}

Result<Completion> reservation_release(Queue& queue, const ReleaseArgs& args) {
  ReleaseData data{};
  return queue.execute(release_command(args, data));
}

ReservationStatus parse_reservation_report(std::span<const uint8_t> data, bool extended) {
  const ReportLayout& l = extended ? kExtended : kCompact;
  ReservationStatus status;
  if (data.size() < l.header) return status;
  const uint8_t* p = data.data();
  status.generation = load_le32(p);
  status.type = p[4];
  const uint16_t count = load_le16(p + 5);
  status.persist_through_power_loss = (p[9] & 0x1) != 0;
  for (size_t i = 0; i < count && l.header + (i + 1) * l.entry <= data.size(); ++i) {
    const uint8_t* e = p + l.header + i * l.entry;
    RegisteredHost host;
    host.controller_id = load_le16(e);
    host.holds_reservation = (e[2] & 0x1) != 0;
    host.key = load_le64(e + l.key_at);
    std::copy_n(e + l.host_id_at, l.host_id_bytes, host.host_id.begin());
    status.registrants.push_back(host);
  }
  return status;
}

Result<ReservationStatus> reservation_report(Queue& queue, uint32_t nsid, bool extended, uint32_t buffer_bytes) {
  if (buffer_bytes < 64 || buffer_bytes % 4 != 0) {
    return error(ErrorCode::invalid_argument, "Reservation Report: the buffer must be 64 bytes or more, in dwords");
  }
  std::vector<uint8_t> buffer(buffer_bytes);
  auto done = queue.execute(report_command(nsid, extended, buffer));
  if (Status s = require_success(done, queue.name() + ": Reservation Report NSID " + std::to_string(nsid)); !s.ok()) {
    return s;
  }
  return parse_reservation_report(std::span<const uint8_t>(buffer).first(std::min<size_t>(done->data_in_bytes, buffer.size())), extended);
}

}  // namespace portico::nvme_host
