"""test_faults.py -- hardening: random kills, stopped readers, hostile peers.

* kill -9 of a random process (capture, relay or a display) at a random
  moment, twenty rounds over shared memory and over TCP, each victim
  restarted on its endpoint: the stream recovers every time, and in the
  end kill -9 has left no segment in /dev/shm that the next producer's
  ring_gc does not remove.
* A display stopped for 5 s (SIGSTOP) costs its neighbour nothing, and
  when continued it shows fresh frames, not a 5 s backlog.
* Random bytes on the ports the capture and the relay bind, and
  oversized or many-part messages on a display's input: everybody stays
  up, keeps verifying frames, counts what is bad, and stays small.
* Byte streams declaring huge lengths end cleanly with status 1 and an
  offset, having allocated what arrived, not what was declared.
  (test_pipes.py covers the relay with a 4 GB and a 1 GB bin.)
"""

import os
import random
import signal
import socket
import subprocess
import threading
import time

import msgpack
import pytest
import zmq

from conftest import SANITIZED, ep_port, free_ep, prog
from test_shm import owner_pid, pid_alive, run_gc_producer, segments

FPS = 30
# After a restart every display must verify frames again this soon (the
# design asks for ~2 s; the rest is slack for a busy 2-core machine).
RECOVER_S = 6.0
RSS_MAX_MB = 300


# --- helpers ----------------------------------------------------------------

def tick_after(p, t, timeout=4):
    """The first tick p printed after monotonic time t (its counters
    include everything up to t)."""
    return p.wait_for(
        lambda q: next((s for s in q.ticks() if s["_rx"] > t), None),
        timeout, "a tick after %.2f" % t)


def wait_more_verified(p, base, n, timeout, what):
    """Waits for n verified frames past base (a stats object), on any
    path; returns the stats object that showed them."""
    return p.wait_for(
        lambda q: q.latest() if q.value("verified") >= base["verified"] + n
        and q.value("frames") >= base["frames"] + n else None,
        timeout, "%d more verified frames (%s)" % (n, what))


def assert_clean(st, path):
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["path"] == path, st


def vm_kb(pid, key):
    """A VmRSS/VmHWM-style field of /proc/PID/status in kB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class RssWatch(threading.Thread):
    """Samples VmRSS of some processes every 50 ms; keeps each one's max."""

    def __init__(self, ps):
        super().__init__(daemon=True)
        self.ps = ps
        self.max_kb = {p.name + ":%d" % p.pid: 0 for p in ps}
        self.ev = threading.Event()
        self.start()

    def run(self):
        while not self.ev.is_set():
            for p in self.ps:
                kb = vm_kb(p.pid, "VmRSS")
                if kb:
                    k = p.name + ":%d" % p.pid
                    self.max_kb[k] = max(self.max_kb[k], kb)
            time.sleep(0.05)

    def stop(self):
        self.ev.set()
        self.join(2)
        return {k: v // 1024 for k, v in self.max_kb.items()}


def dead_segments(ours, before_gc):
    """vidpipe segments whose owner is dead and that ring_gc should have
    removed: owned by one of our pids, or already there when the gc ran
    (a segment another user of this machine left later is not ours to
    judge)."""
    bad = []
    for s in sorted(segments()):
        pid = owner_pid(s)
        if pid_alive(pid):
            continue
        if pid in ours or s in before_gc:
            bad.append("%s (owner %s)" % (s, pid))
    return bad


# --- kill -9 at random, twenty rounds ---------------------------------------

ROUNDS = 10  # per transport: 20 in all


@pytest.mark.parametrize("transport", ["auto", "tcp"], ids=["shm", "tcp"])
def test_kill9_random_rounds(procs, transport):
    """capture -> relay -> two displays.  Each round kills one process
    with -9 (each kind at least three times, in a seeded random order, at
    a random moment), restarts it on the same endpoint after a random
    pause, and checks that every display verifies frames again."""
    path = "shm" if transport == "auto" else "tcp"
    rnd = random.Random("vidpipe-kill9-" + path)
    victims = ["capture", "relay", "display"] * 3 + \
        [rnd.choice(["capture", "relay", "display"])]
    rnd.shuffle(victims)
    assert len(victims) == ROUNDS

    cap_ep, rel_ep = free_ep(), free_ep()
    cur = {}
    pids = set()

    def start(kind):
        if kind == "capture":
            p = procs.capture(cap_ep)
        elif kind == "relay":
            p = procs.relay(cap_ep, rel_ep)
        else:
            p = procs.display(rel_ep, transport=transport)
        pids.add(p.pid)
        cur[kind] = p
        return p

    start("capture")
    start("relay")
    start("display")
    watcher = procs.display(rel_ep, transport=transport)  # never killed
    pids.add(watcher.pid)
    for d in (cur["display"], watcher):
        st = d.wait_for(lambda p: p.latest() if p.value("verified") >= 30
                        else None, 15, "30 verified frames")
        assert_clean(st, path)

    log = []
    for rno, kind in enumerate(victims):
        time.sleep(rnd.uniform(0.0, 0.8))  # a random moment in the stream
        old = cur[kind]
        old.kill(signal.SIGKILL)
        assert old.wait(5) == -signal.SIGKILL, old.describe()
        t_kill = time.monotonic()
        time.sleep(rnd.uniform(0.0, 0.4))
        new = start(kind)
        t_new = time.monotonic()
        # Every display still running must verify frames past a tick it
        # printed after the kill: frames of the restarted pipeline.
        survivors = [watcher] + ([cur["display"]] if kind != "display"
                                 else [])
        bases = [tick_after(d, t_kill) for d in survivors]
        for d, base in zip(survivors, bases):
            st = wait_more_verified(
                d, base, 20, RECOVER_S,
                "round %d: after kill -9 of the %s" % (rno, kind))
            assert_clean(st, path)
            assert d.alive(), d.describe()
        if kind == "display":
            st = new.wait_for(lambda p: p.latest() if
                              p.value("verified") >= 20 else None,
                              RECOVER_S + 4, "round %d: the restarted "
                              "display's first 20 verified frames" % rno)
            assert_clean(st, path)
        log.append("%s %.1fs" % (kind, time.monotonic() - t_new))
    print("\n%s: %d rounds, victim and time to 20 verified frames after "
          "its restart: %s" % (path, len(log), ", ".join(log)))
    for d in (cur["display"], watcher):
        assert_clean(d.latest(), path)
        assert d.value("verified") == d.value("frames"), d.latest()

    # kill -9 the rest too: only the next producer's ring_gc can clean up.
    for p in procs.all:
        p.kill(signal.SIGKILL)
        p.wait(5)
    before_gc = segments()
    left = sorted(s for s in before_gc if owner_pid(s) in pids)
    if transport == "tcp":
        # Nobody wanted descriptors: no ring was ever made.
        assert not left, "rings made that nobody wanted: %s" % left
        return
    assert left, "no ring of the killed captures in /dev/shm: %s" % \
        sorted(before_gc)
    run_gc_producer()
    bad = dead_segments(pids, before_gc)
    assert not bad, "segments with a dead owner after ring_gc: %s" % bad


# --- a stopped display ------------------------------------------------------

# A subscriber stopped for longer than a heartbeat timeout used to abort
# on SIGCONT (libzmq 4.3.4 "Assertion failed: !_io_error", when the
# publisher timed it out): publishers now leave heartbeats to subscribers.


def ticks_or_death(p, n):
    """Waits for n ticks of p, or for p to die (then fails at once)."""
    p.wait_for(lambda q: len(q.ticks()) >= n or not q.alive(), 8,
               "%d ticks" % n)
    assert p.alive(), "died after SIGCONT: %s" % p.describe()


@pytest.mark.parametrize("transport", [
    "tcp", "auto"], ids=["tcp", "shm"])
@pytest.mark.timing
def test_sigstop_display(procs, transport):
    """Display A is stopped for 5 s and continued; display B on the same
    relay keeps its 30 fps and (nearly) all its frames meanwhile, and A
    resumes with fresh frames: it skips the 5 s (drops or torn grow by
    about 150): the first tick with frames may hold the few that were
    queued when it stopped, but most frames of every tick are fresh
    (median age under 100 ms), and two ticks on all are."""
    path = "shm" if transport == "auto" else "tcp"
    cap_ep, rel_ep = free_ep(), free_ep()
    procs.capture(cap_ep)
    procs.relay(cap_ep, rel_ep)
    a = procs.display(rel_ep, transport=transport)
    b = procs.display(rel_ep, transport=transport)
    for d in (a, b):
        d.wait_for(lambda p: p.value("verified") >= 30, 15,
                   "30 verified frames")
    a0 = tick_after(a, time.monotonic())
    nb = len(b.ticks())
    b0 = b.ticks()[-1]

    a.kill(signal.SIGSTOP)
    time.sleep(5)
    a.kill(signal.SIGCONT)
    t_cont = time.monotonic()

    during = [t for t in b.ticks()[nb:] if t["_rx"] <= t_cont]
    assert len(during) >= 4, during
    fps = [t["fps"] for t in during]
    b1 = during[-1]
    print("\n%s: B's fps while A was stopped %s, B's drops %d -> %d"
          % (path, fps, b0["drops"], b1["drops"]))
    assert sum(fps) / len(fps) >= 24 and min(fps) >= 15, during
    assert b1["drops"] - b0["drops"] <= 10, (b0, b1)
    assert_clean(b1, path)

    # A: the tick it prints on waking covers the 5 s; the first one with
    # frames may hold the few that were queued when it stopped (5 s old).
    na = len([t for t in a.ticks() if t["_rx"] <= t_cont])
    ticks_or_death(a, na + 2)
    k = next((i for i, t in enumerate(a.ticks()[na:na + 2])
              if t["fps"] > 0), 1)
    ticks_or_death(a, na + k + 3)
    after = a.ticks()[na:na + k + 3]
    print("%s: A after SIGCONT: fps %s, p50 %s ms, p99 %s ms, drops +%d, "
          "torn +%d" % (path, [t["fps"] for t in after],
                        [t["lat_p50_us"] // 1000 for t in after],
                        [t["lat_p99_us"] // 1000 for t in after],
                        after[-1]["drops"] - a0["drops"],
                        after[-1]["torn"] - a0["torn"]))
    # Most frames of each tick are fresh; two ticks on, all are.
    for t in after[k:]:
        assert t["lat_p50_us"] < 100000, t
    for t in after[k + 1:]:
        assert t["fps"] >= 15, t
    assert after[-1]["lat_p99_us"] < 100000, after[-1]
    skipped = (after[-1]["drops"] - a0["drops"]) + \
        (after[-1]["torn"] - a0["torn"])
    assert skipped >= 100, "A did not skip the frames of its 5 s stop: " \
        "%s -> %s" % (a0, after[-1])
    assert after[-1]["mismatch"] == 0 and after[-1]["bad"] == 0, after[-1]
    assert after[-1]["path"] == path, after[-1]
    assert_clean(b.latest(), path)
    assert a.alive() and b.alive()


# --- hostile peers ----------------------------------------------------------

def spray_random(port, rnd, conns=25):
    """Connects to a bound port conns times and sends random bytes (some
    after a valid ZMTP signature, to get past the first check)."""
    sent = 0
    for i in range(conns):
        n = rnd.choice([1, 10, 64, 1000, 65536, 300000])
        junk = rnd.randbytes(n)
        if i % 3 == 0:
            junk = b"\xff" + bytes(8) + b"\x7f" + junk
        try:
            with socket.create_connection(("127.0.0.1", port), 2) as s:
                s.settimeout(2)
                s.sendall(junk)
                sent += len(junk)
                time.sleep(0.01)
        except OSError:
            pass  # the peer hung up on the garbage: fine
    return sent


def junk_hdr(size=64 * 48 * 3, **kw):
    d = {"v": 1, "stream": "junk", "seq": 7, "t_real": time.time_ns(),
         "t_mono": time.monotonic_ns(), "w": 64, "h": 48, "stride": 64 * 3,
         "fmt": "bgr24", "enc": "raw", "size": size}
    d.update(kw)
    return msgpack.packb(d)


def oversized_messages(rnd):
    """Messages a display must reject (as bad), each large or many-part."""
    T = b"raw/junk/"
    px = bytes(64 * 48 * 3)
    return [
        ("1000 parts", [T, junk_hdr(), px] + [b"x"] * 997),
        ("64 MB payload for a 64x48 frame", [T, junk_hdr(),
                                             bytes(64 << 20)]),
        ("1 MB random header", [T, rnd.randbytes(1 << 20), px]),
        ("header + 1 MB trailing bytes", [T, junk_hdr() + bytes(1 << 20),
                                          px]),
        ("1 MB topic", [b"raw/" + b"j" * (1 << 20) + b"/", junk_hdr(), px]),
    ]


# The RSS bound is for an optimised build (ASan keeps freed memory).
@pytest.mark.timing
def test_hostile_peers(procs):
    rnd = random.Random("vidpipe-hostile")
    ctx = zmq.Context()
    xpub = ctx.socket(zmq.XPUB)
    xpub.setsockopt(zmq.LINGER, 0)
    xpub.setsockopt(zmq.SNDHWM, 0)
    xpub_ep = free_ep()
    xpub.bind(xpub_ep)
    try:
        cap_ep, rel_ep = free_ep(), free_ep()
        cap = procs.capture(cap_ep)
        rel = procs.relay(cap_ep, rel_ep)
        dis = procs.display([rel_ep, xpub_ep])
        shm = procs.display(cap_ep, transport="auto")
        deadline = time.monotonic() + 10
        while xpub.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            if xpub.recv() == b"\x01raw/":
                break
        else:
            pytest.fail("the display did not subscribe to the test XPUB")
        for d in (dis, shm):
            d.wait_for(lambda p: p.value("verified") >= 30, 15,
                       "30 verified frames")
        watch = RssWatch([cap, rel, dis, shm])
        try:
            sent = [0, 0]

            def spray(i, port):
                sent[i] = spray_random(port, random.Random(
                    "vidpipe-spray-%d" % i))
            threads = [threading.Thread(target=spray, args=(i, port))
                       for i, port in enumerate((ep_port(rel_ep),
                                                 ep_port(cap_ep)))]
            for t in threads:
                t.start()
            msgs = oversized_messages(rnd)
            for _, parts in msgs:
                xpub.send_multipart(parts)
                time.sleep(0.2)
            for t in threads:
                t.join(60)
            st = dis.wait_for(lambda p: p.latest() if p.value("bad") >=
                              len(msgs) else None, 10,
                              "bad >= %d" % len(msgs))
            # Everybody keeps verifying frames after all that.
            for d in (dis, shm):
                wait_more_verified(d, d.latest(), 60, 10,
                                   "after the garbage")
            # One more tick: nothing is counted twice.
            k = len(dis.ticks())
            dis.wait_for(lambda p: len(p.ticks()) > k, 3, "one more tick")
        finally:
            peak = watch.stop()
        print("\ngarbage: %d bytes to the relay's port, %d to the "
              "capture's; display bad %d; peak RSS MB %s"
              % (sent[0], sent[1], dis.value("bad"), peak))
        st = dis.latest()
        assert st["bad"] == len(msgs), st
        assert st["mismatch"] == 0 and st["path"] == "tcp", st
        assert st["verified"] == st["frames"], st
        st = shm.latest()
        assert_clean(st, "shm")
        assert rel.value("bad") == 0, rel.latest()
        for p in (cap, rel, dis, shm):
            assert p.alive(), p.describe()
        for k, mb in peak.items():
            assert mb < RSS_MAX_MB, "%s peaked at %d MB RSS" % (k, mb)
    finally:
        xpub.close(0)
        ctx.term()


def zmtp_sub_hello(c):
    """Speaks ZMTP 3.0 (NULL mechanism) as a SUB on socket c, by hand:
    pyzmq's own SUB and XSUB keep subscriptions in a recursive trie that
    overflows the stack on a 1 MB one."""
    c.sendall(b"\xff" + bytes(8) + b"\x7f" + b"\x03\x00" +
              b"NULL".ljust(20, b"\x00") + b"\x00" + bytes(31))
    ready = b"\x05READY" + b"\x0bSocket-Type" + (3).to_bytes(4, "big") + \
        b"SUB"
    c.sendall(b"\x04" + bytes([len(ready)]) + ready)


def zmtp_send(c, body):
    """One single-part ZMTP 3.0 message."""
    if len(body) < 256:
        c.sendall(b"\x00" + bytes([len(body)]) + body)
    else:
        c.sendall(b"\x02" + len(body).to_bytes(8, "big") + body)


def test_oversized_subscriptions(procs):
    """A peer speaking ZeroMQ (as a SUB) on the capture's and the relay's
    output ports sends each four distinct 1 MB subscriptions: both stay
    up (a publisher takes subscriptions of at most NET_SUB_MSG_MAX bytes
    and drops a peer that sends more), the display on the relay keeps
    verifying frames, and neither's RSS grows by 64 MB."""
    cap_ep, rel_ep, cap, rel, dis = procs.chain()
    rss0 = {p.name: vm_kb(p.pid, "VmRSS") // 1024 for p in (cap, rel)}
    watch = RssWatch([cap, rel])
    try:
        conns = [socket.create_connection(("127.0.0.1", ep_port(ep)), 5)
                 for ep in (cap_ep, rel_ep)]
        try:
            for c in conns:
                zmtp_sub_hello(c)
            for i in range(4):
                for c in conns:
                    try:
                        zmtp_send(c, b"\x01raw/" + bytes([65 + i]) +
                                  b"x" * (1 << 20))
                    except (ConnectionResetError, BrokenPipeError):
                        pass  # refused: the publisher hung up on us
            time.sleep(1.5)
        finally:
            for c in conns:
                c.close()
        wait_more_verified(dis, dis.latest(), 30, 10,
                           "after the subscriptions")
    finally:
        peak = {k.split(":")[0]: v for k, v in watch.stop().items()}
    print("\nRSS MB before -> peak after 4 MB of subscriptions: %s"
          % {k: "%d -> %d" % (rss0[k], peak[k]) for k in rss0})
    assert cap.alive() and rel.alive() and dis.alive()
    assert_clean(dis.latest(), "tcp")
    for k in rss0:
        assert peak[k] - rss0[k] < 64, \
            "%s RSS grew by %d MB for 4 MB of subscriptions" % (
                k, peak[k] - rss0[k])


# --- byte streams declaring huge lengths ------------------------------------

_valid = []


def valid_frame():
    """One 64x48 test: frame as a byte stream (made once)."""
    if _valid:
        return _valid[0]
    r = subprocess.run([prog("capture"), "-i", "test:", "--size", "64x48",
                        "--fps", "0", "-n", "1", "-o", "-"],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    _valid.append(r.stdout)
    return r.stdout


def map_with_bin(hdr, declared):
    """A frame map whose "data" bin32 declares `declared` bytes (the bytes
    themselves are left to the caller)."""
    body = msgpack.packb(hdr)
    assert body[0] == 0x80 | len(hdr)
    return (bytes([0x80 | (len(hdr) + 1)]) + body[1:] +
            msgpack.packb("data") + b"\xc6" + declared.to_bytes(4, "big"))


def huge_streams():
    side = 16384
    # The largest payload a header may declare: a JPEG of a 16384 x 16384
    # frame with stride 65536 (2 * stride * h) is 2 GiB, within limits.
    jpeg = {"v": 1, "stream": "cam0", "seq": 1, "t_real": time.time_ns(),
            "t_mono": time.monotonic_ns(), "w": side, "h": side,
            "stride": 65536, "fmt": "bgr24", "enc": "jpeg",
            "size": 1 << 31}
    nested = msgpack.packb({"v": 1, "stream": "cam0"})
    nested = bytes([nested[0] + 1]) + nested[1:] + msgpack.packb("junk") + \
        b"\xdd\xff\xff\xff\xff"
    return {
        # 2 GB declared, 1 MB arrives, then EOF.
        "bin32-2GB-1MB-then-eof": (map_with_bin(jpeg, 1 << 31) +
                                   bytes(1 << 20), "truncated", 0),
        # A top-level array32 of 2^32-1 elements, then 1 MB of elements.
        "array32-top": (b"\xdd\xff\xff\xff\xff" + bytes(1 << 20),
                        "corrupt stream", 0),
        # The same inside a frame map, as the value of an unknown key.
        "array32-in-map": (nested + bytes(1 << 20), "corrupt stream",
                           len(nested) - 5),
    }


def feed(f, data):
    try:
        for i in range(0, len(data), 1 << 16):
            f.write(data[i:i + (1 << 16)])
        f.close()
    except (BrokenPipeError, ValueError, OSError):
        pass  # refused before it all arrived


def run_stdin(tmp_path, reader, data):
    """Runs reader on stdin data; returns (status, stderr text, peak RSS
    in MB: the larger of ru_maxrss and the VmHWM polled while it ran)."""
    args = {"display": ["-i", "-", "-o", "null"],
            "relay": ["-i", "-", "-o", "-"]}[reader]
    errf = tmp_path / ("err-%s" % reader)
    with open(errf, "wb") as err:
        p = subprocess.Popen([prog(reader)] + args + ["--stats-json"],
                             stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=err)
        hwm = [0]
        done = threading.Event()

        def poll_hwm():  # VmHWM of the live process (None once a zombie)
            while not done.is_set():
                hwm[0] = max(hwm[0], vm_kb(p.pid, "VmHWM") or 0)
                time.sleep(0.02)
        t = threading.Thread(target=poll_hwm, daemon=True)
        t.start()
        feed(p.stdin, data)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        t.join(2)
    return p.returncode, errf.read_text(), max(ru.ru_maxrss, hwm[0]) / 1024


_baseline = {}


def baseline_mb(tmp_path, reader, good):
    """Peak RSS of reader taking one good frame from stdin."""
    if reader not in _baseline:
        rc, text, mb = run_stdin(tmp_path, reader, good)
        assert rc == 0, text
        _baseline[reader] = mb
    return _baseline[reader]


@pytest.mark.parametrize("case", sorted(huge_streams()))
@pytest.mark.parametrize("reader", ["display", "relay"])
def test_huge_declared_length_on_stdin(tmp_path, reader, case):
    """One good frame, then the hostile one: status 1, a message with the
    hostile frame's offset, the good frame delivered, and a peak RSS that
    is what arrived (1 MB), not what was declared (2 GB, 4 G objects):
    at most 16 MB above the same program's peak for the good frame
    alone (64 MB under AddressSanitizer)."""
    good = valid_frame()
    data, message, at = huge_streams()[case]
    base = baseline_mb(tmp_path, reader, good)
    rc, text, peak_mb = run_stdin(tmp_path, reader, good + data)
    print("\n%s %s: status %d, peak RSS %.1f MB (%.1f for one good "
          "frame): %s" % (reader, case, rc, peak_mb, base,
                          [l for l in text.splitlines()
                           if not l.startswith("{")]))
    assert rc == 1, text
    off = len(good) + at
    assert message in text and "byte offset %d" % off in text, \
        "expected %r at byte offset %d: %s" % (message, off, text)
    final = [l for l in text.splitlines() if l.startswith("{")]
    assert final and '"event":"exit"' in final[-1].replace(" ", ""), text
    assert '"frames":1' in final[-1].replace(" ", ""), final[-1]
    # Under ASan the chunks the stream reader grew through stay resident
    # in its quarantine: a wider bound, still far below the 2 GB declared.
    slack = 64 if SANITIZED else 16
    assert peak_mb < base + slack, \
        "peak RSS %.1f MB (%.1f MB for one good frame) for a stream of " \
        "%d MB" % (peak_mb, base, len(data) >> 20)
