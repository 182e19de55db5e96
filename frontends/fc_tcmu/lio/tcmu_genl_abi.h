// The TCM-USER generic netlink commands and attributes, as numbered in the kernel's UAPI header
// include/uapi/linux/target_core_user.h (enum tcmu_genl_cmd, enum tcmu_genl_attr). That header
// does not compile as C++: tcmu_hdr_get_op returns a __u32 as enum tcmu_opcode, and its
// <linux/uio.h> redefines the struct iovec glibc's <sys/uio.h> already defines. The numbers are
// kernel ABI and do not change.
#pragma once

#include <cstdint>

namespace portico::tcmu::genl {

enum Command : uint8_t {
  TCMU_CMD_UNSPEC = 0,
  TCMU_CMD_ADDED_DEVICE = 1,
  TCMU_CMD_REMOVED_DEVICE = 2,
  TCMU_CMD_RECONFIG_DEVICE = 3,
  TCMU_CMD_ADDED_DEVICE_DONE = 4,
  TCMU_CMD_REMOVED_DEVICE_DONE = 5,
  TCMU_CMD_RECONFIG_DEVICE_DONE = 6,
  TCMU_CMD_SET_FEATURES = 7,
};

enum Attribute : int {
  TCMU_ATTR_UNSPEC = 0,
  TCMU_ATTR_DEVICE = 1,               // string: the uio name "tcm-user/<hba>/<dev>/<dev_config>"
  TCMU_ATTR_MINOR = 2,                // u32
  TCMU_ATTR_PAD = 3,                  // alignment padding for the u64 below
  TCMU_ATTR_DEV_CFG = 4,              // string
  TCMU_ATTR_DEV_SIZE = 5,             // u64
  TCMU_ATTR_WRITECACHE = 6,           // u8
  TCMU_ATTR_CMD_STATUS = 7,           // s32
  TCMU_ATTR_DEVICE_ID = 8,            // u32: se_device.dev_index
  TCMU_ATTR_SUPP_KERN_CMD_REPLY = 9,  // u8
  TCMU_ATTR_MAX = TCMU_ATTR_SUPP_KERN_CMD_REPLY,
};

}  // namespace portico::tcmu::genl
