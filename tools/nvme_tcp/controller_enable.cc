#include "tools/nvme_tcp/controller_enable.h"

#include <thread>

#include "tools/nvme_tcp/fabrics_commands.h"

namespace portico::nvme_host {
namespace {

constexpr uint32_t kCstsReady = 1u << 0;
constexpr uint32_t kCstsFatal = 1u << 1;
constexpr uint32_t kCstsShutdownMask = 3u << 2;
constexpr uint32_t kCstsShutdownComplete = 2u << 2;
// A controller usually answers at once; polling gently beyond the first tries spares it.
constexpr std::chrono::milliseconds kPollInterval{5};

// Polls CSTS until `done` says so, CFS is set, or the deadline passes.
template <typename Done>
Status poll_csts(Queue& admin, std::chrono::milliseconds timeout, const char* what, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto csts = property_get(admin, kPropertyCsts, false);
    if (!csts.ok()) return csts.status();
    if (done(static_cast<uint32_t>(*csts))) return {};
    if ((*csts & kCstsFatal) != 0) {
      return error(ErrorCode::io_error, admin.name() + ": controller fatal status (CSTS.CFS) while " + what);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return error(ErrorCode::timed_out, admin.name() + ": " + what + " took more than " +
                                             std::to_string(timeout.count()) + " ms (CSTS " +
                                             std::to_string(*csts) + ")");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

ControllerCapabilities decode_cap(uint64_t cap) {
  ControllerCapabilities c;
  c.max_queue_entries = static_cast<uint32_t>(cap & 0xffff) + 1;
  c.ready_timeout = std::chrono::milliseconds(static_cast<int64_t>((cap >> 24) & 0xff) * 500);
  return c;
}

Status enable_controller(Queue& admin, std::chrono::milliseconds timeout) {
  if (Status s = property_set(admin, kPropertyCc, kControllerConfigEnable); !s.ok()) return s;
  return poll_csts(admin, timeout, "enabling", [](uint32_t csts) { return (csts & kCstsReady) != 0; });
}

Status shutdown_controller(Queue& admin, std::chrono::milliseconds timeout) {
  if (Status s = property_set(admin, kPropertyCc, kControllerConfigEnable | kControllerConfigShutdownNormal); !s.ok()) {
    return s;
  }
  return poll_csts(admin, timeout, "shutting down",
                   [](uint32_t csts) { return (csts & kCstsShutdownMask) == kCstsShutdownComplete; });
}

}  // namespace portico::nvme_host
