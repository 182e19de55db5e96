// Admin commands a host sends (NVMe Base 2.0, "Admin Command Set"): Identify, Get Log Page,
// Set / Get Features, Keep Alive, Abort. Each has an SQE builder (for tests and pipelining) and
// a blocking helper that runs it on a queue; a helper turns an unsuccessful completion into a
// Status that names the command and the NVMe status.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/common/result.h"
#include "core/nvme/features.h"
#include "tools/nvme_tcp/command.h"
#include "tools/nvme_tcp/host_queue.h"
#include "tools/nvme_tcp/identify_data.h"

namespace portico::nvme_host {

namespace admin_opcode {
inline constexpr uint8_t kGetLogPage = 0x02;
inline constexpr uint8_t kIdentify = 0x06;
inline constexpr uint8_t kAbort = 0x08;
inline constexpr uint8_t kSetFeatures = 0x09;
inline constexpr uint8_t kGetFeatures = 0x0a;
inline constexpr uint8_t kAsyncEventRequest = 0x0c;
inline constexpr uint8_t kKeepAlive = 0x18;
}  // namespace admin_opcode

struct LogPageArgs {
  uint8_t lid = 0;
  uint32_t nsid = nvme::kBroadcastNsid;  // controller-wide pages: all namespaces, as Linux asks
  uint8_t lsp = 0;
  bool retain_async_event = false;  // RAE
  uint16_t lsi = 0;
  uint64_t offset = 0;    // bytes, dword aligned
  uint32_t length = 512;  // bytes, a non-zero multiple of 4
  uint8_t csi = 0;
};

Sqe identify_sqe(uint8_t cns, uint32_t nsid, uint16_t cntid = 0);
Sqe get_log_page_sqe(const LogPageArgs& args);
Sqe set_features_sqe(uint8_t fid, uint32_t value, bool save = false, uint32_t nsid = 0);
Sqe get_features_sqe(uint8_t fid, nvme::FeatureSelect select = nvme::FeatureSelect::current, uint32_t cdw11 = 0,
                     uint32_t nsid = 0);
Sqe keep_alive_sqe();
Sqe abort_sqe(uint16_t sqid, uint16_t cid);

Result<std::vector<uint8_t>> identify(Queue& admin, uint8_t cns, uint32_t nsid, uint16_t cntid = 0);
Result<ControllerIdentity> identify_controller(Queue& admin);
Result<NamespaceIdentity> identify_namespace(Queue& admin, uint32_t nsid);
Result<std::vector<uint8_t>> get_log_page(Queue& admin, const LogPageArgs& args);
// DW0 of the completion (what some features report back).
Result<uint32_t> set_features(Queue& admin, uint8_t fid, uint32_t value, bool save = false,
                              std::span<const uint8_t> data = {}, uint32_t nsid = 0);
Result<uint32_t> get_features(Queue& admin, uint8_t fid, nvme::FeatureSelect select = nvme::FeatureSelect::current,
                              uint32_t cdw11 = 0, std::span<uint8_t> data = {}, uint32_t nsid = 0);
// Number of Queues (FID 07h): asks for `io_queues` submission and completion queues; what the
// controller allocated.
Result<nvme::QueueCounts> set_number_of_queues(Queue& admin, uint16_t io_queues);
Status keep_alive(Queue& admin);
// True when the controller aborted the command (DW0 bit 0 clear).
Result<bool> abort_command(Queue& admin, uint16_t sqid, uint16_t cid);

}  // namespace portico::nvme_host
