/* Persistent reservation helpers for portico-loadgen: REGISTER on the session's I_T nexus, and
 * a registration (--register-key) and a reservation (--reserve-type) held for the length of a run. */
#ifndef PORTICO_TOOLS_LOADGEN_PR_H
#define PORTICO_TOOLS_LOADGEN_PR_H

#include <stdint.h>

struct iscsi_context;
struct scsi_task;

/* PERSISTENT RESERVE OUT, REGISTER: changes the nexus's key from `current` (0: not registered) to
 * `next` (0: unregister). Returns the task (the caller frees it), or NULL on a transport error. */
struct scsi_task *loadgen_register(struct iscsi_context *iscsi, int lun, uint64_t current, uint64_t next);

/* Registers `key` and checks with READ KEYS that the target lists it. Returns the number of
 * registrations the LUN then has, or -1 (the reason on stderr). */
int loadgen_register_session(struct iscsi_context *iscsi, int lun, uint64_t key);

/* PERSISTENT RESERVE OUT, RESERVE of `type` (SPC-4 Table 171, e.g. 5: write exclusive,
 * registrants only) by the nexus registered with `key`, checked with READ RESERVATION. Returns 0,
 * or -1 (the reason on stderr). Removing the registration ends it. */
int loadgen_reserve_session(struct iscsi_context *iscsi, int lun, uint64_t key, int type);

/* Removes the registration of `key` again. Returns 0, or -1 (the reason on stderr). */
int loadgen_unregister_session(struct iscsi_context *iscsi, int lun, uint64_t key);

#endif
