// The core's own cost per command, without a network or a backend: READ(10)s of one block through
// ScsiTarget::execute on an in-memory device that completes inline, from one or two threads,
// each acting as an event loop with its own I_T nexus, on one logical unit that has no
// reservation state, one registration per nexus, or those registrations and a reservation (write
// exclusive, registrants only). What is left is the unit's path: unit attention check, task set
// link and unlink, access state, reservation rules, mode parameters, and the command itself.
//
//   build/release/bench/portico-bench-unit-hot-path [--benchmark_repetitions=5 ...]
//
// The same file builds against earlier commits, before the logical unit kept per-loop state (then
// the executor has no single_threaded()), so that one machine can compare before and after.
#include <benchmark/benchmark.h>

#include <thread>

#include "tests/unit/core/test_fixtures.h"

#if __has_include("core/scsi/unit_loop_slots.h") || __has_include("core/unit_loop_slots.h")
#define PORTICO_BENCH_EXECUTOR_OVERRIDE override
#else
#define PORTICO_BENCH_EXECUTOR_OVERRIDE
#endif

namespace portico {
namespace {

// An event loop as the unit sees it: single threaded, its work runs inline on the thread that
// owns it (the benchmark thread).
class BenchLoop final : public Executor {
 public:
  void post(UniqueFunction<void()> fn) override { fn(); }
  void post_after(std::chrono::milliseconds, UniqueFunction<void()> fn) override { fn(); }
  [[nodiscard]] bool in_executor_thread() const override { return std::this_thread::get_id() == owner_; }
  [[nodiscard]] bool single_threaded() const PORTICO_BENCH_EXECUTOR_OVERRIDE { return true; }

 private:
  std::thread::id owner_ = std::this_thread::get_id();
};

enum class PrState { none, registered, reserved };

constexpr int kMaxThreads = 2;

// One target per reservation state, built once (before any benchmark thread runs a command).
struct SharedUnit {
  explicit SharedUnit(PrState pr) {
    for (int i = 0; i < kMaxThreads; ++i) {
      nexus[i] = fixture.target.attach(testing::make_nexus("iqn.2026-11.io.portico:bench-" + std::to_string(i)));
      fixture.clear_ua(*nexus[i]);
      if (pr == PrState::none) continue;
      fixture.pr_out(*nexus[i], 0x00, 0, 0, 0x100 + static_cast<uint64_t>(i));  // REGISTER
    }
    if (pr == PrState::reserved) fixture.pr_out(*nexus[0], 0x01, 0x05, 0x100, 0);  // RESERVE, WE-RO
    // Registrations and the reservation raise unit attentions on the other nexuses: consume them.
    for (auto& n : nexus) fixture.clear_ua(*n);
  }
  testing::TargetFixture fixture;
  std::shared_ptr<scsi::NexusState> nexus[kMaxThreads];
};

SharedUnit& shared_unit(PrState pr) {
  static SharedUnit none(PrState::none), registered(PrState::registered), reserved(PrState::reserved);
  switch (pr) {
    case PrState::none: return none;
    case PrState::registered: return registered;
    case PrState::reserved: return reserved;
  }
  return none;
}

void read_one_block(benchmark::State& state, PrState pr) {
  SharedUnit& unit = shared_unit(pr);
  scsi::NexusState& nexus = *unit.nexus[state.thread_index()];
  BenchLoop loop;
  scsi::ScsiTask task;
  const std::array<uint8_t, 10> cdb{0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0};
  std::copy(cdb.begin(), cdb.end(), task.cdb_bytes.begin());
  task.direction = scsi::DataDirection::from_device;
  task.expected_transfer_length = 512;
  bool done = false;
  for (auto _ : state) {
    done = false;
    unit.fixture.target.execute(nexus, task, loop, [&done]() { done = true; });
    if (!done || task.status != scsi::ScsiStatus::good) {
      state.SkipWithError("READ(10) did not complete with GOOD");
      break;
    }
    benchmark::DoNotOptimize(task.data_in_length);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(read_one_block, no_reservation_state, PrState::none)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(read_one_block, registered, PrState::registered)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(read_one_block, reserved_we_ro, PrState::reserved)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace portico

BENCHMARK_MAIN();
