#include "tools/nvme_tcp/admin_commands.h"

#include <string>

#include "tools/nvme_tcp/status_text.h"

namespace portico::nvme_host {
namespace {

Result<Completion> run(Queue& admin, const Sqe& sqe, std::span<const uint8_t> data_out = {},
                       std::span<uint8_t> data_in = {}) {
  Command command;
  command.sqe = sqe;
  command.data_out = data_out;
  command.data_in = data_in;
  return admin.execute(command);
}

}  // namespace

Sqe identify_sqe(uint8_t cns, uint32_t nsid, uint16_t cntid) {
  Sqe sqe = make_sqe(admin_opcode::kIdentify, nsid);
  set_cdw(sqe, 10, cns | (uint32_t{cntid} << 16));
  return sqe;
}

Sqe get_log_page_sqe(const LogPageArgs& args) {
  // NUMD is 0's based dwords split in NUMDL (CDW10 31:16) and NUMDU (CDW11 15:0).
  const uint32_t numd = args.length / 4 - 1;
  Sqe sqe = make_sqe(admin_opcode::kGetLogPage, args.nsid);
  set_cdw(sqe, 10, args.lid | (uint32_t{args.lsp & 0x7fu} << 8) | (args.retain_async_event ? 1u << 15 : 0u) |
                       ((numd & 0xffffu) << 16));
  set_cdw(sqe, 11, (numd >> 16) | (uint32_t{args.lsi} << 16));
  set_cdw(sqe, 12, static_cast<uint32_t>(args.offset));
  set_cdw(sqe, 13, static_cast<uint32_t>(args.offset >> 32));
  set_cdw(sqe, 14, uint32_t{args.csi} << 24);
  return sqe;
}

Sqe set_features_sqe(uint8_t fid, uint32_t value, bool save, uint32_t nsid) {
  Sqe sqe = make_sqe(admin_opcode::kSetFeatures, nsid);
  set_cdw(sqe, 10, fid | (save ? 1u << 31 : 0u));
  set_cdw(sqe, 11, value);
  return sqe;
}

Sqe get_features_sqe(uint8_t fid, nvme::FeatureSelect select, uint32_t cdw11, uint32_t nsid) {
  Sqe sqe = make_sqe(admin_opcode::kGetFeatures, nsid);
  set_cdw(sqe, 10, fid | (uint32_t{static_cast<uint8_t>(select)} << 8));
  set_cdw(sqe, 11, cdw11);
  return sqe;
}

Sqe keep_alive_sqe() { return make_sqe(admin_opcode::kKeepAlive); }

Sqe abort_sqe(uint16_t sqid, uint16_t cid) {
  Sqe sqe = make_sqe(admin_opcode::kAbort);
  set_cdw(sqe, 10, sqid | (uint32_t{cid} << 16));
  return sqe;
}

Result<std::vector<uint8_t>> identify(Queue& admin, uint8_t cns, uint32_t nsid, uint16_t cntid) {
  std::vector<uint8_t> data(nvme::kIdentifySize);
  auto done = run(admin, identify_sqe(cns, nsid, cntid), {}, data);
  const std::string what = admin.name() + ": Identify CNS " + std::to_string(cns) + " NSID " + std::to_string(nsid);
  if (Status s = require_success(done, what); !s.ok()) return s;
  return data;
}

Result<ControllerIdentity> identify_controller(Queue& admin) {
  auto data = identify(admin, static_cast<uint8_t>(nvme::IdentifyCns::controller), 0);
  if (!data.ok()) return data.status();
  return parse_identify_controller(IdentifyData(data->data(), nvme::kIdentifySize));
}

Result<NamespaceIdentity> identify_namespace(Queue& admin, uint32_t nsid) {
  auto data = identify(admin, static_cast<uint8_t>(nvme::IdentifyCns::namespace_data), nsid);
  if (!data.ok()) return data.status();
  return parse_identify_namespace(IdentifyData(data->data(), nvme::kIdentifySize));
}

Result<std::vector<uint8_t>> get_log_page(Queue& admin, const LogPageArgs& args) {
  if (args.length == 0 || args.length % 4 != 0 || args.offset % 4 != 0) {
    return error(ErrorCode::invalid_argument, "Get Log Page: length and offset must be multiples of 4 bytes");
  }
  std::vector<uint8_t> data(args.length);
  auto done = run(admin, get_log_page_sqe(args), {}, data);
  if (Status s = require_success(done, admin.name() + ": Get Log Page " + std::to_string(args.lid)); !s.ok()) return s;
  return data;
}

Result<uint32_t> set_features(Queue& admin, uint8_t fid, uint32_t value, bool save, std::span<const uint8_t> data,
                              uint32_t nsid) {
  auto done = run(admin, set_features_sqe(fid, value, save, nsid), data);
  if (Status s = require_success(done, admin.name() + ": Set Features FID " + std::to_string(fid)); !s.ok()) return s;
  return done->cqe.dw0;
}

Result<uint32_t> get_features(Queue& admin, uint8_t fid, nvme::FeatureSelect select, uint32_t cdw11,
                              std::span<uint8_t> data, uint32_t nsid) {
  auto done = run(admin, get_features_sqe(fid, select, cdw11, nsid), {}, data);
  if (Status s = require_success(done, admin.name() + ": Get Features FID " + std::to_string(fid)); !s.ok()) return s;
  return done->cqe.dw0;
}

Result<nvme::QueueCounts> set_number_of_queues(Queue& admin, uint16_t io_queues) {
  const nvme::QueueCounts wanted{io_queues, io_queues};
  auto dw0 = set_features(admin, static_cast<uint8_t>(nvme::FeatureId::number_of_queues),
                          nvme::encode_queue_counts(wanted));
  if (!dw0.ok()) return dw0.status();
  // DW0 has the same layout as CDW11: NSQA 15:0, NCQA 31:16, 0's based.
  return nvme::QueueCounts{(*dw0 & 0xffffu) + 1, (*dw0 >> 16) + 1};
}

Status keep_alive(Queue& admin) {
  return require_success(run(admin, keep_alive_sqe()), admin.name() + ": Keep Alive");
}

Result<bool> abort_command(Queue& admin, uint16_t sqid, uint16_t cid) {
  auto done = run(admin, abort_sqe(sqid, cid));
  const std::string what = admin.name() + ": Abort SQID " + std::to_string(sqid) + " CID " + std::to_string(cid);
  if (Status s = require_success(done, what); !s.ok()) return s;
  return (done->cqe.dw0 & 0x1u) == 0;
}

}  // namespace portico::nvme_host
