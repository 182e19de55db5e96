// Reservation steps shared by the multi-gateway tests: two keys, registering, reserving.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "tests/ceph/multi_gateway_initiator.h"

namespace portico::testing::mgw {

inline constexpr uint64_t kKeyA = 0xA1A1A1A1'00000001ull;
inline constexpr uint64_t kKeyB = 0xB2B2B2B2'00000002ull;

// Registers `key` for `session` whatever it held before (REGISTER AND IGNORE EXISTING KEY), past
// the unit attentions an earlier preemption or clear left for it.
inline ::testing::AssertionResult register_key(Initiator& session, uint64_t key) {
  session.clear_unit_attentions();
  const auto result = session.persistent_reserve_out(PrOut::register_and_ignore, 0, key);
  if (result.good()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "REGISTER AND IGNORE EXISTING KEY through " << session.portal() << ": "
                                       << result.describe();
}

inline ::testing::AssertionResult reserve(Initiator& session, uint64_t key) {
  const auto result = session.persistent_reserve_out(PrOut::reserve, key, 0, kWriteExclusive);
  if (result.good()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "RESERVE WRITE EXCLUSIVE through " << session.portal() << ": "
                                       << result.describe();
}

// A holds WRITE EXCLUSIVE with kKeyA; B is registered with kKeyB.
inline ::testing::AssertionResult holder_and_registrant(Initiator& a, Initiator& b) {
  if (auto result = register_key(a, kKeyA); !result) return result;
  if (auto result = reserve(a, kKeyA); !result) return result;
  return register_key(b, kKeyB);
}

}  // namespace portico::testing::mgw
