/* portico-rdma-cm-probe: listens for one RDMA connection request, prints the private data it
 * arrives with, and rejects it with the NVMe/RDMA reject record (RECFMT 0, STS given). Run
 * through libfabric's verbs provider or through librdmacm to see what each hands a target from a
 * standard NVMe/RDMA host (`nvme connect -t rdma`), and what that host reads back from the reject
 * (the Linux host logs "Connect rejected: ... nvme status N").
 *
 *   portico-rdma-cm-probe fabric|rdmacm ADDRESS PORT [REJECT_STATUS]
 *
 * This is the evidence behind the transport's choice of library (README, "NVMe/RDMA").
 *
 *   portico-rdma-cm-probe connect ADDRESS PORT LENGTH RECFMT QID HRQSIZE HSQSIZE [IDLE_SECONDS]
 *
 * is a hostile host instead: it sends a connect request with that private data (LENGTH bytes of
 * it) through librdmacm and prints what the target answers: "rejected sts N", or "established",
 * and then whether the target disconnects within IDLE_SECONDS while it sends nothing. */
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
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

/* Waits for the next CM event on `channel` for at most `seconds`; NULL on timeout. */
static struct rdma_cm_event *next_event(struct rdma_event_channel *channel, int seconds) {
  struct pollfd p = {.fd = channel->fd, .events = POLLIN};
  if (poll(&p, 1, seconds * 1000) <= 0) return NULL;
  struct rdma_cm_event *event = NULL;
  return rdma_get_cm_event(channel, &event) == 0 ? event : NULL;
}

static int probe_connect(char **argv, int argc) {
  const char *address = argv[2], *port = argv[3];
  const size_t length = (size_t)atoi(argv[4]);
  uint8_t data[56] = {0};
  const unsigned field[4] = {(unsigned)atoi(argv[5]), (unsigned)atoi(argv[6]), (unsigned)atoi(argv[7]),
                             (unsigned)atoi(argv[8])};
  for (int i = 0; i < 4; ++i) {
    data[2 * i] = (uint8_t)field[i];
    data[2 * i + 1] = (uint8_t)(field[i] >> 8);
  }
  const int idle = argc > 9 ? atoi(argv[9]) : 0;
  struct rdma_event_channel *channel = rdma_create_event_channel();
  struct rdma_cm_id *id = NULL;
  struct addrinfo *ai = NULL;
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_family = AF_UNSPEC};
  if (channel == NULL || rdma_create_id(channel, &id, NULL, RDMA_PS_TCP) != 0 || getaddrinfo(address, port, &hints, &ai) != 0 ||
      rdma_resolve_addr(id, NULL, ai->ai_addr, 2000) != 0) {
    perror("connect: resolve address");
    return 1;
  }
  struct rdma_cm_event *event = next_event(channel, 5);
  if (event == NULL || event->event != RDMA_CM_EVENT_ADDR_RESOLVED) return fprintf(stderr, "connect: address not resolved\n"), 1;
  rdma_ack_cm_event(event);
  if (rdma_resolve_route(id, 2000) != 0 || (event = next_event(channel, 5)) == NULL ||
      event->event != RDMA_CM_EVENT_ROUTE_RESOLVED) {
    return fprintf(stderr, "connect: route not resolved\n"), 1;
  }
  rdma_ack_cm_event(event);
  struct ibv_pd *pd = ibv_alloc_pd(id->verbs);
  struct ibv_cq *cq = pd ? ibv_create_cq(id->verbs, 16, NULL, NULL, 0) : NULL;
  struct ibv_qp_init_attr qp = {.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
                                .cap = {.max_send_wr = 4, .max_recv_wr = 4, .max_send_sge = 1, .max_recv_sge = 1}};
  if (cq == NULL || rdma_create_qp(id, pd, &qp) != 0) return perror("connect: queue pair"), 1;
  struct rdma_conn_param param = {.private_data = data, .private_data_len = (uint8_t)length,
                                  .responder_resources = 16, .initiator_depth = 0, .retry_count = 7,
                                  .rnr_retry_count = 7};
  if (rdma_connect(id, &param) != 0) return perror("connect: rdma_connect"), 1;
  event = next_event(channel, 10);
  if (event == NULL) return printf("connect: no answer\n"), 1;
  if (event->event == RDMA_CM_EVENT_REJECTED) {
    const uint8_t *reject = event->param.conn.private_data;
    const unsigned sts = event->param.conn.private_data_len >= 4 && reject ? (unsigned)(reject[2] | reject[3] << 8) : 0;
    printf("connect: rejected sts %u\n", sts);
    rdma_ack_cm_event(event);
    return 0;
  }
  if (event->event != RDMA_CM_EVENT_ESTABLISHED) {
    printf("connect: %s\n", rdma_event_str(event->event));
    rdma_ack_cm_event(event);
    return 1;
  }
  rdma_ack_cm_event(event);
  printf("connect: established\n");
  fflush(stdout);
  if (idle > 0) {
    event = next_event(channel, idle);
    printf("connect: %s within %d s of sending nothing\n", event ? rdma_event_str(event->event) : "no event", idle);
    if (event) rdma_ack_cm_event(event);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 9 && strcmp(argv[1], "connect") == 0) return probe_connect(argv, argc);
  if (argc < 4 || (strcmp(argv[1], "fabric") != 0 && strcmp(argv[1], "rdmacm") != 0)) {
    fprintf(stderr, "usage: %s fabric|rdmacm ADDRESS PORT [REJECT_STATUS]\n       %s connect ADDRESS PORT LENGTH RECFMT QID HRQSIZE HSQSIZE [IDLE_SECONDS]\n", argv[0], argv[0]);
    return 2;
  }
  const uint16_t status = argc > 4 ? (uint16_t)atoi(argv[4]) : 6; /* NVMe/RDMA: No Resources */
  return strcmp(argv[1], "fabric") == 0 ? probe_fabric(argv[2], argv[3], status)
                                        : probe_rdmacm(argv[2], argv[3], status);
}
