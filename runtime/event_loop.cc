#include "runtime/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

namespace portico::runtime {
namespace {

// user_data values that are not op records (records are pointers, never 0 or 1).
constexpr uint64_t kIgnoreTag = 0;  // cancel requests: their own CQE carries nothing we need
constexpr uint64_t kWakeTag = 1;    // the eventfd read that post() and stop() complete

thread_local EventLoop* t_current = nullptr;

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create(unsigned queue_depth) {
  if (queue_depth == 0 || queue_depth > 32768) {
    return error(ErrorCode::invalid_argument, "event loop: queue depth " + std::to_string(queue_depth) +
                                                  " out of range 1..32768");
  }
  std::unique_ptr<EventLoop> loop(new EventLoop());
  io_uring_params params{};
  // A completion queue larger than the submission queue: a burst of completions while the loop
  // is busy running callbacks does not overflow.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = queue_depth * 4;
  int rc = io_uring_queue_init_params(queue_depth, &loop->ring_, &params);
  if (rc == -EINVAL) {  // older kernel without SUBMIT_ALL
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = queue_depth * 4;
    rc = io_uring_queue_init_params(queue_depth, &loop->ring_, &params);
  }
  if (rc < 0) {
    return error(ErrorCode::io_error, "event loop: io_uring_queue_init(" + std::to_string(queue_depth) +
                                          ") failed: " + errno_text(-rc));
  }
  loop->ring_ready_ = true;
  loop->wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (loop->wake_fd_ < 0) {
    return error(ErrorCode::io_error, "event loop: eventfd failed: " + errno_text(errno));
  }
  loop->arm_wakeup();
  return loop;
}

EventLoop::~EventLoop() {
  // Exiting the ring cancels whatever the kernel still holds; the op records (and the
  // callbacks they own) are destroyed afterwards without being run.
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

EventLoop* EventLoop::current() { return t_current; }

bool EventLoop::in_executor_thread() const { return thread_id_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }

void EventLoop::run() {
  EventLoop* previous = std::exchange(t_current, this);
  thread_id_.store(std::this_thread::get_id());
  while (!stopping_.load(std::memory_order_acquire)) run_iteration();
  thread_id_.store(std::thread::id{});
  t_current = previous;
}

void EventLoop::stop() {
  stopping_.store(true, std::memory_order_release);
  wake();
}

void EventLoop::wake() {
  uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(wake_fd_, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  // EAGAIN means the counter is saturated: the loop is awake anyway.
}

void EventLoop::post(UniqueFunction<void()> fn) {
  if (in_executor_thread()) {
    local_tasks_.push_back(std::move(fn));
    return;
  }
  {
    std::lock_guard lock(remote_mutex_);
    remote_tasks_.push_back(std::move(fn));
    remote_pending_.store(true, std::memory_order_release);
  }
  // One eventfd write per wake-up, however many threads post before the loop sees it.
  if (!wake_armed_.exchange(true, std::memory_order_acq_rel)) wake();
}

void EventLoop::run_posted() {
  if (remote_pending_.load(std::memory_order_acquire)) {
    {
      std::lock_guard lock(remote_mutex_);
      remote_batch_.swap(remote_tasks_);  // both keep their capacity: no allocation per batch
      remote_pending_.store(false, std::memory_order_relaxed);
    }
    for (size_t i = 0; i < remote_batch_.size(); ++i) remote_batch_[i]();
    remote_batch_.clear();
  }
  if (!local_tasks_.empty()) {
    // Swapped so that tasks posted by these tasks run on the next iteration, after I/O.
    running_tasks_.swap(local_tasks_);
    for (size_t i = 0; i < running_tasks_.size(); ++i) running_tasks_[i]();
    running_tasks_.clear();
  }
}

void EventLoop::run_iteration() {
  run_posted();
  timers_.run_expired(TimerQueue::Clock::now());
  if (stopping_.load(std::memory_order_acquire)) return;

  int rc = 0;
  if (!local_tasks_.empty() || remote_pending_.load(std::memory_order_acquire)) {
    rc = io_uring_submit(&ring_);  // more work already queued: do not sleep
  } else if (auto deadline = timers_.next_deadline()) {
    auto wait = *deadline - TimerQueue::Clock::now();
    if (wait < TimerQueue::Clock::duration::zero()) wait = TimerQueue::Clock::duration::zero();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    __kernel_timespec ts{};
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    rc = io_uring_submit_and_wait(&ring_, 1);
  }
  if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EAGAIN && rc != -EBUSY) {
    spdlog::error("event loop: io_uring_submit failed: {}", errno_text(-rc));
  }
  process_completions();
}

void EventLoop::stash_completions() {
  io_uring_cqe* cqes[64];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 64);
    if (n == 0) return;
    for (unsigned i = 0; i < n; ++i) completed_.push_back(Completed{cqes[i]->user_data, cqes[i]->res});
    io_uring_cq_advance(&ring_, n);
  }
}

void EventLoop::process_completions() {
  stash_completions();
  // By index and by value: a callback may start operations, and a full submission queue makes
  // next_sqe() stash more completions onto this vector.
  for (size_t i = 0; i < completed_.size(); ++i) {
    Completed c = completed_[i];
    if (c.user_data == kIgnoreTag) continue;
    if (c.user_data == kWakeTag) {
      // Reset before the queue is next drained (run_posted): a post that lands after this
      // store writes the eventfd again.
      wake_armed_.store(false, std::memory_order_release);
      arm_wakeup();
      continue;
    }
    auto* op = reinterpret_cast<OpPool<Completion>::Op*>(c.user_data);  // NOLINT
    Completion done = std::move(op->callback);
    op->callback.reset();
    ops_.release(op);
    // Last use of the record: the callback may destroy anything, including its owner.
    done(c.result);
  }
  completed_.clear();
}

io_uring_sqe* EventLoop::next_sqe() {
  for (;;) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe != nullptr) return sqe;
    // Submission queue full: hand the batch to the kernel now and retry.
    int rc = io_uring_submit(&ring_);
    if (rc == -EBUSY || rc == -EAGAIN) {
      // The completion queue is backed up; move CQEs aside (their callbacks run later in
      // process_completions, never re-entrantly here).
      stash_completions();
    } else if (rc < 0 && rc != -EINTR) {
      spdlog::error("event loop: io_uring_submit (queue full) failed: {}", errno_text(-rc));
    }
  }
}

void EventLoop::arm_wakeup() {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, kWakeTag);
}

io_uring_sqe* EventLoop::prepare(Completion done) {
  io_uring_sqe* sqe = next_sqe();
  auto* op = ops_.acquire();
  op->callback = std::move(done);
  io_uring_sqe_set_data(sqe, op);
  return sqe;
}

void EventLoop::accept(int fd, Completion done) {
  io_uring_prep_accept(prepare(std::move(done)), fd, nullptr, nullptr, SOCK_CLOEXEC);
}

void EventLoop::recv(int fd, std::span<uint8_t> buffer, Completion done) {
  io_uring_prep_recv(prepare(std::move(done)), fd, buffer.data(), buffer.size(), 0);
}

void EventLoop::send(int fd, std::span<const uint8_t> buffer, Completion done) {
  io_uring_prep_send(prepare(std::move(done)), fd, buffer.data(), buffer.size(), MSG_NOSIGNAL);
}

void EventLoop::sendmsg(int fd, const msghdr* message, Completion done) {
  io_uring_prep_sendmsg(prepare(std::move(done)), fd, message, MSG_NOSIGNAL);
}

void EventLoop::read(int fd, std::span<uint8_t> buffer, uint64_t offset, Completion done) {
  io_uring_prep_read(prepare(std::move(done)), fd, buffer.data(), static_cast<unsigned>(buffer.size()), offset);
}

void EventLoop::poll(int fd, unsigned events, Completion done) {
  io_uring_prep_poll_add(prepare(std::move(done)), fd, events);
}

void EventLoop::write(int fd, std::span<const uint8_t> buffer, uint64_t offset, Completion done) {
  io_uring_prep_write(prepare(std::move(done)), fd, buffer.data(), static_cast<unsigned>(buffer.size()), offset);
}

void EventLoop::readv(int fd, const iovec* iov, unsigned count, uint64_t offset, Completion done) {
  io_uring_prep_readv(prepare(std::move(done)), fd, iov, count, offset);
}

void EventLoop::writev(int fd, const iovec* iov, unsigned count, uint64_t offset, Completion done) {
  io_uring_prep_writev(prepare(std::move(done)), fd, iov, count, offset);
}

void EventLoop::writev_flags(int fd, const iovec* iov, unsigned count, uint64_t offset, int rw_flags,
                             Completion done) {
  io_uring_prep_writev2(prepare(std::move(done)), fd, iov, count, offset, rw_flags);
}

void EventLoop::fsync(int fd, bool datasync, Completion done) {
  io_uring_prep_fsync(prepare(std::move(done)), fd, datasync ? IORING_FSYNC_DATASYNC : 0u);
}

void EventLoop::fallocate(int fd, int mode, uint64_t offset, uint64_t length, Completion done) {
  io_uring_prep_fallocate(prepare(std::move(done)), fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length));
}

void EventLoop::cancel_fd(int fd) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, kIgnoreTag);
}

EventLoop::TimerId EventLoop::schedule_after(std::chrono::milliseconds delay, UniqueFunction<void()> fn) {
  return timers_.add(TimerQueue::Clock::now() + delay, std::move(fn));
}

void EventLoop::cancel_timer(TimerId id) { timers_.cancel(id); }

}  // namespace portico::runtime
