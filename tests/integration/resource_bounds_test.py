#!/usr/bin/env python3
"""Resource bounds: what a logged-in or merely connected peer can make porticod hold.

Raw iSCSI (RFC 7143) over TCP, with the PDU helpers of hostile_input_test.py, against a porticod
started by resource_bounds_test.sh with small limits: login_timeout_s 5, 16 connections per
address, 2 discovery sessions, an 8 MiB buffer budget per session, and LUN 1 whose completions
arrive 300 ms late (so that commands stay in the core while the attack goes on). Each case
asserts the protocol's answer and that porticod stays alive and bounded; under ASan a
use-after-free ends porticod and fails the case.

    resource_bounds_test.py --port PORT --pid PORTICOD_PID --target IQN [--wait SECONDS]
"""

import argparse
import socket
import struct
import sys
import time

import hostile_input_test as h
from hostile_input_test import (OP_DATA_IN, OP_LOGIN_RESPONSE, OP_REJECT, OP_SCSI_COMMAND,
                                STAGE_FULL_FEATURE, STAGE_OPERATIONAL, STAGE_SECURITY, ConnectionClosed,
                                TestFailure, build_bhs, check, log, scaled, sense_key_asc)

OP_DATA_OUT = 0x05
OP_R2T = 0x31
REJECT_DATA_DIGEST = 0x02
REJECT_IMMEDIATE = 0x06
SENSE_ABORTED_COMMAND = 0x0B
DELAYED_LUN = 1  # completion_delay_us: 300000
BLOCK = 512


def read10(lba, blocks):
    return bytes([0x28, 0]) + struct.pack(">I", lba) + bytes([0]) + struct.pack(">H", blocks) + bytes([0])


def write10(lba, blocks):
    return bytes([0x2A, 0]) + struct.pack(">I", lba) + bytes([0]) + struct.pack(">H", blocks) + bytes([0])


def send_write(conn, lun, lba, blocks, immediate_data=b"", *, itt=None):
    """A WRITE(10) with optional immediate data (F set: no unsolicited Data-Out follows)."""
    itt = itt or conn.new_itt()
    bhs = build_bhs(OP_SCSI_COMMAND, 0x80 | 0x20 | 0x01, data_length=len(immediate_data), lun=lun, itt=itt,
                    field20=blocks * BLOCK, cmd_sn=conn.cmd_sn, exp_stat_sn=conn.exp_stat_sn,
                    tail=write10(lba, blocks).ljust(16, b"\0"))
    conn.cmd_sn = (conn.cmd_sn + 1) & 0xFFFFFFFF
    conn.send_pdu(bhs, immediate_data)
    return itt


def send_read(conn, lun, lba, blocks, *, immediate=False, cmd_sn=None):
    itt = conn.new_itt()
    bhs = build_bhs(OP_SCSI_COMMAND, 0x80 | 0x40 | 0x01, immediate=immediate, lun=lun, itt=itt,
                    field20=blocks * BLOCK, cmd_sn=conn.cmd_sn if cmd_sn is None else cmd_sn,
                    exp_stat_sn=conn.exp_stat_sn, tail=read10(lba, blocks).ljust(16, b"\0"))
    if not immediate and cmd_sn is None:
        conn.cmd_sn = (conn.cmd_sn + 1) & 0xFFFFFFFF
    conn.send_pdu(bhs)
    return itt


def data_out_pdu(conn, lun, itt, ttt, data_sn, offset, data, *, final):
    tail = bytes(4) + struct.pack(">II", data_sn, offset)
    return build_bhs(OP_DATA_OUT, 0x80 if final else 0, data_length=len(data), lun=lun, itt=itt, field20=ttt,
                     exp_stat_sn=conn.exp_stat_sn, tail=tail)


def status_of(conn, itt):
    return conn.command_status(itt, f"ITT 0x{itt:08x}")


def read_back(conn, lun, lba, blocks, what):
    return conn.scsi_good(read10(lba, blocks), blocks * BLOCK, what, lun=lun)


def expect_reject(conn, reason, what, timeout=5.0):
    pdu = conn.recv_pdu(timeout)
    check(pdu.opcode == OP_REJECT and pdu.reject_reason == reason,
          f"{what}: expected a Reject with reason 0x{reason:02x}, got {pdu.describe()}")


# ---------------------------------------------------------------------------------------------

def data_digest_error_on_a_running_write_touches_nothing(ctx):
    """RFC 7143 §7.8: an extra Data-Out with a bad data digest, for a write already executing in
    the core (completing 300 ms late), is rejected and dropped; the write completes GOOD with
    the data it carried. Before the fix porticod freed the running task (use-after-free)."""
    conn = ctx.logged_in("uaf", digests=True)
    read_back(conn, DELAYED_LUN, 0, 1, "uaf")  # consumes the power-on unit attention
    payload = b"\x5a" * BLOCK
    itt = send_write(conn, DELAYED_LUN, 0, 1, payload)
    time.sleep(0.05)  # the command is in the core now, waiting for its delayed completion
    conn.send_pdu(data_out_pdu(conn, DELAYED_LUN, itt, h.RESERVED_TAG, 0, 0, b"\xee" * BLOCK, final=True),
                  b"\xee" * BLOCK, bad_data_digest=True)
    expect_reject(conn, REJECT_DATA_DIGEST, "uaf: Data-Out with a bad digest")
    status, _, sense = status_of(conn, itt)
    check(status == h.SCSI_GOOD, f"uaf: the running WRITE ended 0x{status:02x} {sense.hex()}")
    ctx.porticod.assert_alive("after a bad-digest Data-Out for a running write")
    check(read_back(conn, DELAYED_LUN, 0, 1, "uaf") == payload, "uaf: the write's own data did not land")
    conn.close()
    ctx.assert_unaffected("after a bad-digest Data-Out for a running write")


def data_digest_error_in_solicited_data_fails_the_write_unwritten(ctx):
    """§7.8 at ERL 0: a solicited Data-Out with a bad digest is rejected; once the rest of the
    data is in, the command ends with ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR (47h/05h) and
    nothing of it is written."""
    conn = ctx.logged_in("crc", digests=True)
    original = b"\x11" * (2 * BLOCK)
    read_back(conn, 0, 0, 1, "crc")
    status, _, sense = status_of(conn, send_write(conn, 0, 100, 2, original))
    check(status == h.SCSI_GOOD, f"crc: preparing write: 0x{status:02x} {sense.hex()}")
    itt = send_write(conn, 0, 100, 2)  # no immediate data: InitialR2T=Yes, so an R2T comes
    r2t = conn.recv_for(itt)
    check(r2t.opcode == OP_R2T, f"crc: expected an R2T, got {r2t.describe()}")
    ttt = r2t.ttt
    conn.send_pdu(data_out_pdu(conn, 0, itt, ttt, 0, 0, b"\x22" * BLOCK, final=False), b"\x22" * BLOCK,
                  bad_data_digest=True)
    conn.send_pdu(data_out_pdu(conn, 0, itt, ttt, 1, BLOCK, b"\x22" * BLOCK, final=True), b"\x22" * BLOCK)
    expect_reject(conn, REJECT_DATA_DIGEST, "crc: solicited Data-Out with a bad digest")
    status, _, sense = status_of(conn, itt)
    ska = sense_key_asc(sense)
    check(status == h.SCSI_CHECK_CONDITION and ska == (SENSE_ABORTED_COMMAND, 0x47, 0x05),
          f"crc: expected CHECK CONDITION 0b/47/05, got status 0x{status:02x} sense {sense.hex()}")
    check(read_back(conn, 0, 100, 2, "crc") == original, "crc: data with a digest error was written")
    conn.close()
    ctx.assert_unaffected("after a solicited Data-Out with a bad digest")


def immediate_commands_are_bounded(ctx):
    """§4.2.2.1: immediate commands stand outside the CmdSN window; beyond a few outstanding on one
    connection they are refused with Reject reason 06h, and the accepted ones complete."""
    conn = ctx.logged_in("immediate")
    read_back(conn, DELAYED_LUN, 0, 1, "immediate")
    itts = [send_read(conn, DELAYED_LUN, 0, 1, immediate=True) for _ in range(12)]
    rejects = 0
    done = set()
    deadline = time.monotonic() + scaled(10)
    while len(done) + rejects < len(itts) and time.monotonic() < deadline:
        pdu = conn.recv_pdu(10)
        if pdu.opcode == OP_REJECT:
            check(pdu.reject_reason == REJECT_IMMEDIATE, f"immediate: {pdu.describe()}")
            rejects += 1
        elif pdu.opcode == OP_DATA_IN and pdu.flags & 0x01:
            done.add(pdu.itt)
    log(f"immediate: {len(done)} immediate READs completed, {rejects} refused")
    check(rejects > 0 and len(done) > 0, f"immediate: {len(done)} completed and {rejects} refused of 12")
    check(len(done) <= 4, f"immediate: {len(done)} immediate commands were accepted at once (bound 4)")
    conn.close()
    ctx.assert_unaffected("after an immediate command flood")


def unread_read_flood_stays_within_budget(ctx):
    """3,000 READs of 1 MiB with consecutive CmdSNs and no response read (the issue's probe: RSS
    grew by 1.4 GiB). The buffer budget (8 MiB per session) parks what does not fit, the CmdSN
    window stops growing, commands beyond MaxCmdSN are dropped; RSS stays bounded. Once the
    responses are read, the commands answered are exactly a prefix of those sent."""
    rss_before = ctx.porticod.rss_kib()
    conn = ctx.logged_in("flood")
    read_back(conn, 0, 0, 1, "flood")
    first_itt = conn.next_itt + 1
    wire = bytearray()
    for _ in range(3000):
        itt = conn.new_itt()
        wire += build_bhs(OP_SCSI_COMMAND, 0x80 | 0x40 | 0x01, itt=itt, field20=1 << 20, cmd_sn=conn.cmd_sn,
                          exp_stat_sn=conn.exp_stat_sn, tail=read10(0, 2048).ljust(16, b"\0"))
        conn.cmd_sn = (conn.cmd_sn + 1) & 0xFFFFFFFF
    conn.sock.settimeout(scaled(5))
    try:
        conn.sock.sendall(bytes(wire))
    except socket.timeout:
        log("flood: porticod stopped reading before all 3,000 commands were sent (back-pressure)")
    time.sleep(scaled(2))
    rss_peak = ctx.porticod.rss_kib()
    growth = (rss_peak - rss_before) // 1024
    log(f"flood: RSS {rss_before // 1024} MiB before, {rss_peak // 1024} MiB with 3,000 unread 1 MiB READs")
    check(growth < 96, f"flood: porticod grew by {growth} MiB for one session's unread commands (budget 8 MiB)")
    ctx.porticod.assert_alive("with an unread READ flood")

    answered = set()
    max_cmd_sn = 0
    while True:
        try:
            pdu = conn.recv_pdu(2)
        except socket.timeout:
            break
        if pdu.opcode == OP_DATA_IN and pdu.flags & 0x01:
            answered.add(pdu.itt)
            max_cmd_sn = struct.unpack_from(">I", pdu.bhs, 32)[0]
        elif pdu.opcode == h.OP_NOP_IN and pdu.ttt != h.RESERVED_TAG:
            continue
    log(f"flood: {len(answered)} of 3,000 commands answered (last MaxCmdSN {max_cmd_sn})")
    check(0 < len(answered) < 3000, f"flood: {len(answered)} of 3,000 commands answered: the window was not enforced")
    check(answered == set(range(first_itt, first_itt + len(answered))),
          "flood: the commands answered are not the first ones sent (a command beyond the window was taken)")
    conn.close()
    ctx.assert_unaffected("after an unread READ flood")


def silent_and_stalled_logins_time_out(ctx):
    """A connection that sends nothing, or stops in the middle of its login, is closed once the
    login timeout (5 s here) has passed."""
    silent = ctx.connect("silent")
    stalled = ctx.connect("stalled")
    stalled.login_request(STAGE_SECURITY, STAGE_OPERATIONAL, [
        ("InitiatorName", h.INITIATOR_NAME), ("TargetName", ctx.target), ("SessionType", "Normal"),
        ("AuthMethod", "None")])
    rsp = stalled.recv_pdu()
    check(rsp.opcode == OP_LOGIN_RESPONSE and rsp.login_status == 0, f"stalled: {rsp.describe()}")
    start = time.monotonic()
    silent.expect_closed(9, "a connection that never sends a login")
    stalled.expect_closed(9, "a login stalled after its security stage")
    elapsed = time.monotonic() - start
    log(f"login timeout: both closed after {elapsed:.1f} s")
    check(elapsed >= 3.5, f"login timeout: closed after {elapsed:.1f} s, before the 5 s timeout")
    silent.close()
    stalled.close()


def connections_per_address_are_capped(ctx):
    """At most 16 connections from one address (the bystander is one of them): the others are
    closed at once, while another address still gets in; once they go, logins work again."""
    conns = [ctx.connect(f"cap{i}") for i in range(30)]
    time.sleep(1)  # a refused connection is closed as soon as it is accepted; the login timeout is 5 s
    closed = 0
    for c in conns:
        c.sock.setblocking(False)
        try:
            closed += c.sock.recv(1) == b""
        except BlockingIOError:
            pass  # open and waiting for a login
        except ConnectionResetError:
            closed += 1
    log(f"cap: {closed} of 30 extra connections from 127.0.0.1 were refused")
    check(closed == 30 - 15, f"cap: {closed} of 30 connections refused, expected 15 (16 per address, "
                             "the bystander holds one)")
    other = h.Initiator(ctx.port, "other-address", source="127.0.0.2")
    other.login(ctx.target)
    other.inquiry_ok()
    other.close()
    for c in conns:
        c.close()
    time.sleep(0.5)
    again = ctx.logged_in("cap-after")
    again.inquiry_ok()
    again.close()
    ctx.assert_unaffected("after the connection cap")


def discovery_login(conn):
    conn.login_request(STAGE_SECURITY, STAGE_OPERATIONAL, [
        ("InitiatorName", h.INITIATOR_NAME), ("SessionType", "Discovery"), ("AuthMethod", "None")])
    rsp = conn.recv_pdu()
    if rsp.login_status != 0:
        return rsp.login_status
    conn.login_request(STAGE_OPERATIONAL, STAGE_FULL_FEATURE, [("HeaderDigest", "None"), ("DataDigest", "None")])
    return conn.recv_pdu().login_status


def discovery_sessions_are_capped(ctx):
    """At most 2 discovery sessions: the third login fails with OUT OF RESOURCES (0302h); when
    one ends, a new one is admitted."""
    first, second, third = (ctx.connect(f"discovery{i}") for i in range(3))
    check(discovery_login(first) == 0, "discovery: the first session was refused")
    check(discovery_login(second) == 0, "discovery: the second session was refused")
    status = discovery_login(third)
    check(status == 0x0302, f"discovery: the third session got status 0x{status:04x}, expected 0x0302")
    first.close()
    third.close()
    time.sleep(0.5)
    fourth = ctx.connect("discovery3")
    check(discovery_login(fourth) == 0, "discovery: a session after one ended was refused")
    second.close()
    fourth.close()


CASES = [
    data_digest_error_on_a_running_write_touches_nothing,
    data_digest_error_in_solicited_data_fails_the_write_unwritten,
    immediate_commands_are_bounded,
    unread_read_flood_stays_within_budget,
    silent_and_stalled_logins_time_out,
    connections_per_address_are_capped,
    discovery_sessions_are_capped,
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--wait", type=float, default=20)
    args = parser.parse_args()
    h.TIME_SCALE = max(1.0, args.wait / 20)
    porticod = h.Porticod(args.pid)
    ctx = h.Context(args.port, args.target, porticod)
    ctx.bystander = ctx.logged_in("bystander")
    ctx.bystander.inquiry_ok()
    return h.run_cases(ctx, CASES)


if __name__ == "__main__":
    sys.exit(main())
