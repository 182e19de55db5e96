// Fuzzes the NVMe command path: any SQE with any data, on the admin or an I/O queue of a
// connected and enabled controller, against a small in-memory namespace that is also a SCSI LUN.
// Every decoder behind a controller sees the bytes (Fabrics commands, Identify, log page
// requests, features, reservation data, DSM ranges, fused pairs); the controller must answer each
// command exactly once (a fused Compare waits for the next command, which answers both), never
// with more data than the host's SGL takes.
//
// Input: a sequence of records [flags][64-byte SQE][2-byte data length][data], flags bit 0 = I/O
// queue.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/nvme/controller.h"
#include "core/nvme/subsystem.h"
#include "tests/unit/core/test_fixtures.h"

namespace {

using namespace portico;

struct Fixture {
  Fixture() : target(64) {
    spdlog::set_level(spdlog::level::off);  // a controller per input would log every time
    nvme::SubsystemConfig config;
    config.nqn = "nqn.2026-11.io.portico:fuzz";
    subsystem = std::make_unique<nvme::Subsystem>(config, target.cluster);
    if (!subsystem->add_namespace(1, target.unit).ok()) std::abort();
  }
  testing::TargetFixture target;
  std::unique_ptr<nvme::Subsystem> subsystem;
};

struct Pending {
  nvme::NvmeCommand command;
  std::vector<uint8_t> data;
  bool finished = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* fixture = new Fixture();
  // A fresh controller per input: one input's features and notices do not leak into the next.
  nvme::ConnectCommand connect;
  connect.sq_size = 31;
  nvme::ConnectData host;
  host.host_id[0] = 1;
  host.controller_id = nvme::kDynamicControllerId;
  host.subsystem_nqn = "nqn.2026-11.io.portico:fuzz";
  host.host_nqn = "nqn.2014-08.org.nvmexpress:uuid:fuzz";
  auto connected = fixture->subsystem->connect(connect, host);
  auto* controller_ptr = std::get_if<std::shared_ptr<nvme::Controller>>(&connected);
  if (controller_ptr == nullptr) std::abort();
  auto controller = *controller_ptr;
  nvme::QueueContext admin{0, 32, nullptr};
  nvme::QueueContext io{1, 128, nullptr};
  std::vector<std::unique_ptr<Pending>> commands;
  auto run = [&](nvme::QueueContext& queue, std::span<const uint8_t, 64> sqe_bytes, std::span<const uint8_t> bytes) {
    auto pending = std::make_unique<Pending>();
    pending->command.sqe = *nvme::decode_sqe(sqe_bytes);
    pending->command.queue_id = queue.id;
    pending->data.assign(bytes.begin(), bytes.end());
    pending->command.data_out = pending->data;
    Pending* p = pending.get();
    commands.push_back(std::move(pending));
    controller->execute(queue, p->command, fixture->target.executor, [p]() {
      if (p->finished) std::abort();  // answered twice
      p->finished = true;
      if (p->command.data_in_length > p->command.data_in_limit()) std::abort();
      if (p->command.data_in_length > p->command.data_in.size()) std::abort();
    });
  };
  // Enable it as a host does, so that admin and I/O commands reach their handlers.
  std::array<uint8_t, 64> enable{};
  enable[0] = nvme::kFabricsOpcode;
  enable[4] = 0x00;  // Property Set
  enable[44] = 0x14;  // CC
  enable[48] = 0x01;
  enable[50] = 0x46;
  run(admin, enable, {});
  size_t at = 0;
  while (size - at >= 1 + 64 + 2) {
    const uint8_t flags = data[at];
    std::span<const uint8_t, 64> sqe(data + at + 1, 64);
    const size_t length = std::min<size_t>(size - at - 67, size_t{data[at + 65]} | size_t{data[at + 66]} << 8);
    run((flags & 1) != 0 ? io : admin, sqe, std::span<const uint8_t>(data + at + 67, length));
    at += 67 + length;
  }
  controller->release_queue(io);
  controller->release_queue(admin);
  for (const auto& p : commands) {
    if (!p->finished) std::abort();  // every command is answered once its queue is gone
  }
  controller->retire();
  fixture->subsystem->remove_controller(controller->id());
  return 0;
}
