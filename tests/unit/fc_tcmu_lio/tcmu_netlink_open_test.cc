#include "frontends/fc_tcmu/lio/tcmu_netlink.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace portico::tcmu {
namespace {

// Where target_core_user is loaded, open() would succeed and switch the kernel's reply wait on for
// the whole host: that belongs in the VM tests, not here.
TEST(TcmuNetlinkTest, Open_WithoutTheModule_FailsNamingTheFamily) {
  if (std::filesystem::exists("/sys/module/target_core_user")) GTEST_SKIP() << "target_core_user is loaded";

  auto netlink = TcmuNetlink::open();

  ASSERT_FALSE(netlink.ok());
  EXPECT_NE(netlink.status().message().find("TCM-USER"), std::string::npos) << netlink.status().message();
}

}  // namespace
}  // namespace portico::tcmu
