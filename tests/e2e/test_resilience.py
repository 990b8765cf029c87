"""test_resilience.py -- peers die and come back; latest frame wins.

kill -9 of the capture or the relay mid-stream, restarted on the same
endpoint: the display, never restarted, resumes verified frames by
itself.  A slow display skips to the newest frame instead of queueing.
"""

import signal
import time

import pytest

from conftest import free_ep

FPS = 30
# The display must show frames again this soon after the restart (the
# design asks for 2 s; the rest is slack for a busy 2-core machine).
RECOVERY_MAX_S = 3.0


def wait_stalled(dis, timeout=5):
    """Waits for a display tick that counted no frame: the stream is cut."""
    n = len(dis.ticks())
    return dis.wait_for(
        lambda p: next((t for t in p.ticks()[n:] if t["fps"] == 0), None),
        timeout, "a tick without frames after the kill")


def measure_recovery(dis, restart):
    """Calls restart() and returns (estimate, upper bound) in seconds from
    the restart to the display's first new frame.  The stats come once a
    second: the upper bound is when the first tick with new frames was
    read; the estimate takes off the time those k frames took at FPS."""
    f0 = dis.value("frames")
    t0 = time.monotonic()
    restart()
    st = dis.wait_for(lambda p: p.latest() if p.value("frames") > f0
                      else None, 10, "frames after the restart")
    upper = st["_rx"] - t0
    k = st["frames"] - f0
    est = max(0.0, upper - k / FPS)
    return est, upper


def check_resumed(dis, path):
    v0 = dis.value("verified")
    dis.wait_for(lambda p: p.value("verified") >= v0 + 30, 5,
                 "30 more verified frames")
    st = dis.latest()
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["path"] == path, st
    assert dis.alive()


@pytest.mark.parametrize("transport", ["tcp", "auto"])
@pytest.mark.parametrize("victim", ["capture", "relay"])
def test_kill9_and_restart(procs, victim, transport):
    cap_ep, rel_ep = free_ep(), free_ep()
    path = "tcp" if transport == "tcp" else "shm"
    cap = procs.capture(cap_ep)
    rel = procs.relay(cap_ep, rel_ep)
    dis = procs.display(rel_ep, transport=transport)
    dis.wait_for(lambda p: p.value("verified") >= 30, 10,
                 "30 verified frames")

    old = cap if victim == "capture" else rel
    old.kill(signal.SIGKILL)
    assert old.wait(5) == -signal.SIGKILL
    wait_stalled(dis)
    assert dis.alive()

    def restart():
        if victim == "capture":
            procs.capture(cap_ep)
        else:
            procs.relay(cap_ep, rel_ep)

    est, upper = measure_recovery(dis, restart)
    print("\nrecovery after kill -9 of %s (%s): ~%.2f s (first tick with "
          "frames read %.2f s after the restart)"
          % (victim, path, est, upper))
    assert est <= RECOVERY_MAX_S and upper <= RECOVERY_MAX_S + 1.2, \
        "display resumed ~%.2f s after the %s restart" % (est, victim)
    check_resumed(dis, path)


@pytest.mark.timing
def test_slow_display_skips_to_newest(procs):
    """A display whose sink takes 200 ms a frame shows fresh frames: the
    display takes the newest frame each time, so a frame's age (which the
    display measures after the sink is done with it, 200 ms included)
    stays under 250 ms, drops are counted, and nothing grows over time.
    A queue anywhere would add 200 ms per queued frame."""
    cap_ep, rel_ep = free_ep(), free_ep()
    procs.capture(cap_ep, size="1280x720")
    rel = procs.relay(cap_ep, rel_ep)
    dis = procs.display(rel_ep, "--sink-delay", 200)
    # The first tick with frames is warm-up (connection set-up, first
    # big messages); judge the 5 after it.
    dis.wait_for(lambda p: p.value("frames") > 0, 10, "a first frame")
    n0 = len(dis.ticks()) + 1
    dis.wait_for(lambda p: len(p.ticks()) >= n0 + 5, 12, "5 more ticks")
    ticks = dis.ticks()[n0:]
    assert len(ticks) >= 5, ticks
    p99 = [t["lat_p99_us"] for t in ticks]
    print("\nslow display p99 per tick (us):", p99)
    for t in ticks:
        assert t["lat_p99_us"] < 250000, t
        # 200 ms a frame: about 5 fps shown, not 30.
        assert 2 <= t["fps"] <= 7, t
    assert ticks[-1]["drops"] > 0, ticks[-1]
    # Shown + dropped account for what the relay forwarded (compared with
    # a relay tick taken after the display's last one).
    st = ticks[-1]
    rst = rel.wait_for(
        lambda p: next((t for t in p.ticks() if t["_rx"] > st["_rx"]), None),
        3, "a relay tick")
    assert st["frames"] + st["drops"] <= rst["frames"], (st, rst)
    assert st["frames"] + st["drops"] >= 20 * len(ticks), st
    # No growth: the last ticks' latency is not above the first ones'.
    early = max(p99[:2])
    late = max(p99[-2:])
    assert late <= early + 50000, p99
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    # The relay kept its latency too (it must not queue for the display).
    assert rel.last_tick()["lat_p99_us"] < 100000, rel.last_tick()
