// portico-rados-latency: what librados itself costs a 4 KiB read at depth 1, measured two ways on
// one object, alternating read by read:
//   wait      the caller sleeps in rados_aio_wait_for_complete; librados's messenger thread wakes
//             it directly.
//   callback  the completion callback (which librados runs on its own finisher thread) wakes the
//             caller through an eventfd, as the gateway's RBD backend wakes its event loop.
// The difference is the hand-off that every asynchronous librados user pays, rbd bench included
// (bench/bench_rbd.sh prints it beside the depth-1 ratios).
#include <rados/librados.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

constexpr size_t kIoSize = 4096;
constexpr size_t kObjectSize = 4u << 20;
constexpr int kWarmUp = 200;

struct Options {
  std::string conf;
  std::string pool = "rbd";
  std::string object = "portico-rados-latency";
  int reads = 4000;  // per way
};

struct Samples {
  std::vector<double> us;
  [[nodiscard]] double percentile(double pct) {
    std::sort(us.begin(), us.end());
    return us.empty() ? 0.0 : us[static_cast<size_t>(pct / 100.0 * static_cast<double>(us.size() - 1))];
  }
  [[nodiscard]] double mean() const {
    double sum = 0;
    for (double v : us) sum += v;
    return us.empty() ? 0.0 : sum / static_cast<double>(us.size());
  }
};

int fail(const std::string& what, int err) {
  std::fprintf(stderr, "portico-rados-latency: %s: %s\n", what.c_str(), std::strerror(err));
  return 1;
}

void wake_caller(rados_completion_t /*completion*/, void* arg) {
  const uint64_t one = 1;
  // A lost wake-up would hang the caller: eventfd writes only fail on a saturated counter.
  while (::write(*static_cast<int*>(arg), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

// One read; returns its latency in microseconds, or a negative errno.
double timed_read(rados_ioctx_t ioctx, const Options& options, uint64_t offset, char* buffer, bool by_callback,
                  int* wake_fd) {
  const auto start = std::chrono::steady_clock::now();
  rados_completion_t completion = nullptr;
  int ret = by_callback ? rados_aio_create_completion2(wake_fd, &wake_caller, &completion)
                        : rados_aio_create_completion2(nullptr, nullptr, &completion);
  if (ret < 0) return ret;
  ret = rados_aio_read(ioctx, options.object.c_str(), completion, buffer, kIoSize, offset);
  if (ret < 0) {
    rados_aio_release(completion);
    return ret;
  }
  if (by_callback) {
    uint64_t count = 0;
    while (::read(*wake_fd, &count, sizeof count) < 0 && errno == EINTR) {
    }
  } else {
    rados_aio_wait_for_complete(completion);
  }
  const auto end = std::chrono::steady_clock::now();
  if (by_callback) rados_aio_wait_for_complete_and_cb(completion);  // the callback has returned
  ret = rados_aio_get_return_value(completion);
  rados_aio_release(completion);
  if (ret < 0) return ret;
  return std::chrono::duration<double, std::micro>(end - start).count();
}

int run(const Options& options) {
  rados_t cluster = nullptr;
  int ret = rados_create(&cluster, nullptr);
  if (ret < 0) return fail("rados_create", -ret);
  if ((ret = rados_conf_read_file(cluster, options.conf.c_str())) < 0) {
    rados_shutdown(cluster);
    return fail("reading " + options.conf, -ret);
  }
  if ((ret = rados_connect(cluster)) < 0) {
    rados_shutdown(cluster);
    return fail("connecting with " + options.conf, -ret);
  }
  rados_ioctx_t ioctx = nullptr;
  if ((ret = rados_ioctx_create(cluster, options.pool.c_str(), &ioctx)) < 0) {
    rados_shutdown(cluster);
    return fail("opening pool " + options.pool, -ret);
  }
  int status = 0;
  std::vector<char> data(kObjectSize, 'p');
  int wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd < 0) {
    status = fail("eventfd", errno);
  } else if ((ret = rados_write_full(ioctx, options.object.c_str(), data.data(), data.size())) < 0) {
    status = fail("writing " + options.pool + "/" + options.object, -ret);
  } else {
    Samples waited;
    Samples called_back;
    std::mt19937_64 random(1);
    std::uniform_int_distribution<uint64_t> block(0, kObjectSize / kIoSize - 1);
    std::array<char, kIoSize> buffer{};
    for (int i = 0; i < 2 * (options.reads + kWarmUp) && status == 0; ++i) {
      const bool by_callback = (i % 2) == 1;
      const double us = timed_read(ioctx, options, block(random) * kIoSize, buffer.data(), by_callback, &wake_fd);
      if (us < 0) {
        status = fail("reading " + options.pool + "/" + options.object, static_cast<int>(-us));
      } else if (i >= 2 * kWarmUp) {
        (by_callback ? called_back : waited).us.push_back(us);
      }
    }
    rados_remove(ioctx, options.object.c_str());
    if (status == 0) {
      const double wait_p50 = waited.percentile(50);
      const double callback_p50 = called_back.percentile(50);
      std::printf("wait_p50_us=%.1f wait_mean_us=%.1f callback_p50_us=%.1f callback_mean_us=%.1f handoff_p50_us=%.1f reads=%d\n",
                  wait_p50, waited.mean(), callback_p50, called_back.mean(), callback_p50 - wait_p50, options.reads);
    }
  }
  if (wake_fd >= 0) ::close(wake_fd);
  rados_ioctx_destroy(ioctx);
  rados_shutdown(cluster);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"4 KiB reads at depth 1 through librados: the caller waiting on the completion against a completion "
               "callback that wakes it (the hand-off an asynchronous gateway pays)"};
  app.add_option("--conf", options.conf, "ceph.conf of the cluster")->required();
  app.add_option("--pool", options.pool, "pool to write the probe object in")->capture_default_str();
  app.add_option("--object", options.object, "name of the probe object (4 MiB, removed at the end)")
      ->capture_default_str();
  app.add_option("--reads", options.reads, "reads per way")->check(CLI::Range(1, 10'000'000))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return run(options);
}
