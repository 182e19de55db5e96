#include "frontends/fc_tcmu/lio/lio_backstore.h"

#include <gtest/gtest.h>

#include "tests/unit/fc_tcmu_lio/fake_kernel_tree.h"

namespace portico::tcmu {
namespace {

using testing::FakeKernelTree;
namespace fs = std::filesystem;

constexpr uint64_t kOneGiB = 1ull << 30;

BackstoreSpec disk_spec() {
  BackstoreSpec spec;
  spec.name = "disk";
  spec.config = "vol-1";
  spec.size_bytes = kOneGiB;
  spec.block_size = 512;
  spec.write_cache = true;
  return spec;
}

class LioBackstoreTest : public ::testing::Test {
 protected:
  LioConfigfs lio() const { return LioConfigfs(tree.target_root(), tree.uio_root(), tree.dev_root()); }
  FakeKernelTree tree;
};

TEST_F(LioBackstoreTest, Ensure_ConfiguresAttributesBeforeEnablingAndFindsTheUioDevice) {
  fs::path dir = tree.add_backstore(0, "disk");
  tree.add_uio(1, "tcm-user/0/other/portico/vol-9", "0x1000");
  tree.add_uio(3, "tcm-user/0/disk/portico/vol-1", "0x40800000");

  auto result = lio().ensure(disk_spec());

  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->configfs_path, dir.string());
  EXPECT_EQ(result->uio_device, (tree.dev_root() / "uio3").string());
  EXPECT_EQ(result->map_size, 0x40800000u);
  EXPECT_FALSE(result->existed);
  EXPECT_EQ(FakeKernelTree::get(dir / "control"), "dev_size=1073741824,dev_config=portico/vol-1,hw_block_size=512\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "emulate_pr"), "1\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "pgr_support"), "0\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "alua_support"), "0\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "tmr_notification"), "1\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "emulate_write_cache"), "1\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "enable"), "1\n");
}

TEST_F(LioBackstoreTest, Ensure_PassesMaxSectorsAndBlockSizeThroughControl) {
  fs::path dir = tree.add_backstore(0, "disk");
  tree.add_uio(0, "tcm-user/0/disk/portico/vol-1", "0x40800000");
  BackstoreSpec spec = disk_spec();
  spec.block_size = 4096;
  spec.max_sectors = 2048;
  spec.write_cache = false;

  auto result = lio().ensure(spec);

  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(FakeKernelTree::get(dir / "control"),
            "dev_size=1073741824,dev_config=portico/vol-1,hw_block_size=4096,hw_max_sectors=2048\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "emulate_write_cache"), "0\n");
}

TEST_F(LioBackstoreTest, Ensure_ReattachesEnabledBackstoreWithoutReconfiguringIt) {
  fs::path dir = tree.add_enabled_backstore(0, "disk", "portico/vol-1", kOneGiB);
  FakeKernelTree::put(dir / "control", "as the kernel left it");
  tree.add_uio(5, "tcm-user/0/disk/portico/vol-1", "0x40800000");

  auto result = lio().ensure(disk_spec());

  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(result->existed);
  EXPECT_EQ(result->uio_device, (tree.dev_root() / "uio5").string());
  EXPECT_EQ(FakeKernelTree::get(dir / "control"), "as the kernel left it");
  // A write would send a RECONFIG event to porticod itself: left alone.
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "emulate_write_cache"), "0\n");
  EXPECT_EQ(FakeKernelTree::get(dir / "attrib" / "pgr_support"), "0\n");
}

TEST_F(LioBackstoreTest, Ensure_RefusesEnabledBackstoreOfAnotherSizeNamingBothSizes) {
  tree.add_enabled_backstore(0, "disk", "portico/vol-1", 2 * kOneGiB);
  tree.add_uio(5, "tcm-user/0/disk/portico/vol-1", "0x40800000");

  auto result = lio().ensure(disk_spec());

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::already_exists);
  EXPECT_NE(result.status().message().find("2147483648"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("1073741824"), std::string::npos) << result.status().message();
}

TEST_F(LioBackstoreTest, Ensure_RefusesEnabledBackstoreOfAnotherConfig) {
  tree.add_enabled_backstore(0, "disk", "portico/vol-2", kOneGiB);

  auto result = lio().ensure(disk_spec());

  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("portico/vol-2"), std::string::npos) << result.status().message();
}

TEST_F(LioBackstoreTest, Ensure_UsesTheHbaFolderThatHoldsTheBackstore) {
  fs::create_directories(tree.core() / "user_0");
  fs::path dir = tree.add_backstore(2, "disk");
  tree.add_uio(7, "tcm-user/2/disk/portico/vol-1", "0x40800000");

  auto result = lio().ensure(disk_spec());

  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->configfs_path, dir.string());
  EXPECT_EQ(result->uio_device, (tree.dev_root() / "uio7").string());
}

TEST_F(LioBackstoreTest, Ensure_CreatesFirstFreeHbaFolderAndRemovesWhatItMadeWhenSetupFails) {
  fs::create_directories(tree.core() / "user_0" / "other");

  // A plain mkdir creates no control file, so the setup fails right after the folders are made.
  auto result = lio().ensure(disk_spec());

  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find((tree.core() / "user_1" / "disk" / "control").string()), std::string::npos)
      << result.status().message();
  EXPECT_FALSE(fs::exists(tree.core() / "user_1"));
  EXPECT_TRUE(fs::exists(tree.core() / "user_0" / "other"));
}

TEST_F(LioBackstoreTest, Ensure_KeepsAFolderItDidNotCreateWhenSetupFails) {
  fs::path dir = tree.add_backstore(0, "disk");
  fs::remove(dir / "attrib" / "pgr_support");
  fs::create_directory(dir / "attrib" / "pgr_support");  // a write fails with EISDIR

  auto result = lio().ensure(disk_spec());

  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("pgr_support"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("persistent reservations"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "control"));
  EXPECT_EQ(FakeKernelTree::get(dir / "enable"), "0\n");
}

TEST_F(LioBackstoreTest, Ensure_WorksOnKernelsWithoutTmrNotification) {
  fs::path dir = tree.add_backstore(0, "disk");
  fs::remove(dir / "attrib" / "tmr_notification");
  tree.add_uio(3, "tcm-user/0/disk/portico/vol-1", "0x40800000");

  auto result = lio().ensure(disk_spec());

  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_FALSE(fs::exists(dir / "attrib" / "tmr_notification"));
}

TEST_F(LioBackstoreTest, Ensure_NamesTheUioDeviceItCouldNotFind) {
  tree.add_backstore(0, "disk");
  tree.add_uio(3, "tcm-user/0/disk/portico/vol-2", "0x40800000");

  auto result = lio().ensure(disk_spec());

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::not_found);
  EXPECT_NE(result.status().message().find("tcm-user/0/disk/portico/vol-1"), std::string::npos)
      << result.status().message();
}

TEST_F(LioBackstoreTest, Ensure_ExplainsMissingConfigfs) {
  LioConfigfs missing(tree.target_root() / "absent", tree.uio_root(), tree.dev_root());

  auto result = missing.ensure(disk_spec());

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::unsupported);
  EXPECT_NE(result.status().message().find((tree.target_root() / "absent" / "core").string()), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("target_core_user"), std::string::npos);
}

TEST_F(LioBackstoreTest, Ensure_RejectsSpecsTheKernelWouldMisread) {
  BackstoreSpec unaligned = disk_spec();
  unaligned.size_bytes = kOneGiB + 100;
  BackstoreSpec comma = disk_spec();
  comma.config = "pool/image,snap";
  BackstoreSpec odd_block = disk_spec();
  odd_block.block_size = 3000;
  BackstoreSpec slash = disk_spec();
  slash.name = "a/b";
  BackstoreSpec too_long = disk_spec();
  too_long.config = std::string(250, 'x');

  for (const BackstoreSpec& spec : {unaligned, comma, odd_block, slash, too_long}) {
    auto result = lio().ensure(spec);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::invalid_argument) << result.status().message();
  }
  EXPECT_TRUE(fs::is_empty(tree.core()));
}

}  // namespace
}  // namespace portico::tcmu
