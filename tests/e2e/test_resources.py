"""test_resources.py -- memory and file descriptors stay bounded.

* 1280x720 at 30 fps through a relay to a display over TCP, with stalled
  subscribers on the relay (a display stopped with SIGSTOP, and a Python
  SUB that never reads): the relay must not queue frames for them.  The
  kernel's peak RSS (VmHWM, reset once warm) of the relay and of the live
  display, over the next 300 frames, stays within what their queues can
  hold: a queue anywhere would hold 300 frames, 800 MB.  (RSS flat over
  10 minutes with subscribers coming and going is make soak's,
  docs/RELIABILITY.md.)
* 100 subscriber connections to the relay, opened and closed, and 10
  display processes started on the relay and on the capture and killed:
  afterwards the relay and the capture hold as many file descriptors as
  before (plus a small constant).
* A capture killed with -9 and started again, 10 times (plain, with
  CURVE, and through a relay): once the readers map the new capture's
  ring, the display (and the relay) hold exactly the fds they held before,
  the new ring in place of the old: a ring whose producer is gone is let
  go of, not kept (each kept one would be an fd and its pages).
"""

import collections
import os
import signal
import subprocess
import time

import pytest
import zmq

from conftest import SANITIZED, free_ep, prog, wait_until

FD_SLACK = 4
W, H = 1280, 720
FRAME_MB = W * H * 3 / 2 ** 20
# Frames a relay holds at most: its queue to each of 3 subscribers
# (NET_PUB_HWM 4, the same messages for all), the message it is
# forwarding and those in its input queue (NET_HWM 2), with room for the
# allocator's slack; a display: its input queue, the mailbox, the frame
# it shows and the one being received.
BOUND_FRAMES = {"relay": 12, "display": 8}
# Under AddressSanitizer freed memory stays resident in its quarantine
# (256 MB by default): still far below what 300 queued frames would take.
QUARANTINE_MB = 256 if SANITIZED else 0


def rss_kb(pid):
    return status_kb(pid, "VmRSS")


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (key, pid))


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_links(pid):
    """What pid's open fds are (sockets, eventfds, /dev/shm segments...)."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except FileNotFoundError:
            pass  # closed meanwhile
    return sorted(out)


def kinds(links):
    """How many fds of each kind: "socket", "pipe", "anon_inode:[eventfd]",
    "ring" (a /dev/shm segment), or the file's path."""
    return collections.Counter(
        "ring" if x.startswith("/dev/shm/") else
        x.split(":")[0] if x.startswith(("socket:", "pipe:")) else x
        for x in links)


@pytest.mark.slow
def test_stalled_subscribers_are_not_queued_for(procs):
    cap_ep, rel_ep = free_ep(), free_ep()
    procs.capture(cap_ep, size="%dx%d" % (W, H))
    rel = procs.relay(cap_ep, rel_ep)
    dis = procs.display(rel_ep)
    stopped = procs.display(rel_ep)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 2)  # our own memory: 2 queued frames
    sub.setsockopt(zmq.SUBSCRIBE, b"raw/")
    sub.connect(rel_ep)
    try:
        for d in (dis, stopped):
            d.wait_for(lambda p: p.value("verified") >= 30, 15,
                       "30 verified frames")
        # The SUB has frames queued (and then reads nothing more).
        assert sub.poll(15000), "the Python SUB got no frame"
        stopped.kill(signal.SIGSTOP)
        ps = {"relay": rel, "display": dis}
        rss0 = {}
        for k, p in ps.items():
            with open("/proc/%d/clear_refs" % p.pid, "w") as f:
                f.write("5")  # VmHWM := VmRSS: the peak from now on
            rss0[k] = rss_kb(p.pid)
        f0, v0 = rel.value("frames"), dis.value("verified")
        rel.wait_for(lambda p: p.value("frames") >= f0 + 300, 60,
                     "300 more frames through the relay")
        dis.wait_for(lambda p: p.value("verified") >= v0 + 100, 15,
                     "100 more verified frames")
        grew = {k: (status_kb(p.pid, "VmHWM") - rss0[k]) / 1024
                for k, p in ps.items()}
        print("\npeak RSS over 300 frames above the RSS before, MB: %s "
              "(frames are %.1f MB)" % (
                  {k: round(v, 1) for k, v in grew.items()}, FRAME_MB))
        for k, mb in grew.items():
            assert mb <= BOUND_FRAMES[k] * FRAME_MB + QUARANTINE_MB, \
                "%s peaked %.1f MB above its RSS: more than %d frames" % (
                    k, mb, BOUND_FRAMES[k])
        st = dis.latest()
        assert st["mismatch"] == 0 and st["bad"] == 0, st
        assert st["path"] == "tcp", st
        assert rel.alive() and dis.alive()
    finally:
        stopped.kill(signal.SIGKILL)
        sub.close(0)
        ctx.term()


@pytest.mark.slow
def test_fds_flat_across_subscribers(procs):
    cap_ep, rel_ep, cap, rel, dis = procs.chain()
    # Settled: a tick after the display's connection is up.
    k = len(rel.ticks())
    rel.wait_for(lambda p: len(p.ticks()) > k, 10, "a relay tick")
    before = {"relay": nfds(rel.pid), "capture": nfds(cap.pid)}

    ctx = zmq.Context()
    try:
        # 20 at once first: the count must see them (it can fail).
        socks = []
        for i in range(20):
            s = ctx.socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVHWM, 2)
            s.setsockopt(zmq.SUBSCRIBE, b"raw/" if i % 2 else b"shm/")
            s.connect(rel_ep)
            socks.append(s)
        wait_until(lambda: nfds(rel.pid) >= before["relay"] + 20, 10,
                   "the relay to accept 20 connections")
        peak = nfds(rel.pid)
        for s in socks:
            s.close(0)
        # Then 80 one after the other, each getting a frame first.
        got = 0
        for i in range(80):
            s = ctx.socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVHWM, 2)
            s.setsockopt(zmq.SUBSCRIBE, b"raw/" if i % 2 else b"shm/")
            s.connect(rel_ep)
            if s.poll(15000):
                got += 1
            s.close(0)
        assert got == 80, "only %d of 80 subscribers got a frame" % got
    finally:
        ctx.term()

    # 10 displays, on the relay and directly on the capture, over shm and
    # TCP, killed with -9 or stopped with SIGINT.
    for i in range(10):
        d = procs.display(rel_ep if i % 2 else cap_ep,
                          transport="auto" if i % 4 < 2 else "tcp")
        d.wait_for(lambda p: p.value("frames") >= 5, 15, "5 frames")
        if i % 3:
            d.kill(signal.SIGKILL)
            assert d.wait(5) == -signal.SIGKILL
        else:
            d.kill(signal.SIGINT)
            assert d.wait(10) == 0, d.describe()

    def settled():
        now = {"relay": nfds(rel.pid), "capture": nfds(cap.pid)}
        return now if all(now[k] <= before[k] + FD_SLACK
                          for k in now) else None
    deadline = time.monotonic() + 10
    now = None
    while time.monotonic() < deadline and not now:
        now = settled()
        time.sleep(0.2)
    now = now or {"relay": nfds(rel.pid), "capture": nfds(cap.pid)}
    print("\nfds before -> after (relay peak with 20 SUBs %d): %s"
          % (peak, {k: "%d -> %d" % (before[k], now[k]) for k in now}))
    for k in now:
        assert now[k] <= before[k] + FD_SLACK, \
            "%s holds %d fds, %d before" % (k, now[k], before[k])
    # And the stream is still fine.
    v0 = dis.value("verified")
    dis.wait_for(lambda p: p.value("verified") >= v0 + 30, 15,
                 "30 more verified frames")
    st = dis.latest()
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert rel.alive() and cap.alive()


RESTARTS = 10


@pytest.mark.parametrize("variant", ["shm", "curve", "relay"])
def test_fds_flat_across_capture_restarts(procs, tmp_path, variant):
    """The display (and the relay) read the capture's ring in place; each
    capture started again makes a new ring (a new name) and removes the
    dead one's.  After each restart, the test waits for the readers to map
    the new ring and to hold only it: then their fds must be exactly what
    they were before the first kill -- the same sockets and eventfds, one
    ring.  (Until then a frame out may still hold the old ring: valid until
    released, by design.)"""
    cap_ep = free_ep()
    cap_args, dis_args = [], []
    if variant == "curve":
        keys = str(tmp_path)
        for n in ("cam", "view"):
            subprocess.run([prog("keygen"), os.path.join(keys, n)],
                           check=True, stdout=subprocess.DEVNULL)
        allow = tmp_path / "allow"
        allow.mkdir()
        os.rename(tmp_path / "view.pub", allow / "view.pub")
        cap_args = ["--curve-secret", os.path.join(keys, "cam.key"),
                    "--curve-allow", str(allow)]
        dis_args = ["--curve-server-key", os.path.join(keys, "cam.pub"),
                    "--curve-secret", os.path.join(keys, "view.key")]

    def capture():
        return procs.capture(cap_ep, *cap_args, size="160x120", fps=30,
                             ring=None)
    cap = capture()
    readers = {}
    if variant == "relay":
        rel_ep = free_ep()
        readers["relay"] = procs.relay(cap_ep, rel_ep, ring=None)
    dis = procs.display(rel_ep if variant == "relay" else cap_ep,
                        *dis_args, transport="auto")
    readers["display"] = dis
    dis.wait_for(lambda p: p.value("verified") >= 30, 15,
                 "30 verified frames")
    assert dis.latest()["path"] == "shm", dis.latest()

    def rings_held():
        return {k: [x for x in fd_links(p.pid) if x.startswith("/dev/shm/")]
                for k, p in readers.items()}

    def settled(c, what):
        """Each reader's fds, once every reader holds c's ring and no other
        (frames out may hold the old one a moment longer)."""
        ring = "/dev/shm/vidpipe-%d-0" % c.pid
        deadline = time.monotonic() + 15
        while True:
            links = {k: fd_links(p.pid) for k, p in readers.items()}
            if all([x for x in v if x.startswith("/dev/shm/")] == [ring]
                   for v in links.values()):
                return links
            if time.monotonic() > deadline:
                pytest.fail("%s: the readers hold %s, not only %s" % (
                    what, rings_held(), ring))
            time.sleep(0.02)

    before = settled(cap, "at the start")
    t0 = time.monotonic()
    for i in range(RESTARTS):
        cap.kill(signal.SIGKILL)
        assert cap.wait(5) == -signal.SIGKILL
        cap = capture()
        now = settled(cap, "restart %d" % (i + 1))
        for k in readers:
            assert kinds(now[k]) == kinds(before[k]), \
                "restart %d: %s holds %d fds, %d before: %s -> %s" % (
                    i + 1, k, len(now[k]), len(before[k]),
                    dict(kinds(before[k])), dict(kinds(now[k])))
    print("\n%d restarts in %.1f s; fds: %s" % (
        RESTARTS, time.monotonic() - t0,
        {k: dict(kinds(v)) for k, v in before.items()}))
    # And the stream is still fine.
    v0 = dis.value("verified")
    dis.wait_for(lambda p: p.value("verified") >= v0 + 30, 15,
                 "30 more verified frames")
    st = dis.latest()
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["path"] == "shm", st
