/* portico-rdma-cm-probe: listens for one RDMA connection request, prints the private data it
 * arrives with, and rejects it with the NVMe/RDMA reject record (RECFMT 0, STS given). Run
 * through libfabric's verbs provider or through librdmacm to see what each hands a target from a
 * standard NVMe/RDMA host (`nvme connect -t rdma`), and what that host reads back from the reject
 * (the Linux host logs "Connect rejected: ... nvme status N").
 *
 *   portico-rdma-cm-probe fabric|rdmacm ADDRESS PORT [REJECT_STATUS]
 *
 * This is the evidence behind the transport's choice of library (README, "NVMe/RDMA"). */
#include <arpa/inet.h>
#include <netdb.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/rdma_cma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_private_data(const char *library, const uint8_t *data, size_t length) {
  printf("%s: connection request private data, %zu bytes:", library, length);
  for (size_t i = 0; i < length; ++i) printf("%s%02x", i % 16 == 0 ? "\n  " : " ", data[i]);
  printf("\n");
  /* NVMe over Fabrics RDMA CM request: RECFMT, QID, HRQSIZE, HSQSIZE, CNTLID (little endian). */
  if (length >= 10) {
    unsigned field[5];
    for (int i = 0; i < 5; ++i) field[i] = data[2 * i] | (unsigned)data[2 * i + 1] << 8;
    printf("%s: read as the NVMe/RDMA CM request: recfmt %u qid %u hrqsize %u hsqsize %u cntlid 0x%04x\n",
           library, field[0], field[1], field[2], field[3], field[4]);
  }
  fflush(stdout);
}

static int probe_fabric(const char *address, const char *port, uint16_t reject_status) {
  struct fi_info *hints = fi_allocinfo();
  struct fi_info *info = NULL;
  hints->ep_attr->type = FI_EP_MSG;
  hints->caps = FI_MSG | FI_RMA;
  hints->mode = ~0ULL;
  hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
  hints->fabric_attr->prov_name = strdup("verbs");
  int rc = fi_getinfo(FI_VERSION(1, 17), address, port, FI_SOURCE, hints, &info);
  if (rc != 0) {
    fprintf(stderr, "fabric: fi_getinfo(%s:%s, verbs): %s\n", address, port, fi_strerror(-rc));
    return 1;
  }
  printf("fabric: provider %s, fabric %s, domain %s\n", info->fabric_attr->prov_name, info->fabric_attr->name,
         info->domain_attr->name);
  struct fid_fabric *fabric;
  struct fid_eq *eq;
  struct fid_pep *pep;
  struct fi_eq_attr eq_attr = {.wait_obj = FI_WAIT_UNSPEC};
  if ((rc = fi_fabric(info->fabric_attr, &fabric, NULL)) != 0 || (rc = fi_eq_open(fabric, &eq_attr, &eq, NULL)) != 0 ||
      (rc = fi_passive_ep(fabric, info, &pep, NULL)) != 0 || (rc = fi_pep_bind(pep, &eq->fid, 0)) != 0 ||
      (rc = fi_listen(pep)) != 0) {
    fprintf(stderr, "fabric: listen: %s\n", fi_strerror(-rc));
    return 1;
  }
  printf("fabric: listening on %s:%s\n", address, port);
  fflush(stdout);
  for (;;) {
    uint8_t buffer[sizeof(struct fi_eq_cm_entry) + 512];
    uint32_t event = 0;
    ssize_t got = fi_eq_sread(eq, &event, buffer, sizeof buffer, -1, 0);
    if (got == -FI_EAVAIL) {
      struct fi_eq_err_entry error = {0};
      fi_eq_readerr(eq, &error, 0);
      printf("fabric: event queue error %d (%s), %zu bytes of error data\n", error.err, fi_strerror(error.err),
             error.err_data_size);
      continue;
    }
    if (got < 0) {
      fprintf(stderr, "fabric: fi_eq_sread: %s\n", fi_strerror((int)-got));
      return 1;
    }
    if (event != FI_CONNREQ) continue;
    struct fi_eq_cm_entry *entry = (struct fi_eq_cm_entry *)buffer;
    print_private_data("fabric", entry->data, (size_t)got - sizeof(*entry));
    uint8_t reject[4] = {0, 0, (uint8_t)reject_status, (uint8_t)(reject_status >> 8)};
    rc = fi_reject(pep, entry->info->handle, reject, sizeof reject);
    printf("fabric: rejected with recfmt 0 sts %u: %s\n", reject_status, rc == 0 ? "ok" : fi_strerror(-rc));
    fflush(stdout);
    fi_freeinfo(entry->info);
    return 0;
  }
}

static int probe_rdmacm(const char *address, const char *port, uint16_t reject_status) {
  struct rdma_event_channel *channel = rdma_create_event_channel();
  struct rdma_cm_id *listener;
  struct addrinfo *ai;
  struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST, .ai_family = AF_UNSPEC};
  if (channel == NULL || rdma_create_id(channel, &listener, NULL, RDMA_PS_TCP) != 0 ||
      getaddrinfo(address, port, &hints, &ai) != 0 || rdma_bind_addr(listener, ai->ai_addr) != 0 ||
      rdma_listen(listener, 16) != 0) {
    perror("rdmacm: listen");
    return 1;
  }
  printf("rdmacm: listening on %s:%s\n", address, port);
  fflush(stdout);
  for (;;) {
    struct rdma_cm_event *event;
    if (rdma_get_cm_event(channel, &event) != 0) {
      perror("rdmacm: rdma_get_cm_event");
      return 1;
    }
    if (event->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
      rdma_ack_cm_event(event);
      continue;
    }
    print_private_data("rdmacm", event->param.conn.private_data, event->param.conn.private_data_len);
    uint8_t reject[4] = {0, 0, (uint8_t)reject_status, (uint8_t)(reject_status >> 8)};
    int rc = rdma_reject(event->id, reject, sizeof reject);
    printf("rdmacm: rejected with recfmt 0 sts %u: %s\n", reject_status, rc == 0 ? "ok" : "failed");
    fflush(stdout);
    rdma_ack_cm_event(event);
    return 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[1], "fabric") != 0 && strcmp(argv[1], "rdmacm") != 0)) {
    fprintf(stderr, "usage: %s fabric|rdmacm ADDRESS PORT [REJECT_STATUS]\n", argv[0]);
    return 2;
  }
  const uint16_t status = argc > 4 ? (uint16_t)atoi(argv[4]) : 6; /* NVMe/RDMA: No Resources */
  return strcmp(argv[1], "fabric") == 0 ? probe_fabric(argv[2], argv[3], status)
                                        : probe_rdmacm(argv[2], argv[3], status);
}
