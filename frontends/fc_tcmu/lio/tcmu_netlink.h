// porticod's end of the TCM-USER generic netlink family: target_core_user announces each TCMU
// device added, removed or reconfigured in configfs on the multicast group "config", and, once a
// handler has said it replies (TCMU_CMD_SET_FEATURES with TCMU_ATTR_SUPP_KERN_CMD_REPLY = 1),
// holds the configfs write that caused the event until the matching *_DONE reply arrives.
//
// Kernel rules this relies on (drivers/target/target_core_user.c, 5.11 to 6.1):
// - The reply switch is one module-wide flag (tcmu_kern_cmd_reply_supported), not per socket:
//   the last SET_FEATURES from any handler on the host wins.
// - A device latches the flag when it is enabled (tcmu_configure_device sets nl_reply_supported),
//   but every wait checks the module flag first (tcmu_init_genl_cmd_reply,
//   tcmu_wait_genl_cmd_reply): turning it off stops all further waits.
// - The wait is wait_for_completion: no timeout, not interruptible. If nobody listens, an
//   ADDED_DEVICE event still waits (genlmsg_multicast_allns gives -ESRCH, tcmu_netlink_event_send
//   waits anyway "as the listener may not be up yet"); REMOVED does not wait, and a RECONFIG
//   write fails with ESRCH whether replies are on or not. A lost event
//   (receive buffer overrun, handler stopped mid-event) leaves the writer blocked until an
//   administrator writes 1 to /sys/module/target_core_user/parameters/block_netlink and then
//   1 to .../reset_netlink, which completes the waits with -EINTR.
// - A reply needs TCMU_ATTR_CMD_STATUS (s32) and TCMU_ATTR_DEVICE_ID (u32) and must be the
//   *_DONE command of the pending event (tcmu_genl_cmd_done); the status becomes the configfs
//   write's result. All commands need CAP_NET_ADMIN (GENL_ADMIN_PERM).
//
// Because the kernel blocks the configfs writer until process() replies, process() must run on a
// different thread from the one writing configfs (LioConfigfs::ensure / remove).
#pragma once

#include <functional>
#include <memory>

#include "core/common/result.h"
#include "frontends/fc_tcmu/lio/tcmu_device_event.h"

struct nl_sock;
struct nl_cb;
struct nlmsghdr;

namespace portico::tcmu {

class TcmuNetlink {
 public:
  // Resolves the family "TCM-USER", joins its group "config", then asks the kernel to wait for
  // replies. Fails with a clear error when the family does not exist (target_core_user not loaded).
  static Result<std::unique_ptr<TcmuNetlink>> open();

  TcmuNetlink(const TcmuNetlink&) = delete;
  TcmuNetlink& operator=(const TcmuNetlink&) = delete;
  // Turns the kernel's reply wait off again (SET_FEATURES with 0) so that a stopped porticod does
  // not leave later configfs writes waiting. This also turns it off for any other handler.
  ~TcmuNetlink();

  // The non-blocking event socket, to poll for reading.
  [[nodiscard]] int fd() const;

  // Reads every pending message. Each device event goes to `handler`, whose result (0 or -errno)
  // is sent back as the event's *_DONE reply. Messages that are not device events are logged and
  // skipped; a malformed device event that names its device id is answered with -EINVAL.
  // Returns an error when the socket fails, e.g. when events were lost to a full receive buffer.
  Status process(const std::function<int(const TcmuDeviceEvent&)>& handler);

 private:
  struct SocketDeleter {
    void operator()(nl_sock* sock) const;
  };
  struct CallbackDeleter {
    void operator()(nl_cb* cb) const;
  };
  using Socket = std::unique_ptr<nl_sock, SocketDeleter>;

  TcmuNetlink(Socket events, Socket control, int family);
  void handle(nlmsghdr* nlh, const std::function<int(const TcmuDeviceEvent&)>& handler);
  Status reply(uint8_t done_cmd, uint32_t device_id, int status);

  Socket events_;   // joined to "config"; non-blocking; sequence checks off (events carry seq 0)
  Socket control_;  // blocking; SET_FEATURES and *_DONE replies, each waiting for the kernel's ack
  std::unique_ptr<nl_cb, CallbackDeleter> events_cb_;
  int family_ = 0;
};

}  // namespace portico::tcmu
