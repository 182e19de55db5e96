// Helpers shared by the command ring's tests: attach to a fake kernel's region and take entries
// of an expected kind (throwing, which GoogleTest reports as a failure, when the kind differs).
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "frontends/fc_tcmu/ring/command_ring.h"
#include "tests/unit/fc_tcmu/fake_tcmu_kernel.h"

namespace portico::tcmu::testing {

inline CommandRing attach(FakeTcmuKernel& kernel) {
  auto ring = CommandRing::attach(kernel.region());
  if (!ring.ok()) throw std::runtime_error(ring.status().message());
  return std::move(ring).value();
}

template <typename T>
T take(CommandRing& ring) {
  std::optional<RingEntry> entry = ring.next();
  if (!entry) throw std::runtime_error("no entry");
  if (auto* fault = std::get_if<RingFault>(&*entry); fault != nullptr && !std::is_same_v<T, RingFault>) {
    throw std::runtime_error("unexpected fault: " + fault->reason);
  }
  if (!std::holds_alternative<T>(*entry)) throw std::runtime_error("entry of another kind");
  return std::get<T>(std::move(*entry));
}

inline std::vector<uint8_t> cdb10(uint8_t opcode) {
  std::vector<uint8_t> cdb(10, 0);
  cdb[0] = opcode;
  cdb[8] = 8;  // transfer length
  return cdb;
}

inline constexpr uint8_t kRead10 = 0x28;
inline constexpr uint8_t kWrite10 = 0x2a;
inline constexpr uint8_t kCheckCondition = 0x02;

}  // namespace portico::tcmu::testing
