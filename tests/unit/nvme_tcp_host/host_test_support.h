// Helpers shared by the host library's tests: queues and sessions opened against a FakeTarget.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "tests/unit/nvme_tcp_host/fake_target.h"
#include "tools/nvme_tcp/controller_session.h"
#include "tools/nvme_tcp/fabrics_commands.h"
#include "tools/nvme_tcp/host_queue.h"

namespace portico::nvme_host::test {

inline constexpr char kHostNqn[] = "nqn.2014-08.org.nvmexpress:uuid:5f1e0c7a-0d2b-4c3e-9a41-7b2f8e6d1c00";
inline const HostId kHostId{0x5f, 0x1e, 0x0c, 0x7a, 0x0d, 0x2b, 0x4c, 0x3e,
                            0x9a, 0x41, 0x7b, 0x2f, 0x8e, 0x6d, 0x1c, 0x00};

inline QueueOptions queue_options(const FakeTarget& target, uint16_t queue_id = 1, uint16_t depth = 8) {
  QueueOptions o;
  o.port = target.port();
  o.queue_id = queue_id;
  o.depth = depth;
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

inline ConnectArgs connect_args(FakeTarget& target, uint16_t queue_id) {
  ConnectArgs args;
  args.queue_id = queue_id;
  args.controller_id = queue_id == 0 ? nvme::kDynamicControllerId : target.controller().config().controller_id;
  args.host_id = kHostId;
  args.subsystem_nqn = target.controller().config().subsystem_nqn;
  args.host_nqn = kHostNqn;
  return args;
}

// A queue that ran ICReq/ICResp and Connect: an I/O queue when options.queue_id > 0.
inline std::unique_ptr<Queue> connected_queue(FakeTarget& target, const QueueOptions& options) {
  auto queue = Queue::connect(options);
  EXPECT_TRUE(queue.ok()) << queue.status().message();
  if (!queue.ok()) return nullptr;
  auto cntlid = connect(**queue, connect_args(target, options.queue_id));
  EXPECT_TRUE(cntlid.ok()) << cntlid.status().message();
  return std::move(*queue);
}

inline SessionOptions session_options(const FakeTarget& target, uint16_t io_queues = 1, uint16_t depth = 8) {
  SessionOptions o;
  o.port = target.port();
  o.subsystem_nqn = target.config().controller.subsystem_nqn;
  o.host_nqn = kHostNqn;
  o.host_id = kHostId;
  o.io_queues = io_queues;
  o.io_queue_depth = depth;
  o.keep_alive_ms = 10000;
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

// The fake target's threads record what they received a moment after the host sent it.
inline bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline std::vector<PduRecord> pdus_of_type(const FakeTarget& target, nvmeof::PduType type) {
  std::vector<PduRecord> out;
  for (const PduRecord& p : target.pdus()) {
    if (p.type == type) out.push_back(p);
  }
  return out;
}

}  // namespace portico::nvme_host::test
