#include "tools/loadgen_pr.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/* SPC-4 6.17.2: REGISTER with RESERVATION KEY = the current key (0 for an unregistered nexus)
 * and SERVICE ACTION RESERVATION KEY = the new one (0 removes the registration). */
struct scsi_task *loadgen_register(struct iscsi_context *iscsi, int lun, uint64_t current, uint64_t next) {
  struct scsi_persistent_reserve_out_basic params;
  memset(&params, 0, sizeof params);
  params.reservation_key = current;
  params.service_action_reservation_key = next;
  return iscsi_persistent_reserve_out_sync(iscsi, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, &params);
}

/* PERSISTENT RESERVE IN, READ KEYS: the number of registrations, and whether `key` is one of
 * them. Returns -1 when the command fails. */
static int count_registrations(struct iscsi_context *iscsi, int lun, uint64_t key, int *key_found) {
  struct scsi_task *task = iscsi_persistent_reserve_in_sync(iscsi, lun, SCSI_PERSISTENT_RESERVE_READ_KEYS, 8192);
  if (task == NULL || task->status != SCSI_STATUS_GOOD) {
    fprintf(stderr, "portico-loadgen: PERSISTENT RESERVE IN (READ KEYS) failed: %s\n", iscsi_get_error(iscsi));
    if (task != NULL) scsi_free_scsi_task(task);
    return -1;
  }
  struct scsi_persistent_reserve_in_read_keys *keys = scsi_datain_unmarshall(task);
  int count = keys != NULL ? keys->num_keys : -1;
  *key_found = 0;
  for (int i = 0; i < count; ++i) *key_found |= keys->keys[i] == key;
  scsi_free_scsi_task(task);
  return count;
}

int loadgen_register_session(struct iscsi_context *iscsi, int lun, uint64_t key) {
  struct scsi_task *task = NULL;
  for (int i = 0; i < 2; ++i) {  /* a pending unit attention fails the first command */
    if (task != NULL) scsi_free_scsi_task(task);
    task = loadgen_register(iscsi, lun, 0, key);
    if (task == NULL || task->status != SCSI_STATUS_CHECK_CONDITION || task->sense.key != SCSI_SENSE_UNIT_ATTENTION) {
      break;
    }
  }
  int good = task != NULL && task->status == SCSI_STATUS_GOOD;
  if (!good) fprintf(stderr, "portico-loadgen: REGISTER of key 0x%" PRIx64 " failed: %s\n", key, iscsi_get_error(iscsi));
  if (task != NULL) scsi_free_scsi_task(task);
  if (!good) return -1;
  int found = 0;
  int count = count_registrations(iscsi, lun, key, &found);
  if (count >= 0 && !found) {
    fprintf(stderr, "portico-loadgen: key 0x%" PRIx64 " registered but not listed by READ KEYS\n", key);
    return -1;
  }
  return count;
}

int loadgen_unregister_session(struct iscsi_context *iscsi, int lun, uint64_t key) {
  struct scsi_task *task = loadgen_register(iscsi, lun, key, 0);
  int good = task != NULL && task->status == SCSI_STATUS_GOOD;
  if (!good) fprintf(stderr, "portico-loadgen: removing the registration of 0x%" PRIx64 " failed: %s\n", key, iscsi_get_error(iscsi));
  if (task != NULL) scsi_free_scsi_task(task);
  return good ? 0 : -1;
}

int loadgen_reserve_session(struct iscsi_context *iscsi, int lun, uint64_t key, int type) {
  struct scsi_persistent_reserve_out_basic params;
  memset(&params, 0, sizeof params);
  params.reservation_key = key;
  struct scsi_task *task = iscsi_persistent_reserve_out_sync(iscsi, lun, SCSI_PERSISTENT_RESERVE_RESERVE, 0, type,
                                                             &params);
  int good = task != NULL && task->status == SCSI_STATUS_GOOD;
  if (!good) fprintf(stderr, "portico-loadgen: RESERVE of type %d failed: %s\n", type, iscsi_get_error(iscsi));
  if (task != NULL) scsi_free_scsi_task(task);
  if (!good) return -1;
  task = iscsi_persistent_reserve_in_sync(iscsi, lun, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 8192);
  struct scsi_persistent_reserve_in_read_reservation *held =
      task != NULL && task->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(task) : NULL;
  int reserved = held != NULL && held->reserved && (int)held->pr_type == type;
  if (!reserved) fprintf(stderr, "portico-loadgen: RESERVE of type %d answered GOOD but READ RESERVATION does not show it\n", type);
  if (task != NULL) scsi_free_scsi_task(task);
  return reserved ? 0 : -1;
}
