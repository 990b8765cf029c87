"""test_shm.py -- zero-copy shared memory between processes on one host.

A capture writes each frame once into its ring (/dev/shm/vidpipe-PID-0)
and publishes descriptors; displays on the same host read the pixels in
place.  These tests judge that from the programs' stats (path, verified,
torn, bad, the capture's per-variant counters), from the PNGs a display
writes (every one must be exactly the frame its name says), and from
/dev/shm itself: processes that exit leave nothing, a process killed with
-9 leaves a ring that the next producer's ring_gc removes, and the whole
session leaves /dev/shm as it found it.

"Another host" is a capture in a private mount namespace with its own
/dev/shm (unshare -m): its ring cannot be opened here, so a relay
subscribes to its raw payloads and fills a ring of its own.
"""

import ctypes
import glob
import json
import os
import shlex
import signal
import struct
import subprocess
import threading
import time

import msgpack
import pytest
import zmq

from conftest import (EVENT, HERE, Proc, drive, free_ep, join, lockstep, prog,
                      wait_until)

FPS = 30
SHM = "/dev/shm"
# A display must show verified shm frames again within this after a
# producer's restart: a deadline for "it does", not the measure of how
# soon (the ~2 s target is make soak's, docs/RELIABILITY.md).
RESUME_S = 15


# --- /dev/shm bookkeeping ---------------------------------------------------

def segments():
    """Names of vidpipe segments in /dev/shm (without the leading /)."""
    try:
        return {n for n in os.listdir(SHM) if n.startswith("vidpipe-")}
    except FileNotFoundError:
        return set()


def owner_pid(name):
    """The owner pid a ring's header records (offset 64, RING.md), or the
    PID in a "vidpipe-PID-N" name; None if neither can be read."""
    try:
        with open(os.path.join(SHM, name), "rb") as f:
            hdr = f.read(72)
        if len(hdr) == 72 and hdr[:4] == b"VPR1":
            return struct.unpack_from("<q", hdr, 64)[0]
    except OSError:
        pass
    parts = name.split("-")
    if len(parts) >= 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def pid_alive(pid):
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def parent_pid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def ring_of(pid, n=0):
    return "vidpipe-%d-%d" % (pid, n)


def segments_of(pids):
    pids = set(pids)
    return {s for s in segments() if owner_pid(s) in pids}


# Taken when pytest imports this file, before any test of the session runs.
_SESSION_BEFORE = segments()


def run_gc_producer():
    """Starts a capture just long enough for its ring_gc (it runs when the
    publisher opens, before it binds and says what it runs), then stops it
    cleanly."""
    for attempt in range(50):
        try:
            p = subprocess.Popen(
                [prog("capture"), "-i", "test:", "-o", free_ep(), "--size",
                 "64x48", "--fps", "1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            break
        except OSError:  # the binary is being relinked by a make
            if attempt == 49:
                raise
            time.sleep(0.1)
    try:
        # Its first line comes once the publisher is open: the gc is done.
        p.stderr.readline()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stderr.close()


@pytest.fixture(scope="session", autouse=True)
def shm_session_clean():
    """At the end of the session /dev/shm holds no vidpipe segment that
    was not there before, except live ones of other users of this machine.
    Processes killed with -9 (every test's teardown does that) leave their
    rings; the next producer's ring_gc removes them, so one is started
    first, as a user's next capture would be."""
    yield
    left = segments() - _SESSION_BEFORE
    run_gc_producer()
    bad = []
    for s in sorted(segments() - _SESSION_BEFORE):
        pid = owner_pid(s)
        if not pid_alive(pid):
            bad.append("%s (owner %s dead: ring_gc did not remove it)"
                       % (s, pid))
        elif parent_pid(pid) == os.getpid():
            bad.append("%s (owner %d is still running, started by the "
                       "tests)" % (s, pid))
    assert not bad, ("vidpipe segments left in /dev/shm by this session: %s "
                     "(left before the gc run: %s)"
                     % (", ".join(bad), sorted(left)))


# --- helpers ----------------------------------------------------------------

def can_unshare():
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /dev/shm"],
        capture_output=True, timeout=10)
    return r.returncode == 0


class UnsharedProc(Proc):
    """A vidpipe program in a private mount namespace with its own empty
    /dev/shm: for shared memory, a process on another host.  unshare and
    sh exec the program, so pid is the program's."""

    def __init__(self, name, args):
        inner = [prog(name)] + [str(a) for a in args] + ["--stats-json"]
        self.name = name + "(unshared)"
        self.argv = ["unshare", "-m", "sh", "-c",
                     "mount -t tmpfs tmpfs /dev/shm && exec " +
                     " ".join(shlex.quote(a) for a in inner)]
        self.lines = []
        self.stats = []
        self.started = time.monotonic()
        self._cv = threading.Condition()
        self._eof = False
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.pid = self.p.pid
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()


def remote_capture(procs, ep, *args, size="640x360", fps=FPS):
    if not can_unshare():
        pytest.skip("unshare -m with a private /dev/shm is not permitted")
    p = UnsharedProc("capture", ["-i", "test:", "-o", ep, "--size", size,
                                 "--fps", fps] + list(args))
    procs.all.append(p)
    return p


def auto_display(procs, ep, *args, **kw):
    return procs.display(ep, *args, transport="auto", **kw)


def wait_verified(dis, n, timeout, path="shm"):
    """Waits for n more verified frames than now, on path."""
    v0 = dis.value("verified")
    return dis.wait_for(
        lambda p: p.latest() if p.value("verified") >= v0 + n and
        p.value("path") == path else None,
        timeout, "%d more verified frames on path %s" % (n, path))


def assert_clean(st, path="shm", torn=0):
    assert st is not None
    assert st["path"] == path, st
    assert st["verified"] > 0, st
    assert st["mismatch"] == 0, st
    assert st["bad"] == 0, st
    if torn is not None:
        assert st["torn"] == torn, st


def finish(*ps):
    """Stops ps in order with SIGINT (give displays first, producers last),
    checks each exits 0, and that none of them left a segment behind."""
    for p in ps:
        if p.alive():
            p.kill(signal.SIGINT)
            rc = p.wait(10)
            assert rc == 0, "%s exited %s on SIGINT\n%s" % (
                p.name, rc, p.describe())
    left = segments_of(p.pid for p in ps)
    assert not left, "segments left after a clean exit: %s" % sorted(left)


def send_forged(pub, hdr_fields, shm_fields, stream="cam0"):
    h = dict(hdr_fields)
    h["shm"] = shm_fields
    pub.send_multipart([("shm/%s/" % stream).encode(),
                        msgpack.packb(h, use_bin_type=True)])


def read_descriptor(ep, timeout=10):
    """One real descriptor from the publisher at ep, as a dict."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SUBSCRIBE, b"shm/")
    s.connect(ep)
    try:
        if not s.poll(timeout * 1000):
            pytest.fail("no descriptor from %s in %d s" % (ep, timeout))
        parts = s.recv_multipart()
        assert len(parts) == 2, parts
        return msgpack.unpackb(parts[1], raw=False)
    finally:
        s.close()


# --- reference pictures -----------------------------------------------------

_pattern_lib = None


def pattern_lib(tmpdir_factory):
    """schema/pattern.c built as a shared library, to draw the exact
    picture of any seq (the one the capture's test: source drew)."""
    global _pattern_lib
    if _pattern_lib is None:
        src = os.path.join(HERE, "..", "..", "schema")
        con = os.path.join(src, "contract")
        so = str(tmpdir_factory.mktemp("pattern").join("libpattern.so"))
        # pattern.c needs the pixel formats' geometry (pixfmt.c), and
        # frame.c, which needs msgpack.
        flags = subprocess.run(
            ["pkg-config", "--cflags", "--libs", "msgpack"],
            capture_output=True, text=True).stdout.split() or ["-lmsgpackc"]
        r = subprocess.run(
            ["cc", "-std=c11", "-O1", "-shared", "-fPIC", "-D_GNU_SOURCE",
             "-I", src, "-o", so, os.path.join(con, "pattern.c"),
             os.path.join(con, "pixfmt.c"), os.path.join(con, "frame.c")] +
            flags,
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        lib = ctypes.CDLL(so)
        lib.pattern_draw.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                     ctypes.c_uint32, ctypes.c_uint32,
                                     ctypes.c_int, ctypes.c_uint64]
        lib.pattern_draw.restype = ctypes.c_int
        _pattern_lib = lib
    return _pattern_lib


def reference_frame(lib, w, h, seq):
    buf = ctypes.create_string_buffer(w * h * 3)
    assert lib.pattern_draw(buf, w, h, w * 3, 1, seq) == 0  # 1: BGR24
    return buf.raw


def check_pngs(outdir, w, h, lib):
    """Every PNG in outdir is exactly the frame its name says: its code
    cells decode (vidpipe-patcheck) to the seq in the name, and every
    pixel equals the test: picture of that seq (a torn frame written out
    would mix two pictures).  Returns how many were checked."""
    files = sorted(glob.glob(os.path.join(outdir, "cam0-*.png")))
    assert files, "no PNG written to %s" % outdir
    size = w * h * 3
    # One ffmpeg for all files, in name (= seq) order.
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "image2",
         "-pattern_type", "glob", "-i", os.path.join(outdir, "cam0-*.png"),
         "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "bgr24",
         "-"], capture_output=True, timeout=120)
    assert raw.returncode == 0, raw.stderr.decode()
    assert len(raw.stdout) == size * len(files), \
        "ffmpeg decoded %d bytes for %d PNGs" % (len(raw.stdout), len(files))
    pc = subprocess.run([prog("patcheck"), "--size", "%dx%d" % (w, h)],
                        input=raw.stdout, capture_output=True, timeout=60)
    assert pc.returncode == 0, pc.stderr.decode()
    lines = pc.stdout.decode().split()
    assert len(lines) == len(files), lines
    for k, (path, line) in enumerate(zip(files, lines)):
        seq = int(os.path.basename(path)[len("cam0-"):-len(".png")])
        got = patcheck_seq(line)
        assert got == seq, "%s decodes to seq %s" % (path, got)
        px = raw.stdout[k * size:(k + 1) * size]
        ref = reference_frame(lib, w, h, seq)
        if px != ref:
            diff = sum(1 for a, b in zip(px, ref) if a != b)
            first = next(j for j in range(size) if px[j] != ref[j])
            pytest.fail("%s: %d of %d bytes differ from frame %d (first "
                        "at row %d): a torn frame was written"
                        % (path, diff, size, seq, first // (w * 3)))
    return len(files)


def patcheck_seq(line):
    """The seq of one vidpipe-patcheck JSON line ({"frame":N,"seq":S})."""
    return json.loads(line)["seq"]


# --- tests ------------------------------------------------------------------

@pytest.mark.parametrize("via_relay", [False, True], ids=["direct", "relay"])
def test_shm_used_automatically(procs, via_relay):
    cap_ep = free_ep()
    cap = procs.capture(cap_ep)
    rel = None
    ep = cap_ep
    if via_relay:
        ep = free_ep()
        rel = procs.relay(cap_ep, ep)
    dis = auto_display(procs, ep)
    st = wait_verified(dis, 60, 15)
    assert_clean(st)
    assert st["bytes"] == 0, "pixels came over ZeroMQ: %s" % st
    assert ring_of(cap.pid) in segments()
    cap.wait_for(lambda p: p.value("shm_sent") >= 60, 15, "shm_sent >= 60")
    assert cap.value("raw_sent") == 0 and cap.value("raw_copies") == 0
    if rel:
        rel.wait_for(lambda p: p.value("shm_forwarded") >= 30, 15,
                     "shm_forwarded >= 30")
        assert rel.value("ring_writes") == 0, rel.latest()
        assert rel.value("bad") == 0, rel.latest()
        assert not segments_of([rel.pid]), "relay made a ring of its own"
        finish(dis, rel, cap)
    else:
        finish(dis, cap)


def test_no_shm_display_uses_tcp(procs):
    cap_ep = free_ep()
    cap = procs.capture(cap_ep)
    tcp = procs.display(cap_ep, transport="tcp")
    shm = auto_display(procs, cap_ep)
    st = wait_verified(tcp, 45, 15, path="tcp")
    assert_clean(st, path="tcp")
    assert st["bytes"] > 0, st
    assert_clean(wait_verified(shm, 45, 10), path="shm")
    cap.wait_for(lambda p: p.value("raw_sent") >= 30 and
                 p.value("shm_sent") >= 30, 15, "raw_sent and shm_sent")
    finish(tcp, shm, cap)


def test_slow_reader_counts_torn_and_writes_nothing_torn(procs,
                                                         tmpdir_factory):
    """Readers whose frames are overwritten while they use them, forced.

    Each capture makes a frame only when the test says (capture_step),
    into a ring of 2 slots: frame y's slot is written over by frame y + 2.
    A: a display using its frames in place (-o null) shows frame y and
    waits (display_step); the test makes frames up to y + 2 and lets it go
    on: every frame is torn, counted, and never verified.  A': a PNG
    display held the same way copied its frame out before: every frame is
    written, exact.  B: a PNG display whose every second copy is held,
    inside vp_frame_copy, until the writer has begun to overwrite its slot
    (copy_torn=2): exactly those copies are torn and counted, and no file
    has them.  Only those writes happen while anybody reads: the counts
    are exact, and every PNG is checked pixel for pixel."""
    lib = pattern_lib(tmpdir_factory)
    w, h = 640, 360
    dir_a = str(tmpdir_factory.mktemp("png_after"))
    dir_b = str(tmpdir_factory.mktemp("png_torn"))
    eps = [free_ep() for _ in range(3)]
    caps = [procs.capture(ep, ring=2, step=True) for ep in eps]
    in_place = auto_display(procs, eps[0], step=True)
    after = auto_display(procs, eps[1], step=True, sink="png:" + dir_a)
    torn = auto_display(procs, eps[2], step=True, sink="png:" + dir_b,
                        faults={"copy_torn": 2})
    rounds = 6
    ev_in = drive(caps[0], in_place, rounds, overwrite=True)
    ev_after = drive(caps[1], after, rounds, overwrite=True)
    ev_torn = drive(caps[2], torn, rounds)
    for p in (in_place, after, torn):
        p.kill(signal.SIGINT)
        assert p.wait(15) == 0, p.describe()

    def shown(events, path=None):
        return [y for k, y, pth in events if k == "waits" and
                (path is None or pth == path)]

    # A: every frame shown in place was overwritten before it was let go
    # -- but the last, which the display still held when it was stopped.
    # (A frame that came as a payload, while the display probed for
    # them after a second without descriptors, cannot be torn.)
    st = in_place.exit_stats()
    assert st["path"] == "shm" and st["mismatch"] == 0 and st["bad"] == 0, st
    assert len(shown(ev_in, "shm")) >= rounds - 1, ev_in
    assert st["torn"] == len(shown(ev_in[:-1], "shm")), (st, ev_in)
    assert st["frames"] == st["verified"] == rounds - st["torn"], (st, ev_in)
    # A': copied out first, so overwritten later is fine.
    st = after.exit_stats()
    assert st["torn"] == 0 and st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["frames"] == st["verified"] == rounds, (st, ev_after)
    assert check_pngs(dir_a, w, h, lib) == rounds
    assert pngs_of(dir_a) == set(shown(ev_after)), ev_after
    # B: exactly the held copies are torn, and none of them is in a file.
    st = torn.exit_stats()
    held = [y for k, y, _ in ev_torn if k == "held"]
    copies = len(held) + len(shown(ev_torn, "shm"))
    assert held and len(held) == copies // 2, ev_torn
    assert [y for k, y, _ in ev_torn if k == "overwritten"] == held, ev_torn
    assert st["torn"] == len(held) and st["frames"] == rounds, (st, ev_torn)
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert check_pngs(dir_b, w, h, lib) == rounds
    assert pngs_of(dir_b) == set(shown(ev_torn)), ev_torn
    assert not pngs_of(dir_b) & set(held), (held, ev_torn)
    print("\nin place: %s; copied, then held: %s; copy_torn=2: %s"
          % (ev_in, ev_after, ev_torn))
    finish(*caps)


def pngs_of(d):
    """The seqs of the PNGs in d (cam0-SEQ.png)."""
    return {int(os.path.basename(f)[len("cam0-"):-len(".png")])
            for f in glob.glob(os.path.join(d, "cam0-*.png"))}


def test_capture_kill9_restart(procs):
    cap_ep = free_ep()
    cap = procs.capture(cap_ep)
    dis = auto_display(procs, cap_ep)
    wait_verified(dis, 30, 15)
    old = ring_of(cap.pid)
    assert old in segments()

    cap.kill(signal.SIGKILL)
    assert cap.wait(5) == -signal.SIGKILL
    # A crash leaves the ring (nobody can unlink it) ...
    assert old in segments()
    t0 = time.monotonic()
    cap2 = procs.capture(cap_ep)
    # ... the next producer removes it before it makes its own.
    wait_until(lambda: ring_of(cap2.pid) in segments(), RESUME_S,
               "the new capture's ring")
    assert old not in segments(), "ring_gc left the dead capture's ring"
    st = wait_verified(dis, 1, RESUME_S)
    print("\ndisplay verified shm frames %.2f s after the restart"
          % (time.monotonic() - t0))
    st = wait_verified(dis, 30, 15)
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert dis.alive()
    finish(dis, cap2)
    assert old not in segments()


def test_display_follows_the_relay_not_just_the_ring(procs):
    """A display behind a relay takes frames straight from the capture's
    ring as they are written (the doorbell), but only while the relay's
    descriptors keep coming: with the relay gone the frames stop too, and
    they come back when it does."""
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = procs.capture(cap_ep)
    rel = procs.relay(cap_ep, rel_ep)
    dis = auto_display(procs, rel_ep)
    # A display of its own keeps the capture writing frames into its ring.
    direct = auto_display(procs, cap_ep)
    wait_verified(dis, 30, 15)
    rel.kill(signal.SIGKILL)
    assert rel.wait(5) == -signal.SIGKILL
    # With the relay gone its descriptors stop, and 2 s after the last one
    # the display stops following the ring: it reports itself stalled
    # (2 s without a frame) while the ring is still written ...
    t = time.monotonic()
    st = dis.wait_for(lambda p: next((x for x in p.ticks()
                                      if x["_rx"] > t and x["stalled"]),
                                     None), 15, "the display to stall")
    f0 = direct.tick_after(st["_rx"])["frames"]
    # ... and takes no frame for two more reports, while the display on
    # the capture gets 30.
    n = len(dis.ticks())
    dis.wait_for(lambda p: len(p.ticks()) >= n + 2, 10, "two more ticks")
    assert all(x["frames"] == st["frames"] and x["stalled"]
               for x in dis.ticks()[n - 1:]), dis.ticks()[n - 1:]
    direct.wait_for(lambda p: p.value("frames") >= f0 + 30, 15,
                    "30 more frames on the capture's display")
    rel2 = procs.relay(cap_ep, rel_ep)
    st = wait_verified(dis, 30, RESUME_S)
    assert st["path"] == "shm", st
    assert st["mismatch"] == 0 and st["bad"] == 0 and st["torn"] == 0, st
    finish(dis, direct, rel2, cap)


def test_display_kill9_leaves_nothing(procs):
    cap_ep = free_ep()
    cap = procs.capture(cap_ep)
    victim = auto_display(procs, cap_ep)
    other = auto_display(procs, cap_ep)
    wait_verified(victim, 30, 15)
    wait_verified(other, 30, 15)
    before = segments()
    victim.kill(signal.SIGKILL)
    assert victim.wait(5) == -signal.SIGKILL
    assert not segments_of([victim.pid])
    mine = {s for s in before if owner_pid(s) in (cap.pid, victim.pid)}
    assert mine == {ring_of(cap.pid)}
    # The capture and the other reader go on as if nothing happened.
    st = wait_verified(other, 30, 15)
    assert_clean(st)
    assert cap.alive()
    assert {s for s in segments() if owner_pid(s) in
            (cap.pid, victim.pid)} == mine
    finish(other, cap)


def test_remote_relay_fills_its_own_ring(procs):
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = remote_capture(procs, cap_ep)
    rel = procs.relay(cap_ep, rel_ep)
    dis = auto_display(procs, rel_ep)
    st = wait_verified(dis, 60, 15)
    assert_clean(st)
    assert st["bytes"] == 0, st
    assert ring_of(cap.pid) not in segments(), \
        "the unshared capture's ring is visible here"
    assert ring_of(rel.pid) in segments()
    rel.wait_for(lambda p: p.value("ring_writes") >= 60, 15,
                 "ring_writes >= 60")
    assert rel.value("shm_forwarded") == 0, rel.latest()
    # Upstream, only what the relay needs crosses the "network": raw.
    cap.wait_for(lambda p: p.value("raw_sent") >= 60, 15, "raw_sent >= 60")
    assert cap.value("jpeg_encodes") == 0
    finish(dis, rel, cap)


def test_remote_relay_kill9_restart(procs):
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = remote_capture(procs, cap_ep)
    rel = procs.relay(cap_ep, rel_ep)
    dis = auto_display(procs, rel_ep)
    wait_verified(dis, 30, 15)
    old = ring_of(rel.pid)
    assert old in segments()

    rel.kill(signal.SIGKILL)
    assert rel.wait(5) == -signal.SIGKILL
    assert old in segments()
    t0 = time.monotonic()
    rel2 = procs.relay(cap_ep, rel_ep)
    st = wait_verified(dis, 1, RESUME_S)
    print("\ndisplay verified shm frames %.2f s after the relay restart"
          % (time.monotonic() - t0))
    assert old not in segments(), "ring_gc left the dead relay's ring"
    assert ring_of(rel2.pid) in segments()
    st = wait_verified(dis, 30, 15)
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    rel2.wait_for(lambda p: p.value("ring_writes") >= 30, 15,
                  "ring_writes >= 30 in the new relay")
    finish(dis, rel2, cap)


class Forger:
    """An XPUB the display also connects to, sending it descriptors."""

    def __init__(self):
        self.ep = free_ep()
        self.ctx = zmq.Context.instance()
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(self.ep)

    def wait_subscriber(self, timeout=10):
        """Waits for the display's subscription to descriptors."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pub.poll(100):
                msg = self.pub.recv()
                if msg[:1] == b"\x01" and msg[1:].startswith(b"shm/"):
                    return msg[1:]
        pytest.fail("the display did not subscribe to the forger")

    def close(self):
        self.pub.close()


@pytest.fixture
def forger():
    f = Forger()
    yield f
    f.close()


def forged_header(real, **shm):
    h = {k: real[k] for k in ("v", "stream", "seq", "t_real", "t_mono", "w",
                              "h", "stride", "fmt", "enc", "size")}
    h["seq"] = 1 << 40  # never a real frame's
    d = dict(real["shm"])
    d.update(shm)
    return h, d


class DescriptorTap:
    """A SUB of a publisher's descriptors, connected before it makes the
    frames the test wants to see."""

    def __init__(self, ep):
        self.s = zmq.Context.instance().socket(zmq.SUB)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.setsockopt(zmq.SUBSCRIBE, b"shm/")
        self.s.connect(ep)

    def get(self):
        """A descriptor received by now (as a dict), or None."""
        if not self.s.poll(0):
            return None
        parts = self.s.recv_multipart()
        assert len(parts) == 2, parts
        return msgpack.unpackb(parts[1], raw=False)

    def close(self):
        self.s.close()


# A display keeps each stream's first publisher and drops a second one's
# frames (dup_name_drops) until the first has been silent for 2 s
# (docs/GATEWAY.md, "Cameras that dial in"). The forger is such a second
# publisher of cam0, so the tests let each side fall silent this long
# before the other sends: the stepped capture and the forger send nothing
# unless told.
NAME_QUIET = 2.5


def stepped_with_forger(procs, forger):
    """A stepped capture, and a stepped display on it and on the forger,
    both showing frame y; and one real descriptor of the capture's."""
    cap_ep = free_ep()
    tap = DescriptorTap(cap_ep)
    cap = procs.capture(cap_ep, step=True)
    dis = auto_display(procs, [cap_ep, forger.ep], "-s", "cam0", step=True)
    forger.wait_subscriber()
    y = join(cap, [dis])
    real = tap.get()
    while real is None:  # the tap subscribed after the frames were made
        y = lockstep(cap, [dis], 1)[0]
        real = tap.get()
    tap.close()
    assert real["shm"]["name"] == "/" + ring_of(cap.pid), real
    return cap, dis, real, y


def test_forged_descriptors(procs, forger):
    """Descriptors that do not fit the ring they name, from a second
    input: each is counted bad, exactly once, and the display stays on
    shm.  The capture makes frames only when the test says, so nothing
    real takes a forged descriptor's place in the display's one-frame
    mailbox: each kind is sent alone, and judged."""
    cap, dis, real, _ = stepped_with_forger(procs, forger)
    dis.step()  # idle now: nothing newer to show until the test says
    time.sleep(NAME_QUIET)  # the capture gives up cam0
    w, hgt = real["w"], real["h"]
    kinds = [
        ("wrong token", dict(token=real["shm"]["token"] ^ 0x5A5A)),
        ("slot 9999", dict(slot=9999)),
        ("name /etc-passwd", dict(name="/etc-passwd")),
        ("name /vidpipe-../x", dict(name="/vidpipe-../x")),
        ("odd gen", dict(gen=real["shm"]["gen"] | 1)),
        ("gen 0", dict(gen=0)),
        ("geometry", "half"),
    ]
    for i, (what, change) in enumerate(kinds):
        if change == "half":
            h, d = forged_header(real)
            h["w"], h["stride"] = w // 2, w // 2 * 3
            h["size"] = h["stride"] * hgt
        else:
            h, d = forged_header(real, **change)
        send_forged(forger.pub, h, d)
        dis.wait_for(lambda p: p.value("bad") >= i + 1, 15,
                     "the forged descriptor (%s) counted bad" % what)
        assert dis.value("bad") == i + 1, (what, dis.latest())
        assert dis.alive(), dis.describe()
    time.sleep(NAME_QUIET)  # the forger gives cam0 back
    # Still on shm: every frame.  (A second without real descriptors makes
    # the display ask for payloads too, until the next descriptor comes:
    # the capture sends a payload of each frame until that reaches it,
    # and the display takes none of them.)
    lockstep(cap, [dis], 10, waiting=False, path="shm")
    st = dis.tick_after(time.monotonic())
    assert st["path"] == "shm", st
    assert st["bad"] == len(kinds), st
    assert st["mismatch"] == 0 and st["torn"] == 0, st
    assert st["dup_name_drops"] == 0, st
    finish(dis, cap)


def test_forged_missing_ring_falls_back_to_tcp(procs, forger):
    """A descriptor naming a ring that cannot be opened here means "the
    producer is on another host": the display asks for payloads instead
    (by design), and keeps verifying frames.  Sent while the stepped
    capture makes nothing, it is the one the display looks at."""
    cap, dis, real, _ = stepped_with_forger(procs, forger)
    dis.step()
    time.sleep(NAME_QUIET)  # the capture gives up cam0
    missing = "/vidpipe-%d-77" % os.getpid()
    assert missing[1:] not in segments()
    h, d = forged_header(real, name=missing)
    send_forged(forger.pub, h, d)
    dis.wait_for(lambda p: any("switching to payloads" in l
                               for l in p.log()), 15,
                 "the switch to payloads")
    time.sleep(NAME_QUIET)  # the forger gives cam0 back
    # The frames in flight meanwhile may still come as descriptors; ten
    # in a row as payloads then.
    paths = []
    for _ in range(100):
        y = cap.step()
        ev = dis.next_event()
        assert ev[:2] == ("waits", y), ev
        paths.append(ev[2])
        if paths[-10:] == ["payload"] * 10:
            break
        dis.step()
    assert paths[-10:] == ["payload"] * 10, paths
    st = dis.tick_after(time.monotonic())
    assert st["path"] == "tcp", st
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["verified"] == st["frames"], st
    assert st["dup_name_drops"] == 0, st
    assert missing[1:] not in segments()
    cap.wait_for(lambda p: p.value("raw_sent") >= 10, 15, "raw_sent >= 10")
    finish(dis, cap)


def test_xpub_lazy_variants(procs):
    cap_ep = free_ep()
    cap = procs.capture(cap_ep)
    shm = auto_display(procs, cap_ep)
    wait_verified(shm, 30, 15)
    # Shm only: 60 descriptors, and nothing else made.
    st = cap.wait_for(lambda p: p.latest() if p.value("shm_sent") >= 60
                      else None, 15, "shm_sent >= 60")
    assert st["raw_sent"] == 0 and st["raw_copies"] == 0, st
    assert st["jpeg_encodes"] == 0, st

    tcp = procs.display(cap_ep, transport="tcp")
    wait_verified(tcp, 30, 15, path="tcp")
    r0 = cap.value("raw_sent")
    cap.wait_for(lambda p: p.value("raw_sent") >= r0 + 30, 15,
                 "raw_sent to grow")
    assert cap.value("raw_copies") > 0  # made from the ring slot
    assert cap.value("jpeg_encodes") == 0
    finish(tcp)

    # The unsubscription reaches the capture when the connection closes:
    # then a second in which it made frames and sent no payload, and
    # another.
    def settled(p):
        ticks = p.ticks()
        if len(ticks) < 2:
            return None
        a, b = ticks[-2:]
        return b if b["frames"] > a["frames"] and \
            b["raw_sent"] == a["raw_sent"] else None
    st = cap.wait_for(settled, 15, "a second of frames without payloads")
    t = len(cap.ticks())
    cap.wait_for(lambda p: len(p.ticks()) >= t + 1 and
                 p.value("frames") > st["frames"], 15, "more frames")
    assert cap.value("raw_sent") == st["raw_sent"], cap.latest()
    assert cap.value("raw_copies") == st["raw_copies"], cap.latest()
    st = wait_verified(shm, 30, 15)
    assert_clean(st)
    finish(shm, cap)


def test_eight_displays_720p(procs):
    """Fan-out on one host costs a descriptor per reader: 8 displays of a
    720p stream each get every frame, in place and intact.  The capture
    makes each frame when all eight wait for it (lockstep), so no display
    is ever behind: any frame missing, torn or wrong is a fault.  (How
    many frames 8 displays keep up with at 30 fps, and at what CPU, is
    the benchmark's fan-out target: docs/BENCHMARKS.md.)"""
    cap_ep = free_ep()
    cap = procs.capture(cap_ep, size="1280x720", step=True)
    ds = [auto_display(procs, cap_ep, step=True) for _ in range(8)]
    join(cap, ds)
    seqs = lockstep(cap, ds, 45, path="shm")
    finish(*ds)
    for d in ds:
        st = d.exit_stats()
        assert_clean(st)
        shown = [int(m.group(1)) for m in d.matches(EVENT)]
        assert shown[-len(seqs):] == seqs, (shown, seqs)
        # Every frame shown was delivered; the drops are the frames it
        # missed while it joined.
        assert st["frames"] == st["verified"] == len(shown), st
        gaps = sum(b - a - 1 for a, b in zip(shown, shown[1:]))
        assert st["drops"] == gaps, (st, shown)
    finish(cap)
