// The ANA log page (offsets: Linux's struct nvme_ana_rsp_hdr, nvme_ana_group_desc).
#include <gtest/gtest.h>

#include "core/nvme/ana_log.h"
#include "tests/unit/nvme/wire_bytes.h"

namespace portico::nvme {
namespace {

using test::get32;
using test::get64;

std::vector<AnaGroup> three_groups() {
  return {
      {1, AnaState::optimized, 5, {3, 1}},
      {2, AnaState::inaccessible, 6, {2}},
      {3, AnaState::change, 7, {}},
  };
}

TEST(AnaLog, HeaderThenOneDescriptorPerGroupWithItsNsids) {
  const auto groups = three_groups();
  const auto log = ana_log(42, groups, false);
  // 16 header + (32 + 2 * 4) + (32 + 4) + 32.
  ASSERT_EQ(log.size(), 16u + 40 + 36 + 32);
  EXPECT_EQ(get64(log, 0), 42u);
  EXPECT_EQ(test::get16(log, 8), 3);
  EXPECT_TRUE(test::all_zero(log, 10, 16));

  size_t d = 16;
  EXPECT_EQ(get32(log, d), 1u);
  EXPECT_EQ(get32(log, d + 4), 2u);
  EXPECT_EQ(get64(log, d + 8), 5u);
  EXPECT_EQ(log[d + 16], 0x01);
  EXPECT_TRUE(test::all_zero(log, d + 17, d + 32));
  EXPECT_EQ(get32(log, d + 32), 1u);  // NSIDs ascending
  EXPECT_EQ(get32(log, d + 36), 3u);

  d += 40;
  EXPECT_EQ(get32(log, d), 2u);
  EXPECT_EQ(get32(log, d + 4), 1u);
  EXPECT_EQ(get64(log, d + 8), 6u);
  EXPECT_EQ(log[d + 16], 0x03);
  EXPECT_EQ(get32(log, d + 32), 2u);

  d += 36;
  EXPECT_EQ(get32(log, d), 3u);
  EXPECT_EQ(get32(log, d + 4), 0u);
  EXPECT_EQ(get64(log, d + 8), 7u);
  EXPECT_EQ(log[d + 16], 0x0f);
}

TEST(AnaLog, ReturnGroupsOnlyLeavesOutTheNsids) {
  const auto groups = three_groups();
  const auto log = ana_log(42, groups, true);
  ASSERT_EQ(log.size(), 16u + 3 * 32);
  EXPECT_EQ(test::get16(log, 8), 3);
  for (size_t i = 0; i < 3; ++i) {
    const size_t d = 16 + 32 * i;
    EXPECT_EQ(get32(log, d), groups[i].id);
    EXPECT_EQ(get32(log, d + 4), 0u) << "NNSID with RGO";
    EXPECT_EQ(log[d + 16], static_cast<uint8_t>(groups[i].state));
  }
  EXPECT_EQ(kAnaReturnGroupsOnly, 0x01);
}

TEST(AnaLog, NoGroupsIsAHeaderAlone) {
  const auto log = ana_log(1, {}, false);
  ASSERT_EQ(log.size(), 16u);
  EXPECT_EQ(get64(log, 0), 1u);
  EXPECT_EQ(test::get16(log, 8), 0);
}

TEST(AnaLog, StatesFromTheSharedAccessStates) {
  EXPECT_EQ(ana_state_from(AluaState::active_optimized), AnaState::optimized);
  EXPECT_EQ(ana_state_from(AluaState::active_non_optimized), AnaState::non_optimized);
  EXPECT_EQ(ana_state_from(AluaState::standby), AnaState::inaccessible);
  EXPECT_EQ(ana_state_from(AluaState::unavailable), AnaState::inaccessible);
  EXPECT_EQ(ana_state_from(AluaState::transitioning), AnaState::change);
  // Linux's enum nvme_ana_state values.
  EXPECT_EQ(static_cast<int>(AnaState::optimized), 1);
  EXPECT_EQ(static_cast<int>(AnaState::non_optimized), 2);
  EXPECT_EQ(static_cast<int>(AnaState::inaccessible), 3);
  EXPECT_EQ(static_cast<int>(AnaState::persistent_loss), 4);
  EXPECT_EQ(static_cast<int>(AnaState::change), 0xf);
}

}  // namespace
}  // namespace portico::nvme
