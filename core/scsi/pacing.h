// Pacing of long background work on a shared backend (a sanitize of one LUN must not starve the
// I/O of the others on the same pool or disk).
#pragma once

#include <chrono>
#include <cstdint>

namespace portico::scsi {

// How long to wait before the next piece so that `bytes_done` over `elapsed` stays within
// `bytes_per_second` (0 = unpaced: never wait).
inline std::chrono::milliseconds pacing_delay(uint64_t bytes_done, uint64_t bytes_per_second,
                                              std::chrono::nanoseconds elapsed) {
  if (bytes_per_second == 0) return std::chrono::milliseconds(0);
  const double due_seconds = static_cast<double>(bytes_done) / static_cast<double>(bytes_per_second);
  const auto due = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(due_seconds));
  if (due <= elapsed) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(due - elapsed);
}

}  // namespace portico::scsi
