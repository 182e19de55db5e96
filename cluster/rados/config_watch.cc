#include "cluster/rados/config_watch.h"

#include <spdlog/spdlog.h>

#include "cluster/rados/config_record.h"

namespace portico::cluster::rados {
namespace {

constexpr uint32_t kWatchTimeoutS = 30;

}  // namespace

std::string ConfigAnswer::encode() const {
  return (applied ? "applied " : "refused ") + std::to_string(version) + (applied ? "" : ": " + why);
}

ConfigAnswer ConfigAnswer::decode(const std::string& text) {
  ConfigAnswer answer;
  const bool applied = text.rfind("applied ", 0) == 0;
  const bool refused = text.rfind("refused ", 0) == 0;
  if (!applied && !refused) {
    answer.why = text.empty() ? "no answer" : "unreadable answer: " + text.substr(0, 80);
    return answer;
  }
  answer.applied = applied;
  size_t end = 8;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
    answer.version = answer.version * 10 + static_cast<uint64_t>(text[end] - '0');
    ++end;
  }
  if (refused && text.compare(end, 2, ": ") == 0) answer.why = text.substr(end + 2);
  return answer;
}

ConfigWatch::ConfigWatch(std::shared_ptr<Pool> pool, std::string object, uint64_t served_version,
                         std::chrono::milliseconds poll_interval, Apply apply)
    : pool_(std::move(pool)),
      object_(std::move(object)),
      poll_interval_(poll_interval),
      apply_(std::move(apply)),
      last_version_(served_version),
      last_answer_{served_version, true, {}} {
  thread_ = std::thread([this]() { run(); });
}

ConfigWatch::~ConfigWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (cookie_ != 0) rados_unwatch2(pool_->ioctx(), cookie_);
  rados_watch_flush(pool_->cluster());  // no callback runs after this
}

void ConfigWatch::on_notify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t /*notifier_id*/, void* /*data*/,
                            size_t /*length*/) {
  auto* self = static_cast<ConfigWatch*>(arg);
  {
    std::lock_guard lock(self->mutex_);
    self->pending_.push_back({notify_id, cookie});
  }
  self->wake_.notify_all();
}

void ConfigWatch::on_watch_error(void* arg, uint64_t cookie, int err) {
  auto* self = static_cast<ConfigWatch*>(arg);
  {
    std::lock_guard lock(self->mutex_);
    if (cookie != self->cookie_) return;
    self->watch_lost_ = true;
    self->lost_signal_ = true;
  }
  spdlog::warn("config: watch of {} lost ({}): watching again, and reading the record meanwhile",
               self->pool_->where(self->object_), ceph::rados_error_text(err));
  self->wake_.notify_all();
}

void ConfigWatch::ensure_watch() {
  {
    std::lock_guard lock(mutex_);
    if (!watch_lost_) return;
  }
  if (cookie_ != 0) {
    rados_unwatch2(pool_->ioctx(), cookie_);
    std::lock_guard lock(mutex_);
    cookie_ = 0;
  }
  uint64_t cookie = 0;
  // The record may not exist yet: a watch creates nothing, so make sure there is an object.
  rados_write_op_t create = rados_create_write_op();
  rados_write_op_create(create, LIBRADOS_CREATE_IDEMPOTENT, nullptr);
  int ret = rados_write_op_operate(create, pool_->ioctx(), object_.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
  rados_release_write_op(create);
  if (ret == 0) {
    ret = rados_watch3(pool_->ioctx(), object_.c_str(), &cookie, &ConfigWatch::on_notify, &ConfigWatch::on_watch_error,
                       kWatchTimeoutS, this);
  }
  if (ret < 0) {
    if (ret == -kBlocklisted) pool_->report_blocklisted("watching " + pool_->where(object_));
    spdlog::warn("config: cannot watch {}: {} (polling every {} ms meanwhile)", pool_->where(object_),
                 ceph::rados_error_text(ret), poll_interval_.count());
    return;
  }
  std::lock_guard lock(mutex_);
  cookie_ = cookie;
  watch_lost_ = false;
}

void ConfigWatch::check_record(std::vector<PendingAck> acks) {
  auto record = read_config_record(*pool_, object_);
  // Written while it was read (a change landing): read it again, it is whole now or soon.
  for (int again = 0; again < 5 && !record.ok() && record.status().code() == ErrorCode::busy; ++again) {
    record = read_config_record(*pool_, object_);
  }
  if (!record.ok()) {
    spdlog::warn("config: {}", record.status().message());
  } else if (record->exists && record->version != 0 && record->version != last_version_) {
    last_version_ = record->version;
    last_answer_ = apply_(record->version, record->data);
  }
  const std::string answer = last_answer_.encode();
  for (const auto& ack : acks) {
    const int ret = rados_notify_ack(pool_->ioctx(), object_.c_str(), ack.notify_id, ack.cookie, answer.data(),
                                     static_cast<int>(answer.size()));
    if (ret < 0) spdlog::warn("config: {}: rados_notify_ack: {}", pool_->where(object_), ceph::rados_error_text(ret));
  }
}

void ConfigWatch::run() {
  for (;;) {
    ensure_watch();
    std::vector<PendingAck> acks;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, poll_interval_, [this]() { return stopping_ || !pending_.empty() || lost_signal_; });
      if (stopping_) return;
      lost_signal_ = false;
      acks.swap(pending_);
    }
    check_record(std::move(acks));
  }
}

}  // namespace portico::cluster::rados
