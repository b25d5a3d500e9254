#!/usr/bin/env python3
"""Lockstep comparison of Vessel's rv64 engine against QEMU, instruction by instruction.

Runs the same program under `vessel run --trace` (one hart) and under
qemu-system-riscv64 -M virt stopped at reset (-S), talks the GDB remote serial
protocol to QEMU's gdbstub directly (a unix socket; no gdb needed), single-steps
QEMU once per line of Vessel's trace and compares, after every instruction, the
pc and x1..x31 (Vessel's trace gives the registers an instruction changed; they
are applied to a model of Vessel's register file that starts as a copy of
QEMU's at the first common pc). It stops at the first difference and prints both
sides' pc, instruction and the differing registers, with the instructions before.

    tools/lockstep.py isa_int                        # a bare-metal test program by name
    tools/lockstep.py build/guest/rv64/mmu.elf --max 5000
    tools/lockstep.py --boot --max 200000            # OpenSBI fw_dynamic + Linux (cached guest)
    tools/lockstep.py --boot --firmware fw_jump.bin --skip 1000 --max 5000

Bare-metal programs: NAME or a path to NAME.elf/NAME.bin built by
`make -C tests/guest/rv64` (QEMU gets NAME.elf with -bios none, Vessel gets
NAME.bin as --firmware, as tests/guest/rv64/run.sh does).

What is expected to differ, and how it is handled:
  * Reads of the counters time/cycle/instret (and mcycle/minstret) and loads from
    the CLINT's mtime (0x200bff8) or the goldfish RTC (0x101000) give values that
    depend on the host's clock: after such an instruction QEMU's destination
    register is set to Vessel's value (a "resync", counted in the summary;
    --strict-time turns that off), so that what the program computes from it
    agrees on both sides. So are the implementation IDs mvendorid/marchid/mimpid (QEMU's
    marchid encodes its version).
  * Vessel's initial registers are not in its trace: the model starts from QEMU's
    registers at the first common pc, after the tool has set QEMU's x1..x31 to
    Vessel's reset values (zero, except a0 = hart id, a1 = FDT, a2 = fw_dynamic
    info; QEMU's reset ROM leaves t0 and a few others set). Both VMMs put the FDT at the same place
    (the last 2 MiB of RAM, so a1 agrees) but fw_dynamic's info structure (a2)
    lives in QEMU's reset ROM and in Vessel's RAM; in --boot mode with
    fw_dynamic, QEMU's a2 is moved to Vessel's address (FDT + 0x10000, see
    src/board/riscv/layout.h) with the structure copied there, so OpenSBI reads
    the same values from the same place.
  * The device trees differ (QEMU's virt has PCI, flash, fw_cfg, different
    phandles and a different size): once the firmware or kernel parses the DT,
    loads return different bytes and the runs diverge. A --boot comparison is
    meaningful up to that point (the first few tens of thousands of OpenSBI
    instructions). --skip N steps both sides N instructions without comparing
    and then restarts the model from QEMU's registers (the pcs must still match).
  * Interrupts: QEMU's gdbstub single-steps with interrupts and timers masked
    (qqemu.sstep=0x7), Vessel's trace takes interrupts when they arrive; an
    interrupt on Vessel's side shows as a pc jump between two trace lines and is
    reported as such. Programs that wait for interrupts (WFI) cannot be compared.
  * One hart only (--cpus 1 on both sides).

Exit status: 0 no divergence within the compared instructions, 1 divergence,
2 usage or setup error (a VMM failed to start, a timeout, QEMU stopped).
The last line of output starts with "lockstep: no divergence" or
"lockstep: DIVERGENCE".
"""

import argparse
import collections
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST_DIR = os.path.join(ROOT, "build", "guest", "rv64")

ABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
       "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"]
REG_BY_NAME = dict([(n, i) for i, n in enumerate(ABI)] + [("x%d" % i, i) for i in range(32)] + [("fp", 8)])
PRIV_LETTER = {0: "U", 1: "S", 3: "M"}

# Values that depend on the host clock (see the module doc).
COUNTER_CSRS = {0xC00: "cycle", 0xC01: "time", 0xC02: "instret", 0xB00: "mcycle", 0xB02: "minstret",
                0xF11: "mvendorid", 0xF12: "marchid", 0xF13: "mimpid"}
CLOCK_MMIO = [(0x0200BFF8, 8, "CLINT mtime"), (0x00101000, 0x20, "goldfish RTC")]
SYSCON = (0x00100000, 0x1000)
# Vessel's fw_dynamic info: FDT (last 2 MiB of RAM) + RISCV_FW_DYN_INFO_OFF (layout.h).
RAM_BASE = 0x80000000
FDT_TOP_SIZE = 0x200000
FW_DYN_INFO_OFF = 0x10000
KERNEL_OFF = 0x200000


class LockstepError(Exception):
    pass


def deadline_left(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise LockstepError("timeout (--timeout)")
    return left


# ---- GDB remote serial protocol (the subset QEMU's gdbstub needs) ----

class Rsp:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.buf = bytearray()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if deadline_left(deadline) < 0 or time.monotonic() > deadline:
                    raise LockstepError("cannot connect to QEMU's gdbstub at %s" % path)
                time.sleep(0.05)

    def send(self, payload):
        data = payload.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))

    def recv(self):
        while True:
            start = self.buf.find(b"$")
            if start >= 0:
                end = self.buf.find(b"#", start)
                if end >= 0 and len(self.buf) >= end + 3:
                    pkt = bytes(self.buf[start + 1:end])
                    del self.buf[:end + 3]
                    self.sock.sendall(b"+")
                    return pkt.decode()
            self.sock.settimeout(min(deadline_left(self.deadline), 30))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise LockstepError("QEMU's gdbstub did not answer within 30 s")
            if not chunk:
                raise LockstepError("QEMU closed the gdb connection")
            self.buf += chunk

    def cmd(self, payload):
        self.send(payload)
        return self.recv()

    def regs(self):
        """x0..x31 and pc (the 'g' packet of QEMU's riscv64 target)."""
        r = self.cmd("g")
        if len(r) < 33 * 16:
            raise LockstepError("unexpected reply to 'g': %r" % r[:80])
        return [int.from_bytes(bytes.fromhex(r[i * 16:(i + 1) * 16]), "little") for i in range(33)]

    def reg(self, n):
        r = self.cmd("p%x" % n)
        if not re.fullmatch(r"[0-9a-f]+", r):
            raise LockstepError("unexpected reply to 'p%x': %r" % (n, r[:80]))
        return int.from_bytes(bytes.fromhex(r), "little")

    def set_reg(self, n, val):
        r = self.cmd("P%x=%s" % (n, val.to_bytes(8, "little").hex()))
        if r != "OK":
            raise LockstepError("QEMU refused to set register %d: %r" % (n, r))

    def read_mem(self, addr, size):
        r = self.cmd("m%x,%x" % (addr, size))
        if not re.fullmatch(r"([0-9a-f]{2})+", r):
            return None
        return bytes.fromhex(r)

    def write_mem(self, addr, data):
        r = self.cmd("M%x,%x:%s" % (addr, len(data), data.hex()))
        if r != "OK":
            raise LockstepError("QEMU refused to write memory at 0x%x: %r" % (addr, r))

    def stopped(self, reply):
        if not reply.startswith(("T", "S")):
            raise LockstepError("QEMU stopped: %r (the guest exited or QEMU failed)" % reply)

    def step(self):
        self.stopped(self.cmd("s"))

    def run_to(self, pc):
        if self.cmd("Z0,%x,2" % pc) != "OK":
            raise LockstepError("QEMU refused a breakpoint at 0x%x" % pc)
        self.stopped(self.cmd("c"))
        self.cmd("z0,%x,2" % pc)

    def priv_regnum(self):
        """The register number of QEMU's virtual 'priv' register, from the target description."""
        target = self.xfer("target.xml")
        n = 0
        for href in re.findall(r'<xi:include href="([^"]+)"', target):
            doc = self.xfer(href)
            for attrs in re.findall(r"<reg\s([^>]*)>", doc):
                m = re.search(r'regnum="(\d+)"', attrs)
                if m:
                    n = int(m.group(1))
                if re.search(r'name="priv"', attrs):
                    return n
                n += 1
        return None

    def xfer(self, name):
        out, off = "", 0
        while True:
            r = self.cmd("qXfer:features:read:%s:%x,%x" % (name, off, 0x800))
            if not r or r[0] not in "lm":
                raise LockstepError("qXfer of %s failed: %r" % (name, r[:80]))
            out += r[1:]
            off += len(r) - 1
            if r[0] == "l":
                return out


# ---- Vessel's trace: "HART PRIV PC INSN [xN=VAL]... [->TARGET]" ----

TRACE_RE = re.compile(r"(\d+) ([USM?]) ([0-9a-f]{16}) ([0-9a-f]{8})((?: x\d+=[0-9a-f]{16})*)(?: ->([0-9a-f]{16}))?"
                      r"(?: \+(\d+))?$")


class TraceLine:
    __slots__ = ("n", "text", "hart", "priv", "pc", "insn", "writes", "target", "count")

    def __init__(self, n, text):
        m = TRACE_RE.match(text)
        if not m:
            raise LockstepError("Vessel trace line %d is not in the documented format: %r" % (n, text))
        self.n = n
        self.text = text
        self.hart = int(m.group(1))
        self.priv = m.group(2)
        self.pc = int(m.group(3), 16)
        self.insn = int(m.group(4), 16)
        self.writes = [(int(r), int(v, 16)) for r, v in re.findall(r"x(\d+)=([0-9a-f]{16})", m.group(5))]
        self.target = int(m.group(6), 16) if m.group(6) else None
        # "+N": a run of N instructions of the JIT tier (VESSEL_RV64_TRACE_CHUNKS), or None
        self.count = int(m.group(7)) if m.group(7) else None
        if self.count is not None and (self.count < 1 or self.target is None):
            raise LockstepError("Vessel trace line %d: a run needs ->PC and +N >= 1: %r" % (n, text))

    def length(self):
        return 4 if (self.insn & 3) == 3 else 2

    def next_pc(self):
        return self.target if self.target is not None else self.pc + self.length()


class TraceReader:
    """Reads trace lines from a file, or from a FIFO that a running Vessel writes."""

    def __init__(self, path, proc=None, deadline=None):
        self.proc = proc
        self.deadline = deadline
        self.fd = os.open(path, os.O_RDWR if proc else os.O_RDONLY)  # O_RDWR: a FIFO open never blocks
        self.buf = b""
        self.n = 0
        self.done = False

    def next(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                text = self.buf[:i].decode(errors="replace")
                self.buf = self.buf[i + 1:]
                self.n += 1
                return TraceLine(self.n, text)
            if self.done:
                return None
            if self.proc is None:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    self.done = True
                self.buf += chunk
                continue
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                self.buf += os.read(self.fd, 1 << 16)
            elif self.proc.poll() is not None:
                # Vessel exited and the FIFO is drained (we hold its write end ourselves).
                self.done = True
            else:
                deadline_left(self.deadline)

    def close(self):
        os.close(self.fd)


# ---- instruction decoding: which register gets a clock-dependent value ----

def sext(v, bits):
    return v - (1 << bits) if v & (1 << (bits - 1)) else v


def unknown_dest(insn, regs):
    """(rd, why) when the instruction reads a clock-dependent value into rd, else None."""
    if (insn & 3) == 3:
        op, rd, f3, rs1 = insn & 0x7F, (insn >> 7) & 31, (insn >> 12) & 7, (insn >> 15) & 31
        if op == 0x73 and f3 not in (0, 4) and (insn >> 20) in COUNTER_CSRS:
            return rd, "csr %s" % COUNTER_CSRS[insn >> 20]
        if op == 0x03:
            return mmio_dest(rd, (regs[rs1] + sext(insn >> 20, 12)) & (2**64 - 1), 1 << (f3 & 3))
        return None
    q, f3 = insn & 3, (insn >> 13) & 7
    if q == 0 and f3 in (2, 3):  # c.lw, c.ld
        rd, rs1 = 8 + ((insn >> 2) & 7), 8 + ((insn >> 7) & 7)
        off = ((insn >> 10) & 7) << 3
        off |= (((insn >> 6) & 1) << 2 | ((insn >> 5) & 1) << 6) if f3 == 2 else ((insn >> 5) & 3) << 6
        return mmio_dest(rd, (regs[rs1] + off) & (2**64 - 1), 4 if f3 == 2 else 8)
    return None


def syscon_store(insn, regs):
    """True when the instruction stores to the syscon (poweroff/reboot) register."""
    if (insn & 0x7F) == 0x23:
        off = sext(((insn >> 25) << 5) | ((insn >> 7) & 31), 12)
        addr = regs[(insn >> 15) & 31] + off
    elif (insn & 3) == 0 and ((insn >> 13) & 7) in (6, 7):  # c.sw, c.sd
        f3 = (insn >> 13) & 7
        off = ((insn >> 10) & 7) << 3
        off |= (((insn >> 6) & 1) << 2 | ((insn >> 5) & 1) << 6) if f3 == 6 else ((insn >> 5) & 3) << 6
        addr = regs[8 + ((insn >> 7) & 7)] + off
    else:
        return False
    return SYSCON[0] <= (addr & (2**64 - 1)) < SYSCON[0] + SYSCON[1]


def mmio_dest(rd, addr, size):
    for base, length, what in CLOCK_MMIO:
        if addr < base + length and addr + size > base:
            return rd, "load from %s" % what
    return None


# ---- the two VMMs ----

def program_paths(prog):
    """(elf, bin) of a bare-metal test program given by name or path."""
    if os.sep not in prog and not prog.endswith((".elf", ".bin")):
        base = os.path.join(GUEST_DIR, prog)
    else:
        base = os.path.splitext(prog)[0]
    elf, bin_ = base + ".elf", base + ".bin"
    for f in (elf, bin_):
        if not os.path.isfile(f):
            raise LockstepError("%s missing (make -C tests/guest/rv64)" % f)
    return elf, bin_


def artifact(name):
    if os.path.isabs(name) or os.path.exists(name):
        return name
    cache = os.environ.get("VESSEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "vessel")
    return os.path.join(cache, "riscv64", name)


def mem_bytes(size):
    m = re.fullmatch(r"(\d+)([KMG]?)", size.upper())
    if not m:
        raise LockstepError("--mem %s: expected a size like 256M" % size)
    return int(m.group(1)) << {"K": 10, "M": 20, "G": 30, "": 20}[m.group(2)]


def commands(a, tmp, fifo, sock):
    gdb = ["-S", "-chardev", "socket,id=lockgdb,path=%s,server=on,wait=off" % sock, "-gdb", "chardev:lockgdb"]
    qemu = [a.qemu, "-M", "virt", "-cpu", a.qemu_cpu, "-smp", "1", "-display", "none", "-monitor", "none",
            "-serial", "file:%s" % os.path.join(tmp, "qemu-console.log"), "-m", a.mem]
    vessel = [a.vessel, "run", "--arch", "riscv64", "--cpus", "1", "--mem", a.mem, "--trace", fifo]
    if a.boot:
        fw, kernel = artifact(a.firmware), artifact(a.kernel)
        files = [fw, kernel] + ([artifact(a.initrd)] if a.initrd else [])
        for f in files:
            if not os.path.isfile(f):
                raise LockstepError("%s missing (scripts/fetch-guest.sh)" % f)
        qemu += ["-bios", fw, "-kernel", kernel, "-append", a.append]
        vessel += ["--firmware", fw, "--kernel", kernel, "--append", a.append]
        if a.initrd:
            qemu += ["-initrd", artifact(a.initrd)]
            vessel += ["--initrd", artifact(a.initrd)]
    else:
        elf, bin_ = program_paths(a.program)
        placeholder = os.path.join(os.path.dirname(bin_), "placeholder.Image")
        qemu += ["-bios", "none", "-kernel", elf]
        vessel += ["--firmware", a.vessel_bin or bin_, "--kernel", placeholder]
    return qemu + gdb, vessel


# ---- the comparison ----

def fmt_regs(regs, nums):
    return " ".join("%s=%016x" % (ABI[r], regs[r]) for r in nums)


def report(line, qregs_before, qregs, model, qinsn, diffs, history, note):
    print("lockstep: DIVERGENCE at instruction %d (Vessel trace line %d)" % (line.n, line.n))
    print("  %s" % note)
    print("  last instructions (Vessel's trace; all matched QEMU):")
    for h in history:
        print("    %s" % h.text)
    qtext = ("%08x" % qinsn) if qinsn is not None else "?"
    print("  vessel: pc=%016x insn=%08x priv=%s writes: %s%s" % (
        line.pc, line.insn, line.priv,
        " ".join("%s=%016x" % (ABI[r], v) for r, v in line.writes) or "(none)",
        " next pc=%016x" % line.next_pc()))
    print("  qemu:   pc=%016x insn=%s next pc=%016x" % (qregs_before[32], qtext, qregs[32]))
    for r in diffs:
        print("  %-4s (x%-2d): vessel=%016x qemu=%016x" % (ABI[r], r, model[r], qregs[r]))


def qemu_insn(rsp, pc):
    b = rsp.read_mem(pc, 4)
    if b is None:
        b = rsp.read_mem(pc, 2)
        if b is None:
            return None
    v = int.from_bytes(b, "little")
    return v if (v & 3) == 3 else v & 0xFFFF


def lockstep(a, rsp, trace):
    first = trace.next()
    if first is None:
        raise LockstepError("Vessel's trace is empty (did vessel start? see its log)")
    priv_reg = rsp.priv_regnum()  # reading the target description also enables 'P' in QEMU
    rsp.run_to(first.pc)
    qregs = rsp.regs()
    # Vessel starts a hart with x1..x31 zero except a0 (hart id), a1 (FDT) and a2 (fw_dynamic
    # info); QEMU's reset ROM leaves t0 and others set. Give QEMU Vessel's reset values.
    for r in range(1, 32):
        if r not in (10, 11, 12) and qregs[r] != 0:
            rsp.set_reg(r, 0)
            qregs[r] = 0
    if a.boot and os.path.basename(a.firmware).startswith("fw_dynamic"):
        # Give QEMU Vessel's fw_dynamic info, at Vessel's address (see the module doc).
        info = RAM_BASE + mem_bytes(a.mem) - FDT_TOP_SIZE + FW_DYN_INFO_OFF
        fields = [0x4942534F, 2, RAM_BASE + KERNEL_OFF, 1, 0, 2**64 - 1]  # boot.c: riscv_boot_load()
        rsp.write_mem(info, b"".join(f.to_bytes(8, "little") for f in fields))
        rsp.set_reg(12, info)
        qregs[12] = info
        print("lockstep: QEMU's a2 points at Vessel's fw_dynamic info, written at 0x%x" % info)
    if priv_reg is None:
        print("lockstep: QEMU has no 'priv' register; the privilege level is not compared")
    if priv_reg is not None and PRIV_LETTER.get(rsp.reg(priv_reg) & 3, "?") != first.priv:
        raise LockstepError("privilege levels differ at the first common pc 0x%x" % first.pc)
    model = list(qregs)
    history = collections.deque(maxlen=a.context)
    resyncs = collections.Counter()
    line, compared = first, 0
    limit = a.skip + a.max
    while line is not None and line.n <= limit:
        if line.hart != 0:
            raise LockstepError("trace line %d is from hart %d; lockstep compares one hart" % (line.n, line.hart))
        before = qregs
        if before[32] != line.pc:
            prev = history[-1] if history else None
            note = "pc differs before the instruction"
            if prev is not None and prev.next_pc() != line.pc:
                note += (" (Vessel's pc jumped from the expected 0x%x to 0x%x between two instructions: an"
                         " interrupt or trap on Vessel's side; QEMU single-steps with interrupts masked)"
                         % (prev.next_pc(), line.pc))
            report(line, before, before, model, qemu_insn(rsp, before[32]), [], history, note)
            return 1, compared, resyncs
        unknown = unknown_dest(line.insn, model) if line.count is None else None
        stepped = 0
        try:
            for stepped in range(1, (line.count or 1) + 1):
                rsp.step()
            qregs = rsp.regs()
        except LockstepError as e:
            if line.count is not None and stepped > 1:
                # a run of the JIT tier that ends in the syscon store: QEMU exited within it
                print("lockstep: QEMU exited after %d of the %d instructions of Vessel trace line %d (%s): %s"
                      % (stepped - 1, line.count, line.n, line.text, e))
                return 0, compared + (line.n > a.skip), resyncs
            if syscon_store(line.insn, model):
                # QEMU exits on the syscon write; Vessel's harts stop at their next stop check, so
                # its trace may have a few more instructions (up to the next WFI).
                rest = 0
                while trace.next() is not None:
                    rest += 1
                print("lockstep: both powered off at instruction %d, a store to the syscon (QEMU: %s;"
                      " Vessel's trace has %d more instruction(s) before its hart stopped)" % (line.n, e, rest))
                return 0, compared + (line.n > a.skip), resyncs
            raise LockstepError("at Vessel trace line %d (%s): %s" % (line.n, line.text, e))
        for r, v in line.writes:
            model[r] = v
        model[0] = 0
        model[32] = qregs[32]
        if line.n <= a.skip:
            if line.n == a.skip:
                model = list(qregs)
            history.append(line)
            line = trace.next()
            continue
        if unknown and unknown[0] != 0 and not a.strict_time and qregs[unknown[0]] != model[unknown[0]]:
            # Vessel's value is known exactly (printed, or unchanged): make QEMU's register agree,
            # so that whatever the program computes from it agrees too.
            rsp.set_reg(unknown[0], model[unknown[0]])
            qregs[unknown[0]] = model[unknown[0]]
            resyncs[unknown[1]] += 1
        compared += 1
        diffs = [r for r in range(1, 32) if model[r] != qregs[r]]
        nxt = trace.next() if line.n < limit else None
        note = None
        if diffs:
            note = "registers differ after the instruction"
        elif line.target is not None and line.target != qregs[32]:
            note = "next pc differs (Vessel's trace says ->%016x)" % line.target
        elif priv_reg is not None and nxt is not None and (line.count is not None or
                                                           qregs[32] != before[32] + line.length()):
            qpriv = rsp.reg(priv_reg) & 3
            if PRIV_LETTER.get(qpriv, "?") != nxt.priv:
                note = ("privilege level differs after the instruction: Vessel %s (its next line), QEMU %s"
                        % (nxt.priv, PRIV_LETTER.get(qpriv, "?")))
        if note:
            report(line, before, qregs, model, qemu_insn(rsp, before[32]), diffs, history, note)
            return 1, compared, resyncs
        history.append(line)
        line = nxt
    return 0, compared, resyncs


def main():
    ap = argparse.ArgumentParser(description="Compare Vessel's rv64 engine with QEMU, instruction by instruction.",
                                 epilog="See the module doc (head of this file) for what is expected to differ.")
    ap.add_argument("program", nargs="?", help="bare-metal test program: NAME (build/guest/rv64) or NAME.elf/.bin")
    ap.add_argument("--boot", action="store_true", help="compare an OpenSBI + Linux boot instead")
    ap.add_argument("--firmware", default="fw_dynamic.bin", help="--boot: firmware (default: cached fw_dynamic.bin)")
    ap.add_argument("--kernel", default="Image", help="--boot: kernel Image (default: the cached one)")
    ap.add_argument("--initrd", default=None, help="--boot: initrd (default: none)")
    ap.add_argument("--append", default="console=ttyS0", help="--boot: kernel command line")
    ap.add_argument("--mem", default=None, help="guest RAM, same on both sides (default 128M bare-metal, 256M boot)")
    ap.add_argument("--max", type=int, default=100000, help="compare at most N instructions (default 100000)")
    ap.add_argument("--skip", type=int, default=0, help="step N instructions before comparing (default 0)")
    ap.add_argument("--context", type=int, default=8, help="matching instructions shown before a divergence")
    ap.add_argument("--strict-time", action="store_true", help="compare clock-dependent reads too")
    ap.add_argument("--vessel", default=os.environ.get("VESSEL_BIN") or os.path.join(ROOT, "build", "vessel"))
    ap.add_argument("--vessel-bin", help="run this flat image under Vessel instead of the program's .bin")
    ap.add_argument("--vessel-trace", help="compare against this existing trace file instead of running Vessel")
    ap.add_argument("--tier", choices=["interp", "jit"], default="interp",
                    help="Vessel's rv64 tier (default interp): jit traces one line per run of translated"
                         " code (up to 64 instructions, QEMU stepped as many times) with every block"
                         " translated on its first run (VESSEL_RV64_JIT_HOT=1); --max and --skip count lines")
    ap.add_argument("--qemu", default="qemu-system-riscv64")
    ap.add_argument("--qemu-cpu", default="rv64,h=false,sstc=false", help="QEMU's -cpu (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=600, help="overall time limit in seconds (default 600)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (console logs)")
    a = ap.parse_args()
    if bool(a.program) == a.boot:
        ap.error("give a bare-metal PROGRAM or --boot (not both)")
    if a.max < 1 or a.skip < 0:
        ap.error("--max must be >= 1 and --skip >= 0")
    a.mem = a.mem or ("256M" if a.boot else "128M")
    deadline = time.monotonic() + a.timeout
    tmp = tempfile.mkdtemp(prefix="vessel-lockstep-")
    procs = []
    status = 2
    try:
        fifo, sock = os.path.join(tmp, "trace.fifo"), os.path.join(tmp, "gdb.sock")
        qemu_argv, vessel_argv = commands(a, tmp, fifo, sock)
        if not shutil.which(a.qemu):
            raise LockstepError("%s not found (apt-get install qemu-system-misc)" % a.qemu)
        if a.vessel_trace:
            trace = TraceReader(a.vessel_trace)
        else:
            if not os.access(a.vessel, os.X_OK):
                raise LockstepError("%s missing or not executable (run make)" % a.vessel)
            os.mkfifo(fifo)
            vlog = open(os.path.join(tmp, "vessel-console.log"), "wb")
            env = dict(os.environ, VESSEL_RV64_TIER=a.tier)
            if a.tier == "jit":
                env.update(VESSEL_RV64_TRACE_CHUNKS="1", VESSEL_RV64_JIT_HOT="1")
            vp = subprocess.Popen(vessel_argv, stdin=subprocess.DEVNULL, stdout=vlog, stderr=subprocess.STDOUT,
                                  env=env)
            procs.append(vp)
            trace = TraceReader(fifo, vp, deadline)
        qp = subprocess.Popen(qemu_argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(tmp, "qemu-stderr.log"), "wb"))
        procs.append(qp)
        print("lockstep: qemu:   %s" % " ".join(qemu_argv))
        print("lockstep: vessel: %s" % (" ".join(vessel_argv) if not a.vessel_trace else a.vessel_trace))
        sys.stdout.flush()
        rsp = Rsp(sock, deadline)
        rsp.cmd("qSupported:xmlRegisters=riscv")
        t0 = time.monotonic()
        status, compared, resyncs = lockstep(a, rsp, trace)
        dt = time.monotonic() - t0
        extra = ", ".join("%d %s" % (n, w) for w, n in sorted(resyncs.items()))
        print("lockstep: %d %s compared%s in %.1f s (%.0f/s); resynced from QEMU: %s" % (
            compared, "trace lines (runs of up to 64 instructions)" if a.tier == "jit" else "instructions",
            (" after skipping %d" % a.skip) if a.skip else "", dt, compared / dt if dt else 0,
            extra or "none"))
        if status == 0:
            end = "the end of Vessel's trace" if trace.done else "--max %d" % a.max
            print("lockstep: no divergence (up to %s)" % end)
    except LockstepError as e:
        print("lockstep: error: %s" % e)
        status = 2
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if a.keep or status == 2:
            print("lockstep: logs in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
