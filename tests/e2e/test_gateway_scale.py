"""test_gateway_scale.py -- a gateway's relay with many cameras, many
viewers, and clients that misbehave (issue 24).

Cameras are vidpipe.Publisher objects in the test's own process
(conftest.Cameras: small test: frames, each showing its own seq), so
64 or 256 of them cost one thread, not a process each.  Every viewer is
a real vidpipe-display that verifies the pixels of every frame it gets;
the hostile and waiting clients are raw ZeroMQ sockets, exactly what a
stranger on the network can send.  The relay's memory and descriptors
are read from /proc.
"""

import json
import os
import re
import time
import urllib.request

import pytest
import zmq

from conftest import free_ep, free_port, import_vidpipe, wait_until

import_vidpipe()  # skips this module where the package is not built


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def get(port, path):
    """(body, seconds) of GET path."""
    t = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=10) as r:
        body = r.read()
    return body, time.monotonic() - t


def verified(dis, n, timeout=30):
    """Waits until dis verified n frames and every frame it got verified."""
    dis.wait_for(lambda p: p.value("verified") >= n and
                 p.value("verified") == p.value("frames"), timeout,
                 "%d verified frames, all it got" % n)
    assert dis.value("mismatch") == 0, dis.describe()


def keeps_verifying(dis, more, timeout=30):
    """Waits for `more` verified frames past what dis has now, with every
    frame verified and no mismatch."""
    verified(dis, dis.value("verified") + more, timeout)


@pytest.mark.slow
def test_64_cameras_every_kind_of_viewer(procs, cameras):
    """64 cameras through one relay; viewers over shared memory, raw TCP,
    JPEG and H.264 spread over them, and two of every stream: each
    verifies every frame it gets."""
    cams = cameras(64, fps=8)
    cams.start(64)
    out = free_ep()
    rel = procs.relay(cams.eps, out, "--max-subs-per-client", 4096)
    every_shm = procs.display(out, transport="auto")
    every_tcp = procs.display(out)
    rel.wait_for(lambda p: p.value("streams") == 64, 30, "64 streams")
    kinds = (("shm", ["--variant", "raw"], "auto"), ("raw", [], "tcp"),
             ("jpeg", ["--variant", "jpeg"], "tcp"),
             ("h264", ["--variant", "h264"], "tcp"))
    views = []
    for k, (kind, args, transport) in enumerate(kinds):
        for i in range(4):
            cam = "cam%02d" % (k + 4 * i * 4 + 1)  # 16 streams, spread
            views.append((kind, procs.display(out, "-s", cam, *args,
                                              transport=transport)))
    for kind, v in views:
        verified(v, 24, timeout=40)
        assert v.value("path") == ("shm" if kind == "shm" else "tcp"), (
            kind, v.describe())
    # The displays of every stream (512 frames a second) show the newest
    # frame as fast as they can, each verified.
    for d in (every_shm, every_tcp):
        keeps_verifying(d, 300, timeout=30)
    assert every_shm.value("path") == "shm"
    assert rel.value("streams") == 64
    assert rel.value("stream_frames_refused") == 0
    assert rel.value("subs_refused") == 0
    assert not [l for l in rel.log() if "error" in l], rel.describe(20)
    cams.check()


WAITING = 200
JUNK = 10000
CYCLES = 1000
BATCH = 50


@pytest.mark.slow
def test_waiting_junk_and_churn_leave_the_relay_as_it_was(procs):
    """200 waiting viewers, 10,000 junk subscriptions and 1,000
    connect/disconnect cycles: a live viewer keeps verifying its frames
    throughout, and the relay's descriptors and RSS come back to their
    level once they have gone, twice."""
    cap_ep, rel_ep = free_ep(), free_ep()
    procs.capture(cap_ep, size="160x120", fps=30, stream="live")
    rel = procs.relay(cap_ep, rel_ep)
    live = procs.display(rel_ep, "-s", "live")
    verified(live, 30)
    ctx = zmq.Context()

    def sub(*prefixes):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SNDHWM, 0)  # every subscription reaches the relay
        s.connect(rel_ep)
        for p in prefixes:
            s.setsockopt(zmq.SUBSCRIBE, p)
        return s

    def held(p):
        return p.value("subs_added") - p.value("subs_removed")

    try:
        # One client first: the level is taken with the relay's output
        # socket past its first connection.
        fds_before = nfds(rel.pid)
        s = sub(b"raw/live/")
        wait_until(lambda: s.poll(100), 10, "a warm-up frame")
        s.close()
        base_subs = held(rel)
        wait_until(lambda: nfds(rel.pid) == fds_before, 15,
                   "the warm-up client's connection closed")
        fds0, rss0 = nfds(rel.pid), rss_kb(rel.pid)

        def hostile_round():
            """Every client below at once, then gone; the peak RSS."""
            t0 = time.monotonic()
            clients = []
            try:
                # 200 displays waiting for absent streams subscribe as a
                # display does: descriptors, then raw as its probe.
                for i in range(WAITING):
                    clients.append(sub(b"shm/absent%03d/" % i,
                                       b"raw/absent%03d/" % i))
                rel.wait_for(lambda p: held(p) >= base_subs + 2 * WAITING,
                             20, "the waiting viewers' subscriptions")
                keeps_verifying(live, 30)
                # One client subscribing to 10,000 junk prefixes: refused
                # past its share, for it alone.
                refused = rel.value("subs_refused")
                clients.append(sub(*[b"junk/%d/" % i for i in range(JUNK)]))
                rel.wait_for(lambda p: p.value("subs_refused") >=
                             refused + JUNK - 1024, 30,
                             "the junk refused past --max-subs-per-client")
                keeps_verifying(live, 30)
                # 1,000 connections made and closed, in batches; each is
                # proved up by a frame it received.
                for _ in range(CYCLES // BATCH):
                    batch = [sub(b"raw/live/") for _ in range(BATCH)]
                    for s in batch:
                        assert s.poll(10000), "a churning client got no frame"
                    for s in batch:
                        s.close()
                keeps_verifying(live, 30)
                peak = rss_kb(rel.pid), nfds(rel.pid)
            finally:
                for s in clients:
                    s.close()
            rel.wait_for(lambda p: held(p) == base_subs and
                         nfds(rel.pid) == fds0, 30,
                         "every client's subscriptions and connection gone")
            keeps_verifying(live, 30)
            # The live viewer's frames never stopped: every second of it
            # had frames, and every frame verified.
            ticks = [t for t in live.ticks() if t0 < t["_rx"]]
            assert len(ticks) >= 5 and min(t["fps"] for t in ticks) > 10, [
                t["fps"] for t in ticks]
            assert live.value("mismatch") == 0
            return peak

        for r in range(2):
            peak = hostile_round()
            # What the clients held goes back to the system (the relay
            # trims its heap at most every 5 s once clients have left).
            wait_until(lambda: rss_kb(rel.pid) <= rss0 + 2048, 15,
                       "the relay's RSS back within 2 MiB of %d kB" % rss0)
            print("round %d: relay fds %d, peak %d, after %d; RSS %d kB, "
                  "peak %d, after %d kB" % (r, fds0, peak[1], nfds(rel.pid),
                                            rss0, peak[0], rss_kb(rel.pid)))
            assert nfds(rel.pid) == fds0
        assert rel.alive()
    finally:
        ctx.term()


def test_idle_streams_stall_then_go(procs, cameras):
    """Streams that stop are marked stalled, then dropped after
    --drop-after: gone from /api/streams, /metrics and the stats, with
    what the relay held for them; the streams that go on are untouched,
    and a dropped stream that comes back is carried again."""
    cams = cameras(32)
    cams.start(32)
    out, port = free_ep(), free_port()
    # 5 s: the 3 s between stalled and dropped hold a report or two.
    rel = procs.relay(cams.eps, out, "--http", "127.0.0.1:%d" % port,
                      "--drop-after", 5)
    live = procs.display(out, "-s", "cam00")
    rel.wait_for(lambda p: p.value("streams") == 32 and
                 p.value("stream_bytes") > 0, 20, "32 streams")
    st = json.loads(get(port, "/api/streams")[0])
    assert st["total"] == 32 and len(st["streams"]) == 32
    page = json.loads(get(port, "/api/streams?offset=24&limit=24")[0])
    assert page["total"] == 32 and len(page["streams"]) == 8
    full = rel.value("stream_bytes")
    verified(live, 20)
    # All but the first four stop: stalled after 2 s, dropped after 5 s.
    cams.start(4)
    rel.wait_for(lambda p: p.value("streams_stalled") == 28, 10,
                 "28 streams stalled")
    st = json.loads(get(port, "/api/streams")[0])
    stalled = sorted(s["name"] for s in st["streams"] if s["stalled"])
    assert stalled == cams.names[4:], st
    rel.wait_for(lambda p: p.value("streams") == 4 and
                 p.value("streams_dropped") == 28 and
                 p.value("streams_stalled") == 0, 10, "28 streams dropped")
    wait_until(lambda: json.loads(get(port, "/api/streams")[0])["total"] == 4,
               5, "the dropped streams gone from /api/streams")
    metrics = get(port, "/metrics")[0].decode()
    assert 'stream="cam05"' not in metrics
    assert re.search(r"^vidpipe_relay_streams_dropped_total 28$", metrics,
                     re.M), metrics
    held = rel.value("stream_bytes")
    assert held < full, (held, full)
    assert rel.matches(re.compile(r"stream cam31: no frame for 2 s: stalled"))
    assert rel.matches(re.compile(r"stream cam31: .*forgotten"))
    keeps_verifying(live, 20)
    # They come back: carried again, as new streams.
    cams.start(32)
    rel.wait_for(lambda p: p.value("streams") == 32, 10, "32 streams again")
    back = procs.display(out, "-s", "cam31")
    verified(back, 20)
    cams.start(4)
    rel.wait_for(lambda p: p.value("streams_dropped") == 56, 15,
                 "dropped again")
    assert rel.value("stream_bytes") == held, rel.describe()
    cams.check()
