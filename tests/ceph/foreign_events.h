// What a gateway of another release does on a LUN's RADOS object (portico.lun.<key>), for tests
// of event versioning: it notifies events this release cannot decode, and it refuses ("error:
// ...") the events this release publishes.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <rados/librados.h>

#include "ceph/rados_connection.h"
#include "tests/ceph/ceph_test_env.h"

namespace portico::testing {

// Notifies `payload` on `object` from `connection` and returns each watcher's answer; a watcher
// that did not answer within 3 s fails the test.
inline std::vector<std::string> notify_and_collect_answers(ceph::RadosConnection& connection,
                                                           const std::string& object, const std::string& payload) {
  std::vector<std::string> answers;
  auto ioctx = connection.open_pool(ceph_pool());
  EXPECT_TRUE(ioctx.ok());
  if (!ioctx.ok()) return answers;
  char* reply = nullptr;
  size_t reply_length = 0;
  const int ret = rados_notify2(*ioctx, object.c_str(), payload.data(), static_cast<int>(payload.size()), 3000,
                                &reply, &reply_length);
  EXPECT_EQ(ret, 0) << "rados_notify2 on " << object << ": " << ceph::rados_error_text(ret);
  notify_ack_t* acks = nullptr;
  notify_timeout_t* timeouts = nullptr;
  size_t ack_count = 0;
  size_t timeout_count = 0;
  if (reply != nullptr &&
      rados_decode_notify_response(reply, reply_length, &acks, &ack_count, &timeouts, &timeout_count) == 0) {
    for (size_t i = 0; i < ack_count; ++i) {
      answers.emplace_back(acks[i].payload != nullptr ? acks[i].payload : "", acks[i].payload_len);
    }
    EXPECT_EQ(timeout_count, 0u) << "watchers of " << object << " did not answer";
    rados_free_notify_response(acks, ack_count, timeouts);
  }
  if (reply != nullptr) rados_buffer_free(reply);
  rados_ioctx_destroy(*ioctx);
  return answers;
}

// A watcher of `object` that answers every event as a gateway of an older release answers one
// it cannot decode, applying nothing. Whether it can be fenced depends on whether its client
// (`connection`) registered as a gateway.
class RefusingWatcher {
 public:
  RefusingWatcher(std::shared_ptr<ceph::RadosConnection> connection, std::string object)
      : connection_(std::move(connection)), object_(std::move(object)) {
    auto ioctx = connection_->open_pool(ceph_pool());
    EXPECT_TRUE(ioctx.ok());
    if (!ioctx.ok()) return;
    io_ = *ioctx;
    const int ret = rados_watch3(io_, object_.c_str(), &cookie_, &RefusingWatcher::on_notify,
                                 &RefusingWatcher::on_error, 5, this);
    EXPECT_EQ(ret, 0) << "rados_watch3 on " << object_ << ": " << ceph::rados_error_text(ret);
    if (ret != 0) cookie_ = 0;
  }
  ~RefusingWatcher() {
    if (cookie_ != 0) rados_unwatch2(io_, cookie_);  // fails once fenced: nothing left to undo
    rados_watch_flush(connection_->handle());
    if (io_ != nullptr) rados_ioctx_destroy(io_);
  }
  RefusingWatcher(const RefusingWatcher&) = delete;
  RefusingWatcher& operator=(const RefusingWatcher&) = delete;

  [[nodiscard]] bool watching() const { return cookie_ != 0; }
  [[nodiscard]] int refused() const { return refused_.load(); }

 private:
  static void on_notify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t, void*, size_t) {
    auto* self = static_cast<RefusingWatcher*>(arg);
    const std::string reply = "error: lun event: format version 1 is newer than this gateway reads (up to version 0)";
    rados_notify_ack(self->io_, self->object_.c_str(), notify_id, cookie, reply.data(), static_cast<int>(reply.size()));
    ++self->refused_;
  }
  static void on_error(void*, uint64_t, int) {}

  std::shared_ptr<ceph::RadosConnection> connection_;
  std::string object_;
  rados_ioctx_t io_ = nullptr;
  uint64_t cookie_ = 0;
  std::atomic<int> refused_{0};
};

}  // namespace portico::testing
