#include <gtest/gtest.h>

#include "frontends/fc_tcmu/lio/lio_backstore.h"
#include "tests/unit/fc_tcmu_lio/fake_kernel_tree.h"

namespace portico::tcmu {
namespace {

using testing::FakeKernelTree;
namespace fs = std::filesystem;

class LioBackstoreRemoveTest : public ::testing::Test {
 protected:
  LioConfigfs lio() const { return LioConfigfs(tree.target_root(), tree.uio_root(), tree.dev_root()); }
  FakeKernelTree tree;
};

// In configfs a backstore folder holds only the kernel's default groups, so rmdir works on it; the
// fake uses an empty folder for the same effect.
TEST_F(LioBackstoreRemoveTest, Remove_RemovesTheBackstoreAndItsNowEmptyHba) {
  fs::create_directories(tree.core() / "user_3" / "disk");

  Status st = lio().remove((tree.core() / "user_3" / "disk").string());

  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(fs::exists(tree.core() / "user_3"));
}

TEST_F(LioBackstoreRemoveTest, Remove_KeepsAnHbaThatHoldsOtherBackstores) {
  fs::create_directories(tree.core() / "user_0" / "disk");
  fs::create_directories(tree.core() / "user_0" / "other");

  Status st = lio().remove((tree.core() / "user_0" / "disk").string());

  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(fs::exists(tree.core() / "user_0" / "disk"));
  EXPECT_TRUE(fs::exists(tree.core() / "user_0" / "other"));
}

TEST_F(LioBackstoreRemoveTest, Remove_ReportsAMissingBackstore) {
  Status st = lio().remove((tree.core() / "user_0" / "disk").string());

  EXPECT_EQ(st.code(), ErrorCode::not_found);
  EXPECT_NE(st.message().find("user_0/disk"), std::string::npos) << st.message();
}

TEST_F(LioBackstoreRemoveTest, Remove_ReportsWhyTheKernelRefused) {
  fs::create_directories(tree.core() / "user_0" / "disk" / "attrib");

  Status st = lio().remove((tree.core() / "user_0" / "disk").string());

  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("rmdir"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("not empty"), std::string::npos) << st.message();
}

TEST_F(LioBackstoreRemoveTest, ResetRing_BlocksResetsAndUnblocksTheDevice) {
  const fs::path disk = tree.core() / "user_0" / "disk";
  fs::create_directories(disk / "action");
  for (const char* file : {"block_dev", "reset_ring"}) FakeKernelTree::put(disk / "action" / file, "");

  Status st = lio().reset_ring(disk.string());

  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(FakeKernelTree::get(disk / "action" / "reset_ring"), "1\n") << "1: the commands end BUSY";
  EXPECT_EQ(FakeKernelTree::get(disk / "action" / "block_dev"), "0\n") << "unblocked again";
}

TEST_F(LioBackstoreRemoveTest, ResetRing_NamesTheFileTheKernelRefused) {
  Status st = lio().reset_ring((tree.core() / "user_0" / "gone").string());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("block_dev"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace portico::tcmu
