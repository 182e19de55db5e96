#include "tools/loadgen_stats.h"

#include <stdlib.h>

void latency_add(struct latency_samples *s, uint64_t ns) {
  if (s->count == s->capacity) {
    size_t cap = s->capacity == 0 ? 65536 : s->capacity * 2;
    uint32_t *grown = realloc(s->ns, cap * sizeof *grown);
    if (grown == NULL) return; /* drop the sample rather than the run */
    s->ns = grown;
    s->capacity = cap;
  }
  s->ns[s->count++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
  s->sorted = 0;
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

double latency_percentile_us(struct latency_samples *s, double pct) {
  if (s->count == 0) return 0.0;
  if (!s->sorted) {
    qsort(s->ns, s->count, sizeof *s->ns, compare_u32);
    s->sorted = 1;
  }
  /* Nearest-rank percentile. */
  size_t rank = (size_t)(pct / 100.0 * (double)s->count + 0.5);
  if (rank == 0) rank = 1;
  if (rank > s->count) rank = s->count;
  return (double)s->ns[rank - 1] / 1000.0;
}

void latency_free(struct latency_samples *s) {
  free(s->ns);
  s->ns = NULL;
  s->count = s->capacity = 0;
}
