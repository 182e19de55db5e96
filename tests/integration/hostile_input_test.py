#!/usr/bin/env python3
"""Hostile input: raw iSCSI (RFC 7143) over TCP against a running porticod.

Each case sends something a broken or malicious initiator might send and asserts that porticod
answers as the protocol says (a Reject, a failed Login Response) or closes the connection --
never crashes, never hangs, never lets one connection disturb another session. A "bystander"
session is logged in before any attack and must keep serving INQUIRY after every case.

Started by hostile_input_test.sh (which starts and stops porticod through lib.sh):
    hostile_input_test.py --port PORT --pid PORTICOD_PID --target IQN [--wait SECONDS]
Standard library only. Exits 0 when every case passed, 1 with a "FAIL: ..." message otherwise.
"""

import argparse
import os
import socket
import struct
import sys
import time

# ---------------------------------------------------------------------------------------------
# Constants (RFC 7143 §11)

# Initiator opcodes (§11.1.1).
OP_NOP_OUT = 0x00
OP_SCSI_COMMAND = 0x01
OP_LOGIN_REQUEST = 0x03
OP_TEXT_REQUEST = 0x04
# Target opcodes.
OP_NOP_IN = 0x20
OP_SCSI_RESPONSE = 0x21
OP_LOGIN_RESPONSE = 0x23
OP_DATA_IN = 0x25
OP_REJECT = 0x3F

IMMEDIATE = 0x40  # the I bit in byte 0
RESERVED_TAG = 0xFFFFFFFF

# Reject reasons (§11.17.1).
REJECT_REASONS = {
    0x02: "data (payload) digest error",
    0x03: "SNACK reject",
    0x04: "protocol error",
    0x05: "command not supported",
    0x06: "immediate command reject - too many immediate commands",
    0x07: "task in progress",
    0x08: "invalid data ACK",
    0x09: "invalid PDU field",
    0x0A: "long operation reject",
    0x0B: "deprecated",
    0x0C: "waiting for logout",
}

# Login stages (§11.12.3).
STAGE_SECURITY = 0
STAGE_OPERATIONAL = 1
STAGE_FULL_FEATURE = 3

SCSI_GOOD = 0x00
SCSI_CHECK_CONDITION = 0x02
SENSE_KEY_UNIT_ATTENTION = 0x6

INITIATOR_NAME = "iqn.2026-11.io.portico.test:hostile-initiator"

# Set from the command line: multiplies every protocol timeout (sanitizer builds are slower).
TIME_SCALE = 1.0


class TestFailure(Exception):
    """A case's assertion failed."""


class ConnectionClosed(Exception):
    """The target closed (EOF) or reset the connection."""


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def scaled(seconds):
    return seconds * TIME_SCALE


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the iSCSI digest (§13.1, RFC 3385).

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def digest_bytes(data):
    # §13.1 / RFC 7143 Appendix B.4: the digest goes on the wire least significant byte first.
    return struct.pack("<I", crc32c(data))


# ---------------------------------------------------------------------------------------------
# PDU building and parsing (§11.2: 48-byte BHS, AHS, header digest, data, padding, data digest)

def pad4(data):
    return data + b"\0" * ((4 - len(data) % 4) % 4)


def build_bhs(opcode, flags=0, *, immediate=False, data_length=0, ahs_words=0, lun=0,
              itt=0, field20=0, cmd_sn=0, exp_stat_sn=0, tail=b"", raw_8_16=None, byte2=0, byte3=0):
    """A 48-byte Basic Header Segment. `field20` is bytes 20..23 (TTT, EDTL, CID, ...); `tail` is
    bytes 32..47 (the CDB of a SCSI Command); `raw_8_16` overrides bytes 8..15 (ISID+TSIH)."""
    bhs = bytearray(48)
    bhs[0] = (opcode & 0x3F) | (IMMEDIATE if immediate else 0)
    bhs[1] = flags
    bhs[2] = byte2
    bhs[3] = byte3
    bhs[4] = ahs_words
    bhs[5:8] = data_length.to_bytes(3, "big")  # DataSegmentLength is 24 bits (§11.2.1.5)
    bhs[8:16] = raw_8_16 if raw_8_16 is not None else struct.pack(">Q", lun << 48)
    struct.pack_into(">III", bhs, 16, itt, field20, cmd_sn)
    struct.pack_into(">I", bhs, 28, exp_stat_sn)
    bhs[32:32 + len(tail)] = tail
    return bytes(bhs)


def encode_text(keys):
    """key=value pairs, each NUL terminated (§6.1)."""
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in keys)


def decode_text(data):
    out = {}
    for item in data.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out


class Pdu:
    """A received PDU: the raw BHS and the data segment (padding and digests removed)."""

    def __init__(self, bhs, data):
        self.bhs = bhs
        self.data = data

    @property
    def opcode(self):
        return self.bhs[0] & 0x3F

    @property
    def flags(self):
        return self.bhs[1]

    @property
    def itt(self):
        return struct.unpack_from(">I", self.bhs, 16)[0]

    @property
    def ttt(self):
        return struct.unpack_from(">I", self.bhs, 20)[0]

    @property
    def stat_sn(self):
        return struct.unpack_from(">I", self.bhs, 24)[0]

    @property
    def exp_cmd_sn(self):
        return struct.unpack_from(">I", self.bhs, 28)[0]

    @property
    def reject_reason(self):
        return self.bhs[2]

    @property
    def login_status(self):
        return (self.bhs[36] << 8) | self.bhs[37]

    def describe(self):
        name = {OP_NOP_IN: "NOP-In", OP_SCSI_RESPONSE: "SCSI Response", OP_LOGIN_RESPONSE: "Login Response",
                OP_DATA_IN: "Data-In", OP_REJECT: "Reject"}.get(self.opcode, f"opcode 0x{self.opcode:02x}")
        if self.opcode == OP_REJECT:
            name += f" (reason 0x{self.reject_reason:02x} {REJECT_REASONS.get(self.reject_reason, '?')})"
        if self.opcode == OP_LOGIN_RESPONSE:
            name += f" (status 0x{self.login_status:04x})"
        return name


def sense_key_asc(sense):
    """(sense key, ASC, ASCQ) of fixed (70h/71h) or descriptor (72h/73h) sense data (SPC-4 4.5)."""
    if len(sense) < 4:
        return None
    code = sense[0] & 0x7F
    if code in (0x70, 0x71) and len(sense) >= 14:
        return sense[2] & 0x0F, sense[12], sense[13]
    if code in (0x72, 0x73):
        return sense[1] & 0x0F, sense[2], sense[3]
    return None


# ---------------------------------------------------------------------------------------------
# An initiator connection

class Initiator:
    """One TCP connection speaking iSCSI, with the sequence numbers of its session."""

    _next_isid = 1

    def __init__(self, port, label, source=None):
        self.label = label
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=scaled(10),
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.header_digest = False
        self.data_digest = False
        self.cmd_sn = 1
        self.exp_stat_sn = 0
        self.next_itt = 0x100
        self.target_mrdsl = 8192  # §13.12 default until the target declares its own
        self.isid = bytes([0x80, 0, 0, 0]) + Initiator._next_isid.to_bytes(2, "big")  # random ISID format
        Initiator._next_isid += 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def new_itt(self):
        self.next_itt += 1
        return self.next_itt

    # --- wire ---

    def send_raw(self, data):
        self.sock.settimeout(scaled(10))  # recv_pdu leaves shorter timeouts behind
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise ConnectionClosed(f"{self.label}: send failed: {e}") from e

    def send_pdu(self, bhs, data=b"", *, bad_header_digest=False, bad_data_digest=False):
        """Sends a BHS and data with the digests this connection negotiated (optionally wrong)."""
        wire = bytearray(bhs)
        if self.header_digest:
            d = crc32c(bhs)
            if bad_header_digest:
                d ^= 0x1
            wire += struct.pack("<I", d)
        if data:
            padded = pad4(data)
            wire += padded
            if self.data_digest:
                d = crc32c(padded)
                if bad_data_digest:
                    d ^= 0x80000000
                wire += struct.pack("<I", d)
        self.send_raw(bytes(wire))

    def _recv_exact(self, n, deadline):
        buf = bytearray()
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"{self.label}: timed out waiting for {n - len(buf)} more bytes")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise ConnectionClosed(f"{self.label}: connection reset by porticod") from e
            if not chunk:
                raise ConnectionClosed(f"{self.label}: connection closed by porticod")
            buf += chunk
        return bytes(buf)

    def recv_pdu(self, timeout=5.0):
        """One PDU; checks the target's digests when they are on. Raises socket.timeout or
        ConnectionClosed."""
        deadline = time.monotonic() + scaled(timeout)
        bhs = self._recv_exact(48, deadline)
        ahs = self._recv_exact(bhs[4] * 4, deadline) if bhs[4] else b""
        if self.header_digest:
            got = self._recv_exact(4, deadline)
            check(got == digest_bytes(bhs + ahs),
                  f"{self.label}: porticod sent a wrong header digest on opcode 0x{bhs[0] & 0x3f:02x}")
        length = int.from_bytes(bhs[5:8], "big")
        data = b""
        if length:
            padded = self._recv_exact((length + 3) & ~3, deadline)
            if self.data_digest:
                got = self._recv_exact(4, deadline)
                check(got == digest_bytes(padded),
                      f"{self.label}: porticod sent a wrong data digest on opcode 0x{bhs[0] & 0x3f:02x}")
            data = padded[:length]
        pdu = Pdu(bhs, data)
        # ExpStatSN follows every status-carrying PDU (§4.2.2.2). A target-initiated NOP-In
        # (ITT ffffffff) does not advance StatSN (§11.19.2).
        if pdu.opcode in (OP_SCSI_RESPONSE, OP_LOGIN_RESPONSE, OP_REJECT, 0x22, 0x24, 0x26) or \
                (pdu.opcode == OP_NOP_IN and pdu.itt != RESERVED_TAG) or \
                (pdu.opcode == OP_DATA_IN and pdu.flags & 0x01):
            self.exp_stat_sn = (pdu.stat_sn + 1) & 0xFFFFFFFF
        return pdu

    def recv_for(self, itt, timeout=5.0):
        """The next PDU for `itt` or a Reject; answers target pings in between (§11.19)."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            remaining = max(0.01, (deadline - time.monotonic()) / TIME_SCALE)
            pdu = self.recv_pdu(remaining)
            if pdu.opcode == OP_NOP_IN and pdu.itt == RESERVED_TAG:
                if pdu.ttt != RESERVED_TAG:  # a ping that wants an answer (§11.18.1)
                    self.send_pdu(build_bhs(OP_NOP_OUT, 0x80, immediate=True, itt=RESERVED_TAG,
                                            field20=pdu.ttt, cmd_sn=self.cmd_sn, exp_stat_sn=self.exp_stat_sn))
                continue
            if pdu.opcode == OP_REJECT or pdu.itt == itt:
                return pdu
            log(f"{self.label}: ignoring unexpected {pdu.describe()} for ITT 0x{pdu.itt:08x}")

    # --- login (§6, §11.12, §11.13) ---

    def login_request(self, csg, nsg, keys, *, transit=True, itt=0x1):
        flags = (0x80 if transit else 0) | (csg << 2) | nsg
        data = encode_text(keys)
        bhs = build_bhs(OP_LOGIN_REQUEST, flags, immediate=True, data_length=len(data), itt=itt,
                        field20=0, cmd_sn=self.cmd_sn, exp_stat_sn=self.exp_stat_sn,
                        raw_8_16=self.isid + b"\0\0")  # TSIH 0: a new session
        # Digests never apply during login (§13.1): send without them.
        self.send_raw(bhs + pad4(data))

    def login(self, target, *, digests=False):
        """Security → operational → full feature phase; returns the target's negotiated keys."""
        self.login_request(STAGE_SECURITY, STAGE_OPERATIONAL, [
            ("InitiatorName", INITIATOR_NAME), ("InitiatorAlias", self.label), ("TargetName", target),
            ("SessionType", "Normal"), ("AuthMethod", "None")])
        rsp = self.recv_pdu()
        check(rsp.opcode == OP_LOGIN_RESPONSE, f"{self.label}: expected a Login Response, got {rsp.describe()}")
        check(rsp.login_status == 0, f"{self.label}: security stage refused: status 0x{rsp.login_status:04x}")
        check(rsp.flags & 0x80 and rsp.flags & 0x03 == STAGE_OPERATIONAL,
              f"{self.label}: target did not move to the operational stage (flags 0x{rsp.flags:02x})")
        digest = "CRC32C,None" if digests else "None"
        keys = [("HeaderDigest", digest), ("DataDigest", digest), ("MaxRecvDataSegmentLength", "262144"),
                ("ErrorRecoveryLevel", "0"), ("InitialR2T", "Yes"), ("ImmediateData", "Yes"),
                ("MaxBurstLength", "262144"), ("FirstBurstLength", "65536"), ("MaxConnections", "1"),
                ("DefaultTime2Wait", "0"), ("DefaultTime2Retain", "0"), ("MaxOutstandingR2T", "1"),
                ("DataPDUInOrder", "Yes"), ("DataSequenceInOrder", "Yes")]
        negotiated = {}
        for _ in range(4):
            self.login_request(STAGE_OPERATIONAL, STAGE_FULL_FEATURE, keys)
            rsp = self.recv_pdu()
            check(rsp.opcode == OP_LOGIN_RESPONSE, f"{self.label}: expected a Login Response, got {rsp.describe()}")
            check(rsp.login_status == 0,
                  f"{self.label}: operational stage refused: status 0x{rsp.login_status:04x}")
            negotiated.update(decode_text(rsp.data))
            if rsp.flags & 0x80 and rsp.flags & 0x03 == STAGE_FULL_FEATURE:
                break
            keys = []  # the target wants another round (§6.2): continue with nothing new
        else:
            raise TestFailure(f"{self.label}: login did not reach the full feature phase")
        if digests:
            check(negotiated.get("HeaderDigest") == "CRC32C" and negotiated.get("DataDigest") == "CRC32C",
                  f"{self.label}: porticod did not accept CRC32C digests: {negotiated}")
        # §13.1: digests start with the first PDU after the final Login Response.
        self.header_digest = negotiated.get("HeaderDigest") == "CRC32C"
        self.data_digest = negotiated.get("DataDigest") == "CRC32C"
        self.target_mrdsl = int(negotiated.get("MaxRecvDataSegmentLength", "8192"))
        self.cmd_sn = rsp.exp_cmd_sn  # the Login was immediate: the first command reuses its CmdSN
        return negotiated

    # --- full feature phase ---

    def scsi_command(self, cdb, edtl, timeout=5.0, lun=0):
        """A read (or no-data) command; returns (status, data_in, sense)."""
        itt = self.new_itt()
        flags = 0x80 | (0x40 if edtl else 0) | 0x01  # F, R, SIMPLE (§11.3.1)
        bhs = build_bhs(OP_SCSI_COMMAND, flags, lun=lun, itt=itt, field20=edtl, cmd_sn=self.cmd_sn,
                        exp_stat_sn=self.exp_stat_sn, tail=cdb.ljust(16, b"\0"))
        self.cmd_sn = (self.cmd_sn + 1) & 0xFFFFFFFF
        self.send_pdu(bhs)
        return self.command_status(itt, f"SCSI command 0x{cdb[0]:02x}", timeout)

    def command_status(self, itt, what, timeout=5.0):
        """The end of the command `itt` already sent: (status, data_in, sense); a Reject fails."""
        data_in = bytearray()
        while True:
            pdu = self.recv_for(itt, timeout)
            if pdu.opcode == OP_REJECT:
                raise TestFailure(f"{self.label}: {what} got {pdu.describe()}")
            if pdu.opcode == OP_DATA_IN:
                offset = struct.unpack_from(">I", pdu.bhs, 40)[0]
                check(offset == len(data_in), f"{self.label}: Data-In at offset {offset}, expected {len(data_in)}")
                data_in += pdu.data
                if pdu.flags & 0x01:  # S: status in the last Data-In (§11.7.4)
                    return pdu.bhs[3], bytes(data_in), b""
                continue
            if pdu.opcode == OP_SCSI_RESPONSE:
                check(pdu.bhs[2] == 0, f"{self.label}: iSCSI response 0x{pdu.bhs[2]:02x} (target failure)")
                sense = b""
                if len(pdu.data) >= 2:  # SenseLength, then sense data (§11.4.7.2)
                    n = struct.unpack_from(">H", pdu.data, 0)[0]
                    sense = pdu.data[2:2 + n]
                return pdu.bhs[3], bytes(data_in), sense
            raise TestFailure(f"{self.label}: unexpected {pdu.describe()} for a SCSI command")

    def scsi_good(self, cdb, edtl, what, lun=0):
        """Runs a command that must end GOOD; one UNIT ATTENTION (e.g. 29h/00h power on) is
        consumed and the command retried (SAM-5 5.14)."""
        for attempt in range(2):
            status, data, sense = self.scsi_command(cdb, edtl, lun=lun)
            if status == SCSI_GOOD:
                return data
            ska = sense_key_asc(sense)
            if attempt == 0 and status == SCSI_CHECK_CONDITION and ska and ska[0] == SENSE_KEY_UNIT_ATTENTION:
                log(f"{self.label}: {what}: UNIT ATTENTION {ska[1]:02x}/{ska[2]:02x}, retrying")
                continue
            raise TestFailure(f"{self.label}: {what}: status 0x{status:02x}, sense {sense.hex() or 'none'}")
        raise TestFailure(f"{self.label}: {what}: unit attention twice")

    def inquiry_ok(self):
        """TEST UNIT READY, then a standard INQUIRY that must come back GOOD with disk data."""
        self.scsi_good(bytes([0x00, 0, 0, 0, 0, 0]), 0, "TEST UNIT READY")
        data = self.scsi_good(bytes([0x12, 0, 0, 0, 96, 0]), 96, "INQUIRY")
        check(len(data) >= 36, f"{self.label}: INQUIRY returned {len(data)} bytes, expected at least 36")
        check(data[0] & 0x1F == 0x00, f"{self.label}: INQUIRY peripheral device type 0x{data[0] & 0x1f:02x}, "
                                      "expected 0 (direct access block device)")
        return data

    def nop_out(self, data=b"", *, immediate=True, data_length=None, **bad):
        """A NOP-Out ping wanting a NOP-In (§11.18); returns its ITT."""
        itt = self.new_itt()
        bhs = build_bhs(OP_NOP_OUT, 0x80, immediate=immediate,
                        data_length=len(data) if data_length is None else data_length, itt=itt,
                        field20=RESERVED_TAG, cmd_sn=self.cmd_sn, exp_stat_sn=self.exp_stat_sn)
        if not immediate:
            self.cmd_sn = (self.cmd_sn + 1) & 0xFFFFFFFF
        self.send_pdu(bhs, data, **bad)
        return itt

    def expect_closed(self, timeout, what):
        """The target must close this connection within `timeout` seconds; returns the PDUs it
        sent before closing."""
        deadline = time.monotonic() + scaled(timeout)
        received = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                got = ", ".join(p.describe() for p in received) or "nothing"
                raise TestFailure(f"{self.label}: {what}: connection still open after {scaled(timeout):.0f} s "
                                  f"(received: {got})")
            try:
                received.append(self.recv_pdu(remaining / TIME_SCALE))
            except ConnectionClosed:
                return received
            except socket.timeout:
                continue
            except TestFailure:
                # e.g. bytes that no longer frame after our own garbage: still wait for the close
                continue


# ---------------------------------------------------------------------------------------------
# Process checks

class Porticod:
    def __init__(self, pid):
        self.pid = pid

    def alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state not in ("Z", "X")

    def assert_alive(self, when):
        check(self.alive(), f"porticod (pid {self.pid}) is no longer running {when}")

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise TestFailure("no VmRSS in /proc/<pid>/status")

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))


# ---------------------------------------------------------------------------------------------
# The cases. Each gets the shared context and raises TestFailure on a failed assertion.

class Context:
    def __init__(self, port, target, porticod):
        self.port = port
        self.target = target
        self.porticod = porticod
        self.bystander = None

    def connect(self, label):
        return Initiator(self.port, label)

    def logged_in(self, label, **kw):
        conn = self.connect(label)
        conn.login(self.target, **kw)
        return conn

    def assert_unaffected(self, after):
        """The bystander session, logged in before every attack, still serves commands."""
        self.porticod.assert_alive(after)
        try:
            self.bystander.inquiry_ok()
        except (ConnectionClosed, socket.timeout) as e:
            raise TestFailure(f"the bystander session broke {after}: {e}") from e


def normal_login_and_inquiry_work(ctx):
    """Case 1: a plain login (no CHAP, no digests) reaches the full feature phase and INQUIRY is
    answered with a Data-In carrying status GOOD (§11.7.4)."""
    conn = ctx.logged_in("case1")
    data = conn.inquiry_ok()
    vendor = data[8:16].decode(errors="replace").strip()
    product = data[16:32].decode(errors="replace").strip()
    log(f"case 1: INQUIRY GOOD: vendor '{vendor}' product '{product}'")
    conn.close()
    # The bystander used by every later case: logged in before any hostile input.
    ctx.bystander = ctx.logged_in("bystander")
    ctx.bystander.inquiry_ok()


def unknown_opcode_is_rejected(ctx):
    """Case 2: PDUs with opcodes a target does not handle -- unassigned (0x0f), vendor specific
    (0x1c) and a target opcode sent by the initiator (0x3f, Reject) -- get a Reject whose data
    segment is the offending header (§11.17), or the connection is closed."""
    conn = ctx.logged_in("case2")
    conn.inquiry_ok()
    for opcode in (0x0F, 0x1C, 0x3F):
        itt = conn.new_itt()
        bhs = build_bhs(opcode, 0x80, immediate=True, itt=itt, field20=RESERVED_TAG, cmd_sn=conn.cmd_sn,
                        exp_stat_sn=conn.exp_stat_sn)
        conn.send_pdu(bhs)
        try:
            pdu = conn.recv_for(itt, timeout=5)
        except ConnectionClosed:
            log(f"case 2: opcode 0x{opcode:02x}: porticod closed the connection")
            conn.close()
            conn = ctx.logged_in("case2")
            continue
        except socket.timeout:
            raise TestFailure(f"case 2: opcode 0x{opcode:02x}: neither a Reject nor a close within 5 s")
        check(pdu.opcode == OP_REJECT, f"case 2: opcode 0x{opcode:02x}: expected a Reject, got {pdu.describe()}")
        check(pdu.reject_reason in REJECT_REASONS,
              f"case 2: opcode 0x{opcode:02x}: Reject with undefined reason 0x{pdu.reject_reason:02x}")
        check(pdu.data[:48] == bhs, f"case 2: opcode 0x{opcode:02x}: the Reject does not carry the rejected "
                                    "header as its data segment (§11.17)")
        log(f"case 2: opcode 0x{opcode:02x} -> {pdu.describe()}")
    # A Reject leaves the session usable: the connection that was rejected still works.
    conn.inquiry_ok()
    conn.close()
    ctx.assert_unaffected("after unknown opcodes")


def oversized_data_segment_is_refused(ctx):
    """Case 3: a DataSegmentLength above the MaxRecvDataSegmentLength porticod declared
    (§13.12) ends the connection (or gets a Reject) without porticod buffering it; one exactly
    at the limit is accepted. In the login phase the same holds for the 8 KiB login limit."""
    rss_before = ctx.porticod.rss_kib()
    conn = ctx.logged_in("case3-limit")
    limit = conn.target_mrdsl
    # Exactly at the limit: a NOP-Out ping with `limit` bytes is echoed back (§11.19.2).
    payload = bytes(range(256)) * (limit // 256) + bytes(limit % 256)
    itt = conn.nop_out(payload)
    pdu = conn.recv_for(itt, timeout=10)
    check(pdu.opcode == OP_NOP_IN and pdu.data == payload,
          f"case 3: a NOP-Out of exactly MaxRecvDataSegmentLength ({limit}) was not echoed: {pdu.describe()}")
    conn.close()
    log(f"case 3: NOP-Out of {limit} bytes (the declared limit) echoed")

    huge = 0xFFFFFF  # the largest DataSegmentLength there is: 16 MiB - 1
    attacks = [
        ("NOP-Out, limit + 1", lambda c: c.nop_out(data_length=limit + 1)),
        ("NOP-Out, 16 MiB", lambda c: c.nop_out(data_length=huge)),
        ("WRITE(10) with 16 MiB immediate data", lambda c: c.send_pdu(build_bhs(
            OP_SCSI_COMMAND, 0xA1, data_length=huge, itt=c.new_itt(), field20=huge, cmd_sn=c.cmd_sn,
            exp_stat_sn=c.exp_stat_sn, tail=bytes([0x2A, 0, 0, 0, 0, 0, 0, 0x80, 0, 0])))),
    ]
    for what, send in attacks:
        conn = ctx.logged_in("case3")
        send(conn)
        # Follow the header with 4 MiB of the declared data: porticod must not keep it.
        try:
            for _ in range(64):
                conn.send_raw(b"\xa5" * 65536)
        except (ConnectionClosed, socket.timeout, OSError):
            pass  # closed while we were still sending: the expected outcome
        received = conn.expect_closed(5, what)
        for pdu in received:
            check(pdu.opcode == OP_REJECT, f"case 3: {what}: porticod answered {pdu.describe()} instead of "
                                           "refusing the PDU")
        conn.close()
        log(f"case 3: {what}: connection closed" + (f" after {received[0].describe()}" if received else ""))

    # The same during login (§13.12: login PDUs carry at most 8192 bytes of data).
    conn = ctx.connect("case3-login")
    conn.send_raw(build_bhs(OP_LOGIN_REQUEST, 0x81, immediate=True, data_length=huge, itt=1,
                            raw_8_16=conn.isid + b"\0\0") + b"InitiatorName=x\0")
    received = conn.expect_closed(5, "Login Request with a 16 MiB data segment")
    for pdu in received:
        check(pdu.opcode == OP_LOGIN_RESPONSE and pdu.login_status >> 8 != 0,
              f"case 3: oversized Login Request answered with {pdu.describe()}")
    conn.close()
    log("case 3: oversized Login Request: connection closed")

    rss_after = ctx.porticod.rss_kib()
    log(f"case 3: porticod RSS {rss_before // 1024} MiB before, {rss_after // 1024} MiB after")
    # Growth, not size: a sanitizer build starts near 200 MiB. Three 16 MiB segments were declared;
    # had one been allocated, RSS would have grown by at least that much.
    grown = rss_after - rss_before
    check(grown < 12 * 1024, f"case 3: porticod RSS grew by {grown // 1024} MiB (limit 12 MiB): "
                             "a declared data segment length was allocated")
    ctx.assert_unaffected("after oversized data segments")


def header_digest_error_drops_connection(ctx):
    """Case 4: with HeaderDigest=CRC32C and DataDigest=CRC32C negotiated, correctly digested
    PDUs work (and porticod's own digests check out); a data digest error gets a Reject with
    reason 02h and the session goes on (§11.17.1); a header digest error cannot be trusted to
    frame the stream, so at ErrorRecoveryLevel 0 the connection is dropped (§7.8, §7.13)."""
    check(crc32c(b"123456789") == 0xE3069283, "case 4: the test's CRC32C is wrong (check value)")
    # RFC 3720 B.4: 32 bytes of zeros have CRC32C aa36918a.
    check(crc32c(bytes(32)) == 0x8A9136AA, "case 4: the test's CRC32C is wrong (32 zero bytes)")

    conn = ctx.logged_in("case4", digests=True)
    conn.inquiry_ok()  # recv_pdu verified every header and data digest porticod sent
    itt = conn.nop_out(b"digest ping")
    pdu = conn.recv_for(itt)
    check(pdu.opcode == OP_NOP_IN and pdu.data == b"digest ping", f"case 4: NOP-Out ping got {pdu.describe()}")
    log("case 4: INQUIRY and a NOP-Out ping work with CRC32C header and data digests")

    # A data digest error: the header is sound, so the PDU is framed and rejected (reason 02h).
    itt = conn.nop_out(b"corrupted payload", bad_data_digest=True)
    try:
        pdu = conn.recv_for(itt, timeout=5)
    except socket.timeout:
        raise TestFailure("case 4: no Reject within 5 s for a data digest error")
    check(pdu.opcode == OP_REJECT and pdu.reject_reason == 0x02,
          f"case 4: a data digest error got {pdu.describe()}, expected a Reject with reason 02h")
    conn.inquiry_ok()
    log("case 4: data digest error -> Reject 0x02, the session goes on")

    # A header digest error: the connection must go, without an answer to the PDU.
    itt = conn.nop_out(b"", bad_header_digest=True)
    received = conn.expect_closed(5, "PDU with a wrong header digest")
    for pdu in received:
        check(pdu.itt != itt, f"case 4: porticod answered a PDU whose header digest was wrong: {pdu.describe()}")
    conn.close()
    log("case 4: header digest error -> connection dropped")
    ctx.assert_unaffected("after a header digest error")


def login_out_of_place_is_refused(ctx):
    """Case 5: a Login Request in the full feature phase is a protocol error (§6.2, §11.17: a
    Reject, or a failed Login Response, or a close); a non-Login PDU before login makes the target
    close the connection (§6.1: 'A target receiving any PDU except a Login request before the
    Login Phase is started MUST immediately terminate the connection')."""
    conn = ctx.logged_in("case5-ffp")
    conn.inquiry_ok()
    conn.login_request(STAGE_OPERATIONAL, STAGE_FULL_FEATURE, [("HeaderDigest", "None")], itt=0x77)
    try:
        pdu = conn.recv_for(0x77, timeout=5)
        ok = pdu.opcode == OP_REJECT or (pdu.opcode == OP_LOGIN_RESPONSE and pdu.login_status >> 8 != 0)
        check(ok, f"case 5: a Login Request in the full feature phase got {pdu.describe()}")
        log(f"case 5: Login Request in full feature phase -> {pdu.describe()}")
        if pdu.opcode == OP_REJECT:
            conn.inquiry_ok()  # rejected, not fatal: the session must still work
    except ConnectionClosed:
        log("case 5: Login Request in full feature phase -> connection closed")
    except socket.timeout:
        raise TestFailure("case 5: no answer and no close within 5 s for a Login Request in full feature phase")
    conn.close()

    first_pdus = [
        ("NOP-Out", build_bhs(OP_NOP_OUT, 0x80, immediate=True, itt=1, field20=RESERVED_TAG)),
        ("SCSI Command (INQUIRY)", build_bhs(OP_SCSI_COMMAND, 0xC1, itt=1, field20=96, cmd_sn=1,
                                             tail=bytes([0x12, 0, 0, 0, 96, 0]))),
        ("Text Request (SendTargets)", build_bhs(OP_TEXT_REQUEST, 0x80, immediate=True, itt=1,
                                                 data_length=16, field20=RESERVED_TAG) + pad4(b"SendTargets=All\0")),
        ("opcode 0x3f", build_bhs(0x3F, 0x80, itt=1)),
        ("opcode 0x0f", build_bhs(0x0F, 0x80, itt=1)),
    ]
    for what, wire in first_pdus:
        conn = ctx.connect("case5-prelogin")
        conn.send_raw(wire)
        received = conn.expect_closed(5, f"{what} before login")
        for pdu in received:
            ok = pdu.opcode == OP_REJECT or (pdu.opcode == OP_LOGIN_RESPONSE and pdu.login_status >> 8 != 0)
            check(ok, f"case 5: {what} before login was answered with {pdu.describe()}")
        conn.close()
        log(f"case 5: {what} as the first PDU -> connection closed"
            + (f" after {received[0].describe()}" if received else ""))

    # Once the login phase has started, a non-Login PDU ends it (§6.1: a Login reject with
    # "invalid during login", 020bh, then disconnect).
    conn = ctx.connect("case5-midlogin")
    conn.login_request(STAGE_SECURITY, STAGE_OPERATIONAL, [
        ("InitiatorName", INITIATOR_NAME), ("TargetName", ctx.target), ("SessionType", "Normal"),
        ("AuthMethod", "None")])
    rsp = conn.recv_pdu()
    check(rsp.opcode == OP_LOGIN_RESPONSE and rsp.login_status == 0, f"case 5: login start got {rsp.describe()}")
    conn.send_raw(build_bhs(OP_NOP_OUT, 0x80, immediate=True, itt=2, field20=RESERVED_TAG))
    received = conn.expect_closed(5, "NOP-Out in the middle of a login")
    for pdu in received:
        check(pdu.opcode == OP_LOGIN_RESPONSE and pdu.login_status >> 8 == 0x02,
              f"case 5: a NOP-Out during login was answered with {pdu.describe()}")
    conn.close()
    log("case 5: NOP-Out during login -> connection closed"
        + (f" after {received[0].describe()}" if received else ""))
    ctx.assert_unaffected("after out-of-place logins")


def truncated_and_silent_connections_are_harmless(ctx):
    """Case 6: a connection that sends 20 bytes of a BHS and closes, one that sends 20 bytes and
    stalls, one that stalls half way through a declared data segment, and one that sends nothing
    at all: none of them blocks the event loop -- a fresh login works while they hang."""
    login_bhs = build_bhs(OP_LOGIN_REQUEST, 0x81, immediate=True, data_length=4096, itt=1,
                          raw_8_16=bytes([0x80, 0, 0, 0, 0x66, 0x66, 0, 0]))
    conn = ctx.connect("case6-truncated")
    conn.send_raw(login_bhs[:20])
    conn.close()

    silent = ctx.connect("case6-silent")
    stalled_bhs = ctx.connect("case6-stalled-bhs")
    stalled_bhs.send_raw(login_bhs[:20])
    stalled_data = ctx.connect("case6-stalled-data")
    stalled_data.send_raw(login_bhs + b"InitiatorName=" + b"x" * 1000)  # 1 KiB of the 4 KiB declared
    session_stalled = ctx.logged_in("case6-stalled-ffp")
    session_stalled.send_pdu(build_bhs(OP_NOP_OUT, 0x80, immediate=True, itt=9, field20=RESERVED_TAG,
                                       data_length=2048)[:20])

    time.sleep(0.5)
    ctx.porticod.assert_alive("after truncated PDUs")
    fresh = ctx.logged_in("case6-fresh")
    fresh.inquiry_ok()
    log("case 6: a fresh login works while silent and stalled connections are open")
    ctx.assert_unaffected("while truncated connections are open")

    for c in (silent, stalled_bhs, stalled_data, session_stalled, fresh):
        c.close()
    time.sleep(0.3)
    fresh = ctx.logged_in("case6-after")
    fresh.inquiry_ok()
    fresh.close()
    log("case 6: and after they went away")


def login_flood_leaves_daemon_healthy(ctx):
    """Case 7: 200 connections opened at once and dropped at every point of the login (before
    any byte, mid-BHS, after the first request without reading the answer, by RST, in the
    operational stage): porticod frees them all and a normal login works afterwards."""
    fds_before = ctx.porticod.open_fds()
    rss_before = ctx.porticod.rss_kib()
    count = 200
    conns = []
    for i in range(count):
        try:
            conns.append(ctx.connect(f"flood{i}"))
        except OSError as e:
            raise TestFailure(f"case 7: connection {i} of {count} failed: {e}")
    log(f"case 7: {count} connections open (porticod holds {ctx.porticod.open_fds()} fds, "
        f"{fds_before} before)")

    security_keys = [("InitiatorName", INITIATOR_NAME), ("TargetName", ctx.target),
                     ("SessionType", "Normal"), ("AuthMethod", "None")]
    for i, c in enumerate(conns):
        kind = i % 5
        try:
            if kind == 1:
                c.send_raw(build_bhs(OP_LOGIN_REQUEST, 0x81, immediate=True, data_length=200, itt=1,
                                     raw_8_16=c.isid + b"\0\0")[:30])
            elif kind in (2, 3, 4):
                c.login_request(STAGE_SECURITY, STAGE_OPERATIONAL, security_keys)
        except ConnectionClosed as e:
            raise TestFailure(f"case 7: porticod closed flood connection {i} early: {e}")
    for i, c in enumerate(conns):
        if i % 5 == 4:  # read the security answer, then vanish in the operational stage
            rsp = c.recv_pdu(10)
            check(rsp.opcode == OP_LOGIN_RESPONSE and rsp.login_status == 0,
                  f"case 7: flood connection {i}: {rsp.describe()}")
            c.send_raw(build_bhs(OP_LOGIN_REQUEST, 0x87, immediate=True, data_length=400, itt=1,
                                 raw_8_16=c.isid + b"\0\0") + b"HeaderDigest=None\0")
    for i, c in enumerate(conns):
        if i % 5 == 3:  # abortive close: RST instead of FIN
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    ctx.porticod.assert_alive("after the login flood")

    # Every flood connection is released: porticod's descriptors come back to where they were.
    deadline = time.monotonic() + scaled(10)
    while ctx.porticod.open_fds() > fds_before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    fds_after = ctx.porticod.open_fds()
    check(fds_after <= fds_before + 2, f"case 7: porticod holds {fds_after} file descriptors {scaled(10):.0f} s "
                                       f"after the flood ended ({fds_before} before): connections leak")
    rss_after = ctx.porticod.rss_kib()
    log(f"case 7: flood released: {fds_after} fds ({fds_before} before), RSS {rss_before // 1024} -> "
        f"{rss_after // 1024} MiB")
    # 200 connections that never logged in: their buffers are bounded (the login limit), and
    # freed when they go; a sanitizer build keeps freed memory in quarantine for a while.
    grown = rss_after - rss_before
    check(grown < 32 * 1024, f"case 7: porticod RSS grew by {grown // 1024} MiB after the flood (limit 32 MiB)")

    conn = ctx.logged_in("case7-after")
    conn.inquiry_ok()
    conn.close()
    log("case 7: a normal login works after the flood")
    ctx.assert_unaffected("after the login flood")


CASES = [
    normal_login_and_inquiry_work,
    unknown_opcode_is_rejected,
    oversized_data_segment_is_refused,
    header_digest_error_drops_connection,
    login_out_of_place_is_refused,
    truncated_and_silent_connections_are_harmless,
    login_flood_leaves_daemon_healthy,
]


def main():
    global TIME_SCALE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="porticod's pid")
    parser.add_argument("--target", required=True, help="IQN of a target with a LUN 0 any initiator may use")
    parser.add_argument("--wait", type=float, default=20, help="PORTICO_WAIT_S: 20 normally, more for sanitizers")
    args = parser.parse_args()
    TIME_SCALE = max(1.0, args.wait / 20)

    porticod = Porticod(args.pid)
    ctx = Context(args.port, args.target, porticod)
    porticod.assert_alive("before the first case")
    return run_cases(ctx, CASES)


def run_cases(ctx, cases):
    """Runs each case in turn; 0 when all passed and porticod still runs, else 1 after a FAIL line."""
    porticod = ctx.porticod
    for case in cases:
        name = case.__name__
        log(f"---- {name} (porticod holds {porticod.open_fds()} file descriptors)")
        try:
            case(ctx)
            porticod.assert_alive(f"after {name}")
        except TestFailure as e:
            print(f"FAIL: {name}: {e}", file=sys.stderr, flush=True)
            return 1
        except (ConnectionClosed, socket.timeout, OSError) as e:
            alive = "still running" if porticod.alive() else "NOT RUNNING (crashed?)"
            print(f"FAIL: {name}: {type(e).__name__}: {e} (porticod {alive})", file=sys.stderr, flush=True)
            return 1
        log(f"ok: {name}")
    ctx.bystander.close()
    if not porticod.alive():
        print("FAIL: porticod is not running at the end", file=sys.stderr)
        return 1
    log(f"all {len(cases)} cases passed; porticod (pid {porticod.pid}) still running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
