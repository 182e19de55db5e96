#include "frontends/fc_tcmu/lio/tcmu_netlink.h"

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cerrno>
#include <string>

#include <spdlog/spdlog.h>

#include "frontends/fc_tcmu/lio/tcmu_genl_abi.h"

namespace portico::tcmu {
namespace {

using namespace genl;  // NOLINT(google-build-using-namespace): the kernel's names, kept verbatim

constexpr const char* kFamily = "TCM-USER";
constexpr const char* kGroup = "config";
// tcmu_genl_family.version; the kernel does not check it on receive.
constexpr uint8_t kFamilyVersion = 2;
// Events are small (about 100 bytes); a burst of backstores created at once must not overrun the
// socket, since a lost ADDED_DEVICE event leaves its configfs write waiting forever. The kernel
// caps this at net.core.rmem_max.
constexpr int kEventBufferBytes = 1 << 20;

Status netlink_error(const std::string& what, int nl_error) {
  ErrorCode code = nl_error == -NLE_PERM ? ErrorCode::permission_denied : ErrorCode::io_error;
  std::string message = std::string(kFamily) + " netlink: " + what + ": " + nl_geterror(nl_error);
  if (nl_error == -NLE_PERM) message += " (needs CAP_NET_ADMIN)";
  return {code, message};
}

const char* command_name(uint8_t cmd) {
  switch (cmd) {
    case TCMU_CMD_ADDED_DEVICE_DONE: return "TCMU_CMD_ADDED_DEVICE_DONE";
    case TCMU_CMD_REMOVED_DEVICE_DONE: return "TCMU_CMD_REMOVED_DEVICE_DONE";
    case TCMU_CMD_RECONFIG_DEVICE_DONE: return "TCMU_CMD_RECONFIG_DEVICE_DONE";
    case TCMU_CMD_SET_FEATURES: return "TCMU_CMD_SET_FEATURES";
    default: return "TCMU command";
  }
}

Status set_kernel_waits_for_replies(nl_sock* control, int family, bool on) {
  nl_msg* msg = nlmsg_alloc();
  if (msg == nullptr) return {ErrorCode::internal, std::string(kFamily) + " netlink: out of memory"};
  if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, TCMU_CMD_SET_FEATURES, kFamilyVersion) == nullptr ||
      nla_put_u8(msg, TCMU_ATTR_SUPP_KERN_CMD_REPLY, on ? 1 : 0) < 0) {
    nlmsg_free(msg);
    return {ErrorCode::internal, std::string(kFamily) + " netlink: cannot build TCMU_CMD_SET_FEATURES"};
  }
  // nl_send_sync frees the message and waits for the kernel's acknowledgement.
  if (int err = nl_send_sync(control, msg); err < 0) {
    return netlink_error(std::string("TCMU_CMD_SET_FEATURES(command reply ") + (on ? "on" : "off") + ")", err);
  }
  return {};
}

struct ProcessContext {
  std::function<void(nlmsghdr*)> on_message;
};

int on_valid_message(nl_msg* msg, void* arg) {
  static_cast<ProcessContext*>(arg)->on_message(nlmsg_hdr(msg));
  return NL_OK;
}

}  // namespace

void TcmuNetlink::SocketDeleter::operator()(nl_sock* sock) const { nl_socket_free(sock); }
void TcmuNetlink::CallbackDeleter::operator()(nl_cb* cb) const { nl_cb_put(cb); }

TcmuNetlink::TcmuNetlink(Socket events, Socket control, int family)
    : events_(std::move(events)), control_(std::move(control)), family_(family) {
  events_cb_.reset(nl_socket_get_cb(events_.get()));
}

Result<std::unique_ptr<TcmuNetlink>> TcmuNetlink::open() {
  Socket control(nl_socket_alloc());
  Socket events(nl_socket_alloc());
  if (!control || !events) return Status{ErrorCode::internal, std::string(kFamily) + " netlink: out of memory"};
  if (int err = genl_connect(control.get()); err < 0) return netlink_error("genl_connect", err);

  int family = genl_ctrl_resolve(control.get(), kFamily);
  if (family < 0) {
    return Status{ErrorCode::unsupported, std::string("generic netlink family ") + kFamily + " not found (" +
                                              nl_geterror(family) +
                                              "): is the target_core_user module loaded? (modprobe target_core_user)"};
  }
  int group = genl_ctrl_resolve_grp(control.get(), kFamily, kGroup);
  if (group < 0) return netlink_error(std::string("multicast group \"") + kGroup + "\"", group);

  // Join the group before asking the kernel to wait, so that no event it then waits on is missed.
  nl_socket_disable_seq_check(events.get());
  if (int err = genl_connect(events.get()); err < 0) return netlink_error("genl_connect", err);
  if (int err = nl_socket_add_membership(events.get(), group); err < 0) {
    return netlink_error(std::string("join multicast group \"") + kGroup + "\"", err);
  }
  if (int err = nl_socket_set_buffer_size(events.get(), kEventBufferBytes, 0); err < 0) {
    spdlog::warn("tcmu: {} netlink: receive buffer of {} bytes: {}", kFamily, kEventBufferBytes, nl_geterror(err));
  }
  if (int err = nl_socket_set_nonblocking(events.get()); err < 0) return netlink_error("set non-blocking", err);

  if (auto st = set_kernel_waits_for_replies(control.get(), family, true); !st.ok()) return st;
  spdlog::info("tcmu: listening to {} device events; the kernel now waits for porticod's replies", kFamily);
  return std::unique_ptr<TcmuNetlink>(new TcmuNetlink(std::move(events), std::move(control), family));
}

TcmuNetlink::~TcmuNetlink() {
  if (auto st = set_kernel_waits_for_replies(control_.get(), family_, false); !st.ok()) {
    spdlog::warn("tcmu: {}; configfs writes on TCMU devices may wait for replies nobody sends", st.message());
  }
}

int TcmuNetlink::fd() const { return nl_socket_get_fd(events_.get()); }

Status TcmuNetlink::process(const std::function<int(const TcmuDeviceEvent&)>& handler) {
  ProcessContext context{[&](nlmsghdr* nlh) { handle(nlh, handler); }};
  nl_cb_set(events_cb_.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid_message, &context);
  int n = 0;
  do {
    // The number of messages read; 0 or -NLE_AGAIN once the socket is drained.
    n = nl_recvmsgs_report(events_.get(), events_cb_.get());
  } while (n > 0);
  nl_cb_set(events_cb_.get(), NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);  // `context` dies here

  if (n == 0 || n == -NLE_AGAIN) return {};
  if (n == -NLE_NOMEM) {
    // ENOBUFS: the receive buffer overflowed and events were dropped.
    return {ErrorCode::io_error,
            std::string(kFamily) + " netlink: events lost to a full receive buffer; a configfs write may wait "
                                   "forever (release it with target_core_user's block_netlink and reset_netlink "
                                   "parameters)"};
  }
  return netlink_error("receive", n);
}

void TcmuNetlink::handle(nlmsghdr* nlh, const std::function<int(const TcmuDeviceEvent&)>& handler) {
  if (nlh->nlmsg_type != family_) {
    spdlog::debug("tcmu: ignoring netlink message of type {}", nlh->nlmsg_type);
    return;
  }
  auto event = parse_device_event(nlh);
  if (!event.ok()) {
    if (event.status().code() == ErrorCode::unsupported) {
      spdlog::debug("tcmu: {}", event.status().message());
      return;
    }
    spdlog::warn("tcmu: {}", event.status().message());
    auto done = done_command_for(genlmsg_hdr(nlh)->cmd);
    auto device_id = device_id_of(nlh);
    if (done && device_id) {
      if (auto st = reply(*done, *device_id, -EINVAL); !st.ok()) spdlog::warn("tcmu: {}", st.message());
    }
    return;
  }
  int status = handler(*event);
  if (status > 0) status = -status;  // the kernel hands the value to the configfs writer as -errno
  spdlog::info("tcmu: device {} (uio{}, id {}) {}: answering {}", event->device, event->minor, event->device_id,
               to_string(event->kind), status);
  auto done = done_command_for(genlmsg_hdr(nlh)->cmd);
  if (auto st = reply(*done, event->device_id, status); !st.ok()) spdlog::warn("tcmu: {}", st.message());
}

Status TcmuNetlink::reply(uint8_t done_cmd, uint32_t device_id, int status) {
  nl_msg* msg = nlmsg_alloc();
  if (msg == nullptr) return {ErrorCode::internal, std::string(kFamily) + " netlink: out of memory"};
  if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0, done_cmd, kFamilyVersion) == nullptr ||
      nla_put_s32(msg, TCMU_ATTR_CMD_STATUS, status) < 0 || nla_put_u32(msg, TCMU_ATTR_DEVICE_ID, device_id) < 0) {
    nlmsg_free(msg);
    return {ErrorCode::internal, std::string(kFamily) + " netlink: cannot build " + command_name(done_cmd)};
  }
  if (int err = nl_send_sync(control_.get(), msg); err < 0) {
    // ENODEV (NLE_OBJ_NOTFOUND) means the kernel was not waiting: the device was enabled while
    // replies were off, or the wait was reset.
    return netlink_error(std::string(command_name(done_cmd)) + " for device id " + std::to_string(device_id), err);
  }
  return {};
}

}  // namespace portico::tcmu
