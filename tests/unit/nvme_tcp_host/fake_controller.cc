#include "tests/unit/nvme_tcp_host/fake_controller.h"

#include <algorithm>
#include <cstring>

#include "core/common/little_endian.h"
#include "core/nvme/features.h"
#include "core/nvme/identify.h"

namespace portico::nvme_host::test {
namespace {

using nvme::GenericStatus;

Answer status_only(nvme::CompletionStatus status, uint32_t dw0 = 0) { return Answer{status, dw0, {}}; }

}  // namespace

FakeController::FakeController(FakeControllerConfig config)
    : config_(std::move(config)), media_(config_.block_size * config_.blocks, 0) {}

Answer FakeController::execute(uint16_t& queue_id, const nvme::SubmissionEntry& sqe, std::vector<uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(ReceivedCommand{queue_id, sqe, data});
  }
  if (sqe.is_fabrics()) return fabrics(queue_id, sqe, data);
  return queue_id == 0 ? admin(sqe) : io(sqe, data);
}

Answer FakeController::fabrics(uint16_t& queue_id, const nvme::SubmissionEntry& sqe,
                               const std::vector<uint8_t>& data) {
  auto decoded = nvme::decode_fabrics_command(sqe);
  if (auto* status = std::get_if<nvme::CompletionStatus>(&decoded)) return status_only(*status);
  const auto& cmd = std::get<nvme::FabricsCommand>(decoded);
  std::lock_guard lock(mutex_);
  switch (cmd.type) {
    case nvme::FabricsType::connect: {
      const auto& connect = std::get<nvme::ConnectCommand>(cmd.body);
      auto parsed = nvme::decode_connect_data(data);
      if (auto* refused = std::get_if<nvme::ConnectRejection>(&parsed)) return status_only(refused->status, refused->dw0);
      const auto& cd = std::get<nvme::ConnectData>(parsed);
      connects_.push_back(cd);
      // An I/O queue joins the controller its CNTLID names (NVMe over Fabrics 1.1, Connect).
      if (connect.queue_id != 0 && cd.controller_id != config_.controller_id) {
        return status_only(nvme::CommandSpecificStatus::connect_invalid_parameters,
                           nvme::connect_invalid_parameter_dw0(true, 16));
      }
      queue_id = connect.queue_id;
      host_id_ = cd.host_id;
      return status_only(GenericStatus::success, nvme::connect_success_dw0(config_.controller_id));
    }
    case nvme::FabricsType::property_get: {
      const auto& get = std::get<nvme::PropertyGetCommand>(cmd.body);
      Answer a;
      if (get.offset == 0x00) {  // CAP: MQES, TO = 1 (500 ms)
        a.dw0 = (config_.max_queue_entries - 1u) | (1u << 24);
      } else if (get.offset == 0x08) {
        a.dw0 = nvme::kVersion2_0;
      } else if (get.offset == 0x14) {
        a.dw0 = cc_;
      } else if (get.offset == 0x1c) {  // CSTS: RDY follows EN, SHST complete once SHN is set
        a.dw0 = (cc_ & 0x1u) | ((cc_ & (3u << 14)) != 0 ? 2u << 2 : 0u);
      } else {
        a.status = GenericStatus::invalid_field;
      }
      return a;
    }
    case nvme::FabricsType::property_set:
      cc_ = static_cast<uint32_t>(std::get<nvme::PropertySetCommand>(cmd.body).value);
      return {};
    case nvme::FabricsType::disconnect:
      return {};
    default:
      return status_only(GenericStatus::invalid_opcode);
  }
}

Answer FakeController::admin(const nvme::SubmissionEntry& sqe) {
  const uint32_t cdw10 = sqe.cdw(10);
  switch (sqe.opcode) {
    case 0x06: {  // Identify
      if ((cdw10 & 0xff) == 0x01) {
        nvme::ControllerInfo info;
        info.serial = "FAKE0001";
        info.model = "Portico fake controller";
        info.firmware = "1.0";
        info.controller_id = config_.controller_id;
        info.max_commands = config_.max_queue_entries;
        info.namespace_count = 1;
        info.subsystem_nqn = config_.subsystem_nqn;
        info.in_capsule_data_bytes = config_.in_capsule_data;
        return Answer{{}, 0, nvme::identify_controller(info)};
      }
      if ((cdw10 & 0xff) == 0x00 && sqe.nsid == 1) {
        nvme::NamespaceInfo info;
        info.size_blocks = info.capacity_blocks = info.used_blocks = config_.blocks;
        info.block_size = config_.block_size;
        info.identity.naa = 0x6001405abcdef012ull;
        return Answer{{}, 0, nvme::identify_namespace(info)};
      }
      return status_only(nvme::CompletionStatus(GenericStatus::invalid_namespace).no_retry());
    }
    case 0x09: {  // Set Features
      if ((cdw10 & 0xff) != static_cast<uint8_t>(nvme::FeatureId::number_of_queues)) return {};
      auto wanted = nvme::decode_queue_request(sqe.cdw(11));
      if (!wanted) return status_only(GenericStatus::invalid_field);
      const uint32_t n = std::min<uint32_t>(wanted->submission, config_.queues_granted);
      return status_only(GenericStatus::success, nvme::encode_queue_counts({n, n}));
    }
    case 0x0a:  // Get Features: answers the FID and SEL back, which the test checks
      return status_only(GenericStatus::success, 0xabc00000u | (cdw10 & 0x7ff));
    case 0x02: {  // Get Log Page: byte i of the page is i + LID
      const uint32_t numd = (cdw10 >> 16) | ((sqe.cdw(11) & 0xffff) << 16);
      std::vector<uint8_t> page((numd + 1) * 4);
      for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i + (cdw10 & 0xff));
      return Answer{{}, 0, std::move(page)};
    }
    case 0x18: {  // Keep Alive
      std::lock_guard lock(mutex_);
      ++keep_alives_;
      return {};
    }
    case 0x08:  // Abort: DW0 bit 0 set, the command was not aborted
      return status_only(GenericStatus::success, 1);
    default:
      return status_only(nvme::CompletionStatus(GenericStatus::invalid_opcode).no_retry());
  }
}

std::optional<std::pair<size_t, size_t>> FakeController::range_of(const nvme::SubmissionEntry& sqe) const {
  const uint64_t slba = sqe.cdw(10) | (uint64_t{sqe.cdw(11)} << 32);
  const uint64_t blocks = (sqe.cdw(12) & 0xffff) + 1u;
  if (slba + blocks > config_.blocks) return std::nullopt;
  return std::make_pair(static_cast<size_t>(slba * config_.block_size), static_cast<size_t>(blocks * config_.block_size));
}

Answer FakeController::io(const nvme::SubmissionEntry& sqe, const std::vector<uint8_t>& data) {
  if (sqe.nsid != 1) return status_only(nvme::CompletionStatus(GenericStatus::invalid_namespace).no_retry());
  std::lock_guard lock(mutex_);
  switch (sqe.opcode) {
    case 0x00:  // Flush
      return {};
    case 0x01:    // Write
    case 0x02:    // Read
    case 0x05: {  // Compare
      auto range = range_of(sqe);
      if (!range) return status_only(GenericStatus::lba_out_of_range);
      auto [offset, length] = *range;
      const auto at = media_.begin() + static_cast<std::ptrdiff_t>(offset);
      if (sqe.opcode == 0x02) return Answer{{}, 0, std::vector<uint8_t>(at, at + static_cast<std::ptrdiff_t>(length))};
      if (data.size() != length) return status_only(GenericStatus::data_sgl_length_invalid);
      if (sqe.opcode == 0x01) {
        std::copy(data.begin(), data.end(), at);
        return {};
      }
      return std::equal(data.begin(), data.end(), at) ? Answer{} : status_only(nvme::MediaStatus::compare_failure);
    }
    case 0x0d:  // Reservation Register: NRKEY at 8 of the data
      registered_key_ = data.size() >= 16 ? load_le64(data.data() + 8) : 0;
      return {};
    case 0x11:
    case 0x15:
      return {};
    case 0x0e:
      return reservation_report(sqe);
    default:
      return status_only(nvme::CompletionStatus(GenericStatus::invalid_opcode).no_retry());
  }
}

// One registrant, this host, holding a Write Exclusive reservation; generation 7, PTPL set.
// Written by hand (extended format only) so that the host's parser is checked against bytes,
// not against itself.
Answer FakeController::reservation_report(const nvme::SubmissionEntry& sqe) const {
  if ((sqe.cdw(11) & 0x1) == 0) return status_only(GenericStatus::host_identifier_inconsistent);
  std::vector<uint8_t> report(128, 0);
  store_le32(report.data(), 7);
  report[4] = 1;
  store_le16(report.data() + 5, 1);
  report[9] = 1;
  uint8_t* entry = report.data() + 64;
  store_le16(entry, 0xffff);
  entry[2] = 1;
  store_le64(entry + 8, registered_key_);
  std::copy(host_id_.begin(), host_id_.end(), entry + 16);
  report.resize(std::min<size_t>(report.size(), (sqe.cdw(10) + 1u) * 4u));
  return Answer{{}, 0, std::move(report)};
}

std::pair<Answer, Answer> FakeController::execute_fused(uint16_t queue_id, const nvme::SubmissionEntry& compare,
                                                        std::vector<uint8_t> compare_data,
                                                        const nvme::SubmissionEntry& write,
                                                        std::vector<uint8_t> write_data) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(ReceivedCommand{queue_id, compare, compare_data});
    commands_.push_back(ReceivedCommand{queue_id, write, write_data});
  }
  Answer first = io(compare, compare_data);
  if (!first.status.ok()) return {first, status_only(GenericStatus::aborted_fused_failure)};
  return {first, io(write, write_data)};
}

std::vector<ReceivedCommand> FakeController::commands() const {
  std::lock_guard lock(mutex_);
  return commands_;
}

std::vector<nvme::ConnectData> FakeController::connects() const {
  std::lock_guard lock(mutex_);
  return connects_;
}

std::vector<uint8_t> FakeController::media() const {
  std::lock_guard lock(mutex_);
  return media_;
}

void FakeController::fill_media(uint8_t value) {
  std::lock_guard lock(mutex_);
  std::fill(media_.begin(), media_.end(), value);
}

uint32_t FakeController::cc() const {
  std::lock_guard lock(mutex_);
  return cc_;
}

size_t FakeController::keep_alives() const {
  std::lock_guard lock(mutex_);
  return keep_alives_;
}

}  // namespace portico::nvme_host::test
