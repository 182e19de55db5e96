#include "frontends/nvmeof/rdma/rdma_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "frontends/nvmeof/rdma/rdma_queue.h"
#include "runtime/loop_group.h"
#include "runtime/peer_limits.h"
#include "runtime/socket_address.h"

namespace portico::nvmeof {
namespace {

constexpr std::chrono::milliseconds kRelistenPeriod{5000};

std::string address_text(const sockaddr* address) {
  if (address == nullptr) return "?";
  const socklen_t length = address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  auto parsed = runtime::SocketAddress::from_sockaddr(address, length);
  return parsed.ok() ? parsed->to_string() : "?";
}

// Runs `fn` on `loop` and waits for it.
void run_on(runtime::EventLoop& loop, UniqueFunction<void()> fn) {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  loop.post([&]() {
    fn();
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return done; });
}

class RdmaListenerImpl final : public RdmaListener {
 public:
  RdmaListenerImpl(RdmaListenerSettings settings, ServerContext& context, runtime::LoopGroup& loops)
      : settings_(std::move(settings)), context_(context), loops_(loops),
        by_address_(settings_.max_queues_per_address), shards_(loops.size()) {
    for (size_t i = 0; i < loops.size(); ++i) shards_[i].loop = &loops.loop(i);
  }

  ~RdmaListenerImpl() override {
    if (channel_ != nullptr) stop(std::chrono::milliseconds(0));
  }

  Status start() override {
    channel_ = rdma_create_event_channel();
    if (channel_ == nullptr) {
      return error(ErrorCode::io_error, std::string("nvme-rdma: rdma_create_event_channel: ") + std::strerror(errno) +
                                            " (is rdma_ucm loaded and /dev/infiniband/rdma_cm there?)");
    }
    const int flags = fcntl(channel_->fd, F_GETFL);
    if (flags < 0 || fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      return error(ErrorCode::io_error, std::string("nvme-rdma: event channel O_NONBLOCK: ") + std::strerror(errno));
    }
    listen_ids_.assign(settings_.listeners.size(), nullptr);
    for (size_t i = 0; i < settings_.listeners.size(); ++i) {
      if (auto status = listen(i); !status.ok()) return status;
      bound_.push_back(settings_.listeners[i]);
    }
    loops_.loop(0).post([this]() { arm_channel(); });
    return Status::ok_status();
  }

  [[nodiscard]] const std::vector<std::string>& bound_listeners() const override { return bound_; }
  [[nodiscard]] size_t queue_count() const override { return open_queues_.load(); }

  void stop(std::chrono::milliseconds grace) override {
    if (channel_ == nullptr) return;
    run_on(loops_.loop(0), [this]() {
      stopping_ = true;
      for (auto*& id : listen_ids_) {
        if (id != nullptr) rdma_destroy_id(std::exchange(id, nullptr));
      }
      if (relisten_timer_ != 0) loops_.loop(0).cancel_timer(std::exchange(relisten_timer_, 0));
    });
    for_each_queue([](RdmaQueue& q) { q.drain(); });
    wait_until_closed(std::chrono::steady_clock::now() + grace);
    if (open_queues_.load() > 0) {
      spdlog::warn("nvme-rdma: {} queue(s) still busy after {} ms; closing them", open_queues_.load(), grace.count());
      for_each_queue([](RdmaQueue& q) { q.close("gateway shutting down"); });
      wait_until_closed(std::chrono::steady_clock::now() + std::chrono::seconds(6));
    }
    // The channel's poll ends before the channel goes.
    run_on(loops_.loop(0), [this]() {
      channel_closing_ = true;
      if (channel_poll_pending_) loops_.loop(0).cancel_fd(channel_->fd);
    });
    while (true) {
      bool pending = true;
      run_on(loops_.loop(0), [&]() { pending = channel_poll_pending_; });
      if (!pending) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    run_on(loops_.loop(0), [this]() { devices_.clear(); });
    rdma_destroy_event_channel(std::exchange(channel_, nullptr));
  }

 private:
  struct Shard {
    runtime::EventLoop* loop = nullptr;
    std::unordered_map<uint64_t, std::shared_ptr<RdmaQueue>> queues;  // touched on `loop` only
  };

  Status listen(size_t index) {
    const std::string& text = settings_.listeners[index];
    auto address = runtime::SocketAddress::parse(text);
    if (!address.ok()) return error(ErrorCode::invalid_argument, "nvme-rdma: listener " + text + ": " + address.status().message());
    rdma_cm_id* id = nullptr;
    if (rdma_create_id(channel_, &id, nullptr, RDMA_PS_TCP) != 0) {
      return error(ErrorCode::io_error, "nvme-rdma: rdma_create_id for " + text + ": " + std::strerror(errno));
    }
    if (rdma_bind_addr(id, const_cast<sockaddr*>(address->sockaddr_ptr())) != 0 || rdma_listen(id, 128) != 0) {
      const int e = errno;
      rdma_destroy_id(id);
      return error(ErrorCode::io_error, "nvme-rdma: cannot listen on " + text + ": " + std::strerror(e) +
                                            (e == ENODEV || e == EADDRNOTAVAIL
                                                 ? " (no RDMA device has this address: see README, NVMe/RDMA)"
                                                 : ""));
    }
    if (id->verbs == nullptr) {
      // Bound to a wildcard address: no device is known until a host comes.
      spdlog::info("nvme-rdma: listening on {}", text);
    } else {
      spdlog::info("nvme-rdma: listening on {} (device {})", text, ibv_get_device_name(id->verbs->device));
    }
    listen_ids_[index] = id;
    return Status::ok_status();
  }

  // --- on loop 0 ---
  void arm_channel() {
    if (channel_closing_) return;
    channel_poll_pending_ = true;
    loops_.loop(0).poll(channel_->fd, POLLIN, [this](int result) {
      channel_poll_pending_ = false;
      if (result < 0 || channel_closing_) return;
      take_events();
      arm_channel();
    });
  }

  void take_events() {
    rdma_cm_event* event = nullptr;
    while (rdma_get_cm_event(channel_, &event) == 0) {
      const rdma_cm_event_type type = event->event;
      const int status = event->status;
      rdma_cm_id* id = event->id;
      if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
        on_connect_request(event);  // acknowledges the event
        continue;
      }
      const bool listener_event = is_listener(id);
      std::weak_ptr<RdmaQueue> queue;
      runtime::EventLoop* loop = nullptr;
      if (!listener_event && id->context != nullptr) {
        // Read before the acknowledgement: until then the queue cannot destroy the id (and this).
        auto* context = static_cast<RdmaCmContext*>(id->context);
        queue = context->queue;
        loop = context->loop;
      }
      rdma_ack_cm_event(event);
      if (listener_event) {
        on_listener_event(id, type);
      } else if (loop != nullptr) {
        loop->post([queue, type, status]() {
          if (auto q = queue.lock()) q->on_cm_event(type, status);
        });
      }
    }
  }

  bool is_listener(const rdma_cm_id* id) const {
    for (const auto* l : listen_ids_) {
      if (l == id) return true;
    }
    return false;
  }

  void on_listener_event(rdma_cm_id* id, rdma_cm_event_type type) {
    if (type != RDMA_CM_EVENT_DEVICE_REMOVAL) return;
    for (size_t i = 0; i < listen_ids_.size(); ++i) {
      if (listen_ids_[i] != id) continue;
      spdlog::warn("nvme-rdma: the RDMA device under {} was removed; listening again once it is back",
                   settings_.listeners[i]);
      if (id->verbs != nullptr) devices_.erase(id->verbs);  // queues on it keep it until they end
      rdma_destroy_id(id);
      listen_ids_[i] = nullptr;
    }
    schedule_relisten();
  }

  void schedule_relisten() {
    if (relisten_timer_ != 0 || stopping_) return;
    relisten_timer_ = loops_.loop(0).schedule_after(kRelistenPeriod, [this]() {
      relisten_timer_ = 0;
      bool missing = false;
      for (size_t i = 0; i < listen_ids_.size(); ++i) {
        if (listen_ids_[i] != nullptr) continue;
        if (auto status = listen(i); !status.ok()) {
          spdlog::debug("{}", status.message());
          missing = true;
        }
      }
      if (missing) schedule_relisten();
    });
  }

  void reject(rdma_cm_id* id, RdmaCmRejectStatus status, const std::string& peer, const std::string& why) {
    const auto data = encode_rdma_cm_reject(status);
    rdma_reject(id, data.data(), static_cast<uint8_t>(data.size()));
    if (const auto log = context_.peer_log.allow(); log.write) {
      spdlog::warn("nvme-rdma: connect request from {} rejected ({}): {}{}", peer, rdma_cm_reject_name(status), why,
                   suppressed_note(log.suppressed_before));
    }
  }

  void on_connect_request(rdma_cm_event* event) {
    rdma_cm_id* id = event->id;
    const std::string peer = address_text(rdma_get_peer_addr(id));
    const std::string local = address_text(rdma_get_local_addr(id));
    const std::span<const uint8_t> private_data(static_cast<const uint8_t*>(event->param.conn.private_data),
                                                event->param.conn.private_data_len);
    const uint8_t host_read_responders = event->param.conn.initiator_depth;
    auto decoded = decode_rdma_cm_request(private_data);
    rdma_ack_cm_event(event);
    const auto fail = [&](RdmaCmRejectStatus status, const std::string& why) {
      reject(id, status, peer, why);
      rdma_destroy_id(id);
    };
    if (auto* status = std::get_if<RdmaCmRejectStatus>(&decoded)) {
      return fail(*status, std::to_string(private_data.size()) + " bytes of private data");
    }
    const auto& request = std::get<RdmaCmRequest>(decoded);
    if (stopping_) return fail(RdmaCmRejectStatus::no_resources, "the gateway is shutting down");
    if (open_queues_.load() >= settings_.max_queues) {
      return fail(RdmaCmRejectStatus::no_resources, std::to_string(settings_.max_queues) + " queues are open");
    }
    auto device = device_for(id->verbs);
    if (!device) return fail(RdmaCmRejectStatus::no_resources, "the RDMA device cannot be opened");
    const ibv_device_attr& attr = device->attributes();
    RdmaQueueLimits limits;
    limits.io_queue_entries = settings_.io_queue_entries;
    limits.io_queues = settings_.io_queues;
    limits.device_work_requests = static_cast<uint32_t>(std::max(attr.max_qp_wr, 0));
    limits.device_read_depth = static_cast<uint8_t>(std::clamp(attr.max_qp_init_rd_atom, 0, 255));
    auto negotiated = negotiate_rdma_queue(request, host_read_responders, limits);
    if (auto* status = std::get_if<RdmaCmRejectStatus>(&negotiated)) {
      return fail(*status, "queue " + std::to_string(request.queue_id) + ", HSQSIZE " +
                               std::to_string(request.host_send_queue_size) + ", HRQSIZE " +
                               std::to_string(request.host_receive_queue_size) + ", host read depth " +
                               std::to_string(host_read_responders));
    }
    const std::string host = peer.substr(0, peer.rfind(':'));
    if (!by_address_.try_add(host)) {
      return fail(RdmaCmRejectStatus::no_resources,
                  std::to_string(settings_.max_queues_per_address) + " queues from this address are open");
    }
    const auto& shape = std::get<RdmaQueueShape>(negotiated);
    const size_t index = next_shard_++ % shards_.size();
    RdmaQueueSetup setup;
    setup.context = &context_;
    setup.loop = shards_[index].loop;
    setup.loop_index = index;
    setup.device = device;
    setup.cm_id = id;
    setup.shape = shape;
    const uint64_t queue_id = next_queue_id_++;
    setup.id = queue_id;
    setup.local_address = local;
    setup.peer_address = peer;
    setup.in_capsule_limit = context_.transport_limits().in_capsule_data;
    auto queue = std::make_shared<RdmaQueue>(std::move(setup));
    auto cm_context = std::make_unique<RdmaCmContext>();
    cm_context->queue = queue;
    cm_context->loop = shards_[index].loop;
    if (auto status = queue->create_resources(std::move(cm_context)); !status.ok()) {
      by_address_.remove(host);
      return fail(RdmaCmRejectStatus::no_resources, status.message());
    }
    const auto accept = encode_rdma_cm_accept(shape.entries);
    rdma_conn_param param{};
    param.private_data = accept.data();
    param.private_data_len = static_cast<uint8_t>(accept.size());
    param.initiator_depth = shape.read_depth;  // our RDMA READs in flight at the host
    param.responder_resources = 0;             // the host reads nothing of ours
    param.flow_control = 1;
    param.rnr_retry_count = 7;
    if (rdma_accept(id, &param) != 0) {
      const int e = errno;
      by_address_.remove(host);
      return fail(RdmaCmRejectStatus::no_resources, std::string("rdma_accept: ") + std::strerror(e));
    }
    ++open_queues_;
    shards_[index].loop->post([this, index, queue, host, queue_id]() {
      shards_[index].queues.emplace(queue_id, queue);
      queue->start([this, index, host](uint64_t closed_id) {
        shards_[index].queues.erase(closed_id);
        by_address_.remove(host);
        --open_queues_;
      });
    });
  }

  std::shared_ptr<RdmaDevice> device_for(ibv_context* verbs) {
    if (verbs == nullptr) return nullptr;
    if (auto it = devices_.find(verbs); it != devices_.end()) return it->second;
    auto device = RdmaDevice::open(verbs, shards_.size(), settings_.buffers);
    if (!device.ok()) {
      spdlog::error("nvme-rdma: {}", device.status().message());
      return nullptr;
    }
    devices_.emplace(verbs, *device);
    return *device;
  }

  void for_each_queue(void (*fn)(RdmaQueue&)) {
    for (auto& shard : shards_) {
      shard.loop->post([s = &shard, fn]() {
        auto snapshot = s->queues;  // queues remove themselves while closing
        for (auto& [key, queue] : snapshot) fn(*queue);
      });
    }
  }

  void wait_until_closed(std::chrono::steady_clock::time_point deadline) {
    while (open_queues_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  RdmaListenerSettings settings_;
  ServerContext& context_;
  runtime::LoopGroup& loops_;
  runtime::ConnectionCounter by_address_;
  std::vector<Shard> shards_;
  rdma_event_channel* channel_ = nullptr;
  std::vector<rdma_cm_id*> listen_ids_;
  std::vector<std::string> bound_;
  std::map<ibv_context*, std::shared_ptr<RdmaDevice>> devices_;  // loop 0 only
  bool stopping_ = false;
  bool channel_closing_ = false;
  bool channel_poll_pending_ = false;
  runtime::EventLoop::TimerId relisten_timer_ = 0;
  size_t next_shard_ = 0;
  uint64_t next_queue_id_ = 1;
  std::atomic<size_t> open_queues_{0};
};

}  // namespace

Result<std::unique_ptr<RdmaListener>> RdmaListener::create(RdmaListenerSettings settings, ServerContext& context,
                                                           runtime::LoopGroup& loops) {
  if (settings.listeners.empty()) return error(ErrorCode::invalid_argument, "nvme-rdma: no listener configured");
  for (const auto& l : settings.listeners) {
    if (auto parsed = runtime::SocketAddress::parse(l); !parsed.ok()) {
      return error(ErrorCode::invalid_argument, "nvme-rdma: listener " + l + ": " + parsed.status().message());
    }
  }
  return std::unique_ptr<RdmaListener>(std::make_unique<RdmaListenerImpl>(std::move(settings), context, loops));
}

}  // namespace portico::nvmeof
