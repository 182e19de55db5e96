#!/usr/bin/env python3
"""Hostile input: raw NVMe/TCP (NVMe/TCP Transport Specification 1.0) against a running porticod.

Each case sends what a broken or malicious host might send and asserts that porticod answers as
the transport says -- a C2HTermReq with the right Fatal Error Status, then a closed connection,
or a command status where the error is the command's -- never crashes, never hangs, never lets
one queue disturb another. A "bystander" controller (admin and I/O queue) is connected before
any attack and must keep serving reads after every case.

Started by nvme_hostile_input_test.sh:
    nvme_hostile_input_test.py --port PORT --pid PORTICOD_PID --nqn NQN [--wait SECONDS]
Standard library only (zlib has no CRC32C: the digest is computed here). Exits 0 when every
case passed, 1 with a "FAIL: ..." message otherwise.
"""

import argparse
import os
import socket
import struct
import sys
import uuid

ICREQ, ICRESP, H2C_TERM, C2H_TERM, CAPSULE_CMD, CAPSULE_RESP, H2C_DATA, C2H_DATA, R2T = 0, 1, 2, 3, 4, 5, 6, 7, 9
FES_NAMES = {1: "invalid PDU header field", 2: "PDU sequence error", 3: "header digest error",
             4: "data transfer out of range", 5: "data transfer limit exceeded", 6: "unsupported parameter"}


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


class Fail(Exception):
    pass


class Queue:
    def __init__(self, port, wait, hdgst=False, ddgst=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
        self.hdgst, self.ddgst, self.cid = False, False, 0
        self.want_hdgst, self.want_ddgst = hdgst, ddgst

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError("connection closed")
            out += chunk
        return out

    def recv_pdu(self):
        ch = self.recv_exact(8)
        ptype, flags, hlen, pdo, plen = struct.unpack("<BBBBI", ch)
        return ptype, flags, hlen, pdo, ch + self.recv_exact(plen - 8)

    def icreq(self, pfv=0):
        dgst = (1 if self.want_hdgst else 0) | (2 if self.want_ddgst else 0)
        self.send(struct.pack("<BBBBIHBBI", ICREQ, 0, 128, 0, 128, pfv, 0, dgst, 0) + bytes(112))
        ptype, _, _, _, pdu = self.recv_pdu()
        if ptype != ICRESP:
            raise Fail(f"expected an ICResp, got PDU type {ptype}")
        self.hdgst, self.ddgst = bool(pdu[11] & 1), bool(pdu[11] & 2)

    def capsule(self, sqe, data=b""):
        flags = (1 if self.hdgst else 0) | (2 if self.ddgst and data else 0)
        hlen = 72
        head_end = hlen + (4 if self.hdgst else 0)
        pdo = head_end if data else 0
        plen = head_end + len(data) + (4 if self.ddgst and data else 0)
        header = struct.pack("<BBBBI", CAPSULE_CMD, flags, hlen, pdo, plen) + sqe
        out = header + (struct.pack("<I", crc32c(header)) if self.hdgst else b"")
        if data:
            out += data + (struct.pack("<I", crc32c(data)) if self.ddgst else b"")
        self.send(out)

    def sqe(self, opc, nsid=0, cdw=(0,) * 6, sgl=(0, 0, 0x5A), fctype=None):
        self.cid += 1
        b = bytearray(64)
        b[0], b[1] = opc, 1 << 6
        struct.pack_into("<HI", b, 2, self.cid, nsid)
        struct.pack_into("<QIxxxB", b, 24, *sgl)
        for i, v in enumerate(cdw):
            struct.pack_into("<I", b, 40 + 4 * i, v)
        if fctype is not None:
            b[4] = fctype
        return bytes(b)

    def response(self):
        data = b""
        while True:
            ptype, flags, hlen, pdo, pdu = self.recv_pdu()
            if ptype == C2H_DATA:
                datal = struct.unpack_from("<I", pdu, 16)[0]
                data += pdu[pdo:pdo + datal]
                if flags & 0x08:
                    return 0, 0, data
            elif ptype == CAPSULE_RESP:
                dw0, _, _, _, _, status = struct.unpack_from("<IIHHHH", pdu, 8)
                return status >> 1, dw0, data
            elif ptype == R2T:
                return "r2t", pdu, data
            else:
                raise Fail(f"unexpected PDU type {ptype} while waiting for a response")

    def connect(self, nqn, host_id, qid=0, cntlid=0xFFFF, sqsize=31):
        cd = bytearray(1024)
        cd[0:16] = host_id
        struct.pack_into("<H", cd, 16, cntlid)
        hostnqn = b"nqn.2014-08.org.nvmexpress:uuid:" + str(uuid.UUID(bytes=host_id)).encode()
        cd[256:256 + len(nqn)] = nqn.encode()
        cd[512:512 + len(hostnqn)] = hostnqn
        b = bytearray(self.sqe(0x7F, sgl=(0, 1024, 0x01), fctype=1))
        struct.pack_into("<HHHBxI", b, 40, 0, qid, sqsize, 0, 0)
        self.capsule(bytes(b), bytes(cd))
        return self.response()

    def expect_termination(self, fes, what):
        try:
            ptype, _, _, _, pdu = self.recv_pdu()
        except (EOFError, ConnectionResetError):
            raise Fail(f"{what}: closed without a C2HTermReq")
        if ptype != C2H_TERM:
            raise Fail(f"{what}: expected a C2HTermReq, got PDU type {ptype}")
        got = struct.unpack_from("<H", pdu, 8)[0]
        if got != fes:
            raise Fail(f"{what}: C2HTermReq FES {got:#x}, expected {fes:#x} ({FES_NAMES[fes]})")
        try:
            if self.sock.recv(1) != b"":
                raise Fail(f"{what}: more data after the C2HTermReq")
        except ConnectionResetError:
            pass
        self.sock.close()


def enable(q):
    b = bytearray(q.sqe(0x7F, fctype=0))
    struct.pack_into("<IQ", b, 44, 0x14, 0x00460001)
    q.capsule(bytes(b))
    status, _, _ = q.response()
    if status != 0:
        raise Fail(f"Property Set CC failed: {status:#x}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--nqn", required=True)
    ap.add_argument("--wait", type=float, default=20)
    a = ap.parse_args()

    def io_queue(host_id):
        admin = Queue(a.port, a.wait)
        admin.icreq()
        status, cntlid, _ = admin.connect(a.nqn, host_id)
        if status != 0:
            raise Fail(f"admin Connect failed: {status:#x}")
        enable(admin)
        io = Queue(a.port, a.wait)
        io.icreq()
        status, _, _ = io.connect(a.nqn, host_id, qid=1, cntlid=cntlid, sqsize=127)
        if status != 0:
            raise Fail(f"I/O Connect failed: {status:#x}")
        return admin, io

    bystander_admin, bystander = io_queue(uuid.uuid4().bytes)

    def bystander_reads():
        bystander.capsule(bystander.sqe(0x02, nsid=1, cdw=(0, 0, 0), sgl=(0, 512, 0x5A)))
        status, _, data = bystander.response()
        if status != 0 or len(data) != 512:
            raise Fail(f"the bystander's read failed ({status}) after the case")

    def fresh(**kw):
        q = Queue(a.port, a.wait, **kw)
        q.icreq()
        return q

    cases = []

    def case(fn):
        cases.append(fn)
        return fn

    @case
    def capsule_before_icreq():
        q = Queue(a.port, a.wait)
        q.capsule(q.sqe(0x06))
        q.expect_termination(2, "a CapsuleCmd before the ICReq")

    @case
    def icreq_of_another_format():
        q = Queue(a.port, a.wait)
        q.send(struct.pack("<BBBBIHBBI", ICREQ, 0, 128, 0, 128, 1, 0, 0, 0) + bytes(112))
        q.expect_termination(1, "an ICReq with PFV 1")

    @case
    def second_icreq():
        q = fresh()
        q.send(struct.pack("<BBBBIHBBI", ICREQ, 0, 128, 0, 128, 0, 0, 0, 0) + bytes(112))
        q.expect_termination(2, "a second ICReq")

    @case
    def unknown_pdu_type():
        q = fresh()
        q.send(struct.pack("<BBBBI", 0x0F, 0, 8, 0, 8))
        q.expect_termination(1, "PDU type 0Fh")

    @case
    def capsule_with_wrong_hlen():
        q = fresh()
        q.send(struct.pack("<BBBBI", CAPSULE_CMD, 0, 64, 0, 64) + bytes(56))
        q.expect_termination(1, "a CapsuleCmd with HLEN 64")

    @case
    def plen_beyond_every_limit():
        q = fresh()
        q.send(struct.pack("<BBBBI", CAPSULE_CMD, 0, 72, 72, 0x7FFFFFF0) + bytes(64))
        q.expect_termination(5, "a CapsuleCmd announcing 2 GiB of in-capsule data")

    @case
    def header_digest_error():
        q = fresh(hdgst=True)
        if not q.hdgst:
            raise Fail("the controller refused header digests")
        header = struct.pack("<BBBBI", CAPSULE_CMD, 1, 72, 0, 76) + q.sqe(0x06)
        q.send(header + struct.pack("<I", crc32c(header) ^ 1))
        q.expect_termination(3, "a CapsuleCmd with a wrong header digest")

    @case
    def h2c_data_beyond_the_r2t():
        admin, io = io_queue(uuid.uuid4().bytes)
        io.capsule(io.sqe(0x01, nsid=1, cdw=(0, 0, 7), sgl=(0, 4096, 0x5A)))
        kind, pdu, _ = io.response()
        if kind != "r2t":
            raise Fail("a write of 4 KiB through a transport SGL got no R2T")
        cccid, ttag = struct.unpack_from("<HH", pdu, 8)
        data = bytes(8192)
        io.send(struct.pack("<BBBBIHHIIxxxx", H2C_DATA, 4, 24, 24, 24 + len(data), cccid, ttag, 0, len(data)) + data)
        io.expect_termination(4, "8 KiB of H2CData for a 4 KiB R2T")
        admin.sock.close()

    @case
    def h2c_data_without_r2t():
        admin, io = io_queue(uuid.uuid4().bytes)
        data = bytes(512)
        io.send(struct.pack("<BBBBIHHIIxxxx", H2C_DATA, 4, 24, 24, 24 + len(data), 77, 77, 0, len(data)) + data)
        io.expect_termination(1, "H2CData for no R2T")
        admin.sock.close()

    @case
    def data_digest_error_fails_the_command_only():
        host = uuid.uuid4().bytes
        admin = Queue(a.port, a.wait)
        admin.icreq()
        status, cntlid, _ = admin.connect(a.nqn, host)
        enable(admin)
        io = Queue(a.port, a.wait, ddgst=True)
        io.icreq()
        if not io.ddgst:
            raise Fail("the controller refused data digests")
        io.connect(a.nqn, host, qid=1, cntlid=cntlid, sqsize=127)
        io.capsule(io.sqe(0x01, nsid=1, cdw=(16, 0, 0), sgl=(0, 512, 0x5A)))
        kind, pdu, _ = io.response()
        cccid, ttag = struct.unpack_from("<HH", pdu, 8)
        data = bytes(512)
        io.send(struct.pack("<BBBBIHHIIxxxx", H2C_DATA, 4 | 2, 24, 24, 24 + 512 + 4, cccid, ttag, 0, 512) + data +
                struct.pack("<I", crc32c(data) ^ 1))
        status, _, _ = io.response()
        if status & 0xFF != 0x22:
            raise Fail(f"a write whose data digest failed ended with {status:#x}, not Transient Transport Error")
        io.capsule(io.sqe(0x02, nsid=1, cdw=(16, 0, 0), sgl=(0, 512, 0x5A)))
        status, _, data = io.response()
        if status != 0 or len(data) != 512:
            raise Fail("the queue does not serve after a data digest error")
        io.sock.close()
        admin.sock.close()

    @case
    def connect_to_an_unknown_subsystem():
        q = fresh()
        status, dw0, _ = q.connect("nqn.2026-11.io.portico:nothing-here", uuid.uuid4().bytes)
        if status != 0x182 or dw0 != (1 << 16) | 256:
            raise Fail(f"Connect to an unknown subsystem: status {status:#x} dw0 {dw0:#x}")
        q.sock.close()

    @case
    def io_connect_to_a_controller_of_another_host():
        admin, _ = io_queue(uuid.uuid4().bytes)
        q = fresh()
        status, _, _ = q.connect(a.nqn, uuid.uuid4().bytes, qid=1, cntlid=1024, sqsize=127)
        if status & 0x1FF != 0x182:
            raise Fail(f"an I/O Connect naming another host's controller: status {status:#x}")
        q.sock.close()
        admin.sock.close()

    @case
    def truncated_pdu_then_close():
        q = fresh()
        q.send(struct.pack("<BBBBI", CAPSULE_CMD, 0, 72, 0, 72) + bytes(20))
        q.sock.close()

    failed = 0
    for fn in cases:
        try:
            fn()
            bystander_reads()
            os.kill(a.pid, 0)
            print(f"ok: {fn.__name__}")
        except Fail as e:
            print(f"FAIL: {fn.__name__}: {e}")
            failed += 1
        except (OSError, EOFError) as e:
            print(f"FAIL: {fn.__name__}: {type(e).__name__}: {e}")
            failed += 1
    bystander.sock.close()
    bystander_admin.sock.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
