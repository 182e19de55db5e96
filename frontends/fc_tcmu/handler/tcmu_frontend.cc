#include "frontends/fc_tcmu/handler/tcmu_frontend.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <map>
#include <thread>

#include "frontends/fc_tcmu/handler/tcmu_device.h"
#include "frontends/fc_tcmu/lio/lio_backstore.h"
#include "frontends/fc_tcmu/lio/tcmu_netlink.h"

namespace portico::tcmu {
namespace {

constexpr std::chrono::seconds kRemoveWait{10};

class TcmuFrontendImpl final : public TcmuFrontend {
 public:
  TcmuFrontendImpl(TcmuFrontendSettings settings, runtime::LoopGroup& loops)
      : settings_(std::move(settings)),
        loops_(loops),
        configfs_(settings_.configfs_root, settings_.uio_sysfs_root, settings_.dev_root) {}

  ~TcmuFrontendImpl() override { stop(std::chrono::milliseconds(0)); }

  Status start() override {
    // The kernel waits for our answer to its device events once we say we give them (netlink
    // SET_FEATURES), including the one that enabling a backstore below sends: the netlink thread
    // answers while this thread writes configfs.
    auto netlink = TcmuNetlink::open();
    if (!netlink.ok()) return netlink.status();
    netlink_ = std::move(*netlink);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return error(ErrorCode::internal, "tcmu: eventfd failed");
    netlink_thread_ = std::thread([this]() { netlink_loop(); });

    size_t next_loop = 0;
    for (const auto& e : settings_.exports) {
      BackstoreSpec spec;
      spec.name = e.name;
      spec.config = e.name;
      spec.size_bytes = e.size_bytes;
      spec.block_size = e.block_size;
      spec.max_sectors = e.max_transfer_bytes / e.block_size;
      spec.write_cache = e.write_cache;
      auto backstore = configfs_.ensure(spec);
      if (!backstore.ok()) return error(backstore.status().code(), "tcmu " + e.name + ": " + backstore.status().message());
      if (backstore->existed) {
        // A previous porticod may have left commands in the ring, read or not: the kernel ends
        // them BUSY (retryable) and the ring starts empty, rather than a command being answered
        // twice or lost (drivers/target/target_core_user.c, tcmu_reset_ring).
        if (Status s = configfs_.reset_ring(backstore->configfs_path); !s.ok()) {
          return error(s.code(), "tcmu " + e.name + ": " + s.message());
        }
        spdlog::info("tcmu {}: re-attached to {} (ring reset: commands left by the previous handler end BUSY)",
                     e.name, backstore->configfs_path);
      }
      TcmuDeviceSettings device;
      device.name = e.name;
      device.uio_device = backstore->uio_device;
      device.map_size = backstore->map_size;
      device.target = e.target;
      device.lun = e.lun;
      device.nexus = e.nexus;
      auto opened = TcmuDevice::open(std::move(device), loops_.loop(next_loop++ % loops_.size()));
      if (!opened.ok()) return opened.status();
      {
        std::lock_guard lock(mutex_);
        devices_[backstore->uio_device] = *opened;
      }
      (*opened)->start();
    }
    return {};
  }

  void stop(std::chrono::milliseconds grace) override {
    std::map<std::string, std::shared_ptr<TcmuDevice>> devices;
    {
      std::lock_guard lock(mutex_);
      devices.swap(devices_);
    }
    for (auto& [uio, device] : devices) stop_device(device, grace);
    if (netlink_thread_.joinable()) {
      stopping_ = true;
      const uint64_t one = 1;
      (void)::write(wake_fd_, &one, sizeof one);
      netlink_thread_.join();
    }
    if (wake_fd_ >= 0) ::close(std::exchange(wake_fd_, -1));
    netlink_.reset();  // the kernel stops waiting for answers
  }

 private:
  static void stop_device(const std::shared_ptr<TcmuDevice>& device, std::chrono::milliseconds grace) {
    auto stopped = std::make_shared<std::promise<void>>();
    auto done = stopped->get_future();
    device->stop([stopped]() { stopped->set_value(); });
    if (done.wait_for(grace) != std::future_status::ready) {
      spdlog::warn("tcmu {}: commands still in the core after {} ms; the ring keeps them", device->name(),
                   grace.count());
    }
  }

  void netlink_loop() {
    while (!stopping_) {
      pollfd fds[2] = {{netlink_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
        spdlog::error("tcmu: waiting for netlink events failed: {}", std::strerror(errno));
        return;
      }
      if (stopping_) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      Status s = netlink_->process([this](const TcmuDeviceEvent& event) { return on_device_event(event); });
      if (!s.ok()) spdlog::warn("tcmu: netlink: {}", s.message());
    }
  }

  // Runs on the netlink thread; the kernel waits for the answer.
  int on_device_event(const TcmuDeviceEvent& event) {
    const std::string uio = settings_.dev_root + "/uio" + std::to_string(event.minor);
    std::shared_ptr<TcmuDevice> device;
    {
      std::lock_guard lock(mutex_);
      auto it = devices_.find(uio);
      if (it != devices_.end()) device = it->second;
    }
    switch (event.kind) {
      case TcmuDeviceEvent::Kind::added:
        // Ours are opened by start() once enabling returns; others are not Portico's to serve.
        return 0;
      case TcmuDeviceEvent::Kind::removed:
        if (device) {
          // An administrator removed the backstore: stop using its ring before the kernel frees it.
          spdlog::warn("tcmu {}: backstore {} removed from configfs; no longer served", device->name(), event.device);
          {
            std::lock_guard lock(mutex_);
            devices_.erase(uio);
          }
          stop_device(device, kRemoveWait);
        }
        return 0;
      case TcmuDeviceEvent::Kind::reconfigured:
        if (!device) return 0;
        return reconfigure(*device, event);
    }
    return 0;
  }

  int reconfigure(const TcmuDevice& device, const TcmuDeviceEvent& event) {
    const TcmuExport* e = nullptr;
    for (const auto& candidate : settings_.exports) {
      if (candidate.name == device.name()) e = &candidate;
    }
    if (e == nullptr) return 0;
    // The unit's size and configuration are Portico's (the image), not LIO's to change.
    if (event.dev_size && *event.dev_size != e->size_bytes) {
      spdlog::warn("tcmu {}: refused a dev_size of {} bytes: the unit has {} (resize the image instead)", e->name,
                   *event.dev_size, e->size_bytes);
      return -EINVAL;
    }
    if (event.dev_config) {
      spdlog::warn("tcmu {}: refused dev_config '{}': the backstore is porticod's", e->name, *event.dev_config);
      return -EINVAL;
    }
    if (event.write_cache) spdlog::info("tcmu {}: LIO's write cache setting now {}", e->name, *event.write_cache);
    return 0;
  }

  TcmuFrontendSettings settings_;
  runtime::LoopGroup& loops_;
  LioConfigfs configfs_;
  std::unique_ptr<TcmuNetlink> netlink_;
  std::thread netlink_thread_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<TcmuDevice>> devices_;  // by "/dev/uioN"
};

}  // namespace

Result<std::unique_ptr<TcmuFrontend>> TcmuFrontend::create(TcmuFrontendSettings settings, runtime::LoopGroup& loops) {
  if (settings.exports.empty()) return error(ErrorCode::invalid_argument, "tcmu: no export configured");
  if (loops.size() == 0) return error(ErrorCode::invalid_argument, "tcmu: no event loop");
  return std::unique_ptr<TcmuFrontend>(std::make_unique<TcmuFrontendImpl>(std::move(settings), loops));
}

}  // namespace portico::tcmu
