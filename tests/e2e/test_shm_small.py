"""test_shm_small.py -- too little /dev/shm, or a ring cut short under its
readers, kills nothing (RING.md section 7).

Each test runs the real programs in one private mount namespace whose
/dev/shm is a small tmpfs of its own, as in a container (conftest's
shm_ns), so the capture and its displays share it.  A 3840x2160 bgr24
capture's 8-slot ring needs 189.8 MiB: with 64 MiB it gets 2 slots, with
16 MiB none.  Judged from the programs' stats and stderr, their exit
status (SIGBUS would be 135) and the namespace's /dev/shm itself.  The
cuts are the test's own os.truncate() and os.unlink() on the capture's
segment while the display reads it.
"""

import os
import re
import signal

from conftest import free_ep

UHD = "3840x2160"
UHD_FPS = 4  # 24 MiB frames: a pace two cores keep over TCP as well
FRAME = 3840 * 2160 * 3
TWO_SLOTS = 4096 + 2 * FRAME  # RING.md section 2; FRAME is whole pages


def explanations(cap):
    """The capture's lines about /dev/shm being too small."""
    return [l for l in cap.log() if "of /dev/shm" in l]


def assert_explains(line, slots_msg):
    assert "8 slots of 3840x2160 bgr24 need 189.8 MiB of /dev/shm" in line
    assert re.search(r"[0-9.]+ MiB is free", line), line
    assert slots_msg in line, line
    assert "docker run --shm-size=192m" in line, line
    assert "mount -o remount,size=192m /dev/shm" in line, line


def stop_capture(cap, ns):
    """SIGTERM: the capture exits normally and leaves nothing behind."""
    cap.kill(signal.SIGTERM)
    assert cap.wait(10) == 0
    assert ns.segments() == []


def verified_more(dis, n, timeout, path="shm"):
    """Waits for n more verified frames than now, on path."""
    v0 = dis.value("verified")
    dis.wait_for(lambda p: p.value("verified") >= v0 + n and
                 p.value("path") == path, timeout,
                 "%d more verified frames over %s" % (n, path))


def test_uhd_ring_gets_fewer_slots(procs, shm_ns):
    ns = shm_ns("64m")
    ep = free_ep()
    cap = procs.capture(ep, size=UHD, fps=UHD_FPS, ring=None, wrap=ns.wrap)
    dis = procs.display(ep, transport="auto", wrap=ns.wrap)
    verified_more(dis, 8, 30)
    assert dis.value("mismatch") == 0
    assert cap.alive()

    lines = explanations(cap)
    assert len(lines) == 1, cap.log()
    assert_explains(lines[0], "using 2 slots (47.5 MiB)")
    seg = "vidpipe-%d-0" % cap.pid
    assert ns.segments() == [seg]
    assert os.path.getsize(ns.path(seg)) == TWO_SLOTS

    stop_capture(cap, ns)
    assert dis.alive()


def test_uhd_no_ring_falls_back_to_tcp(procs, shm_ns):
    ns = shm_ns("16m")
    ep = free_ep()
    cap = procs.capture(ep, size=UHD, fps=UHD_FPS, ring=None, wrap=ns.wrap)
    dis = procs.display(ep, transport="auto", wrap=ns.wrap)
    verified_more(dis, 5, 30, path="tcp")
    assert dis.value("mismatch") == 0
    assert cap.alive()
    assert ns.segments() == []  # nothing made, nothing left

    lines = explanations(cap)
    assert len(lines) == 1, cap.log()
    assert_explains(lines[0], "not even 2 slots (47.5 MiB) fit")
    assert any("/dev/shm is too small" in l and
               "publishing without shared memory" in l for l in cap.log()), \
        cap.log()

    stop_capture(cap, ns)
    assert dis.alive()


def test_ring_cut_short_under_the_reader(procs, shm_ns):
    ns = shm_ns("64m")
    ep = free_ep()
    cap = procs.capture(ep, fps=10, ring=None, wrap=ns.wrap)
    dis = procs.display(ep, transport="auto", wrap=ns.wrap)
    verified_more(dis, 10, 15)
    seg = ns.path("vidpipe-%d-0" % cap.pid)
    full = os.path.getsize(seg)

    # Cut to its header page, then to nothing: the frame being written
    # names none and the display counts it; then a new segment, and
    # verified frames over shm again.
    for size in (4096, 0):
        lost0 = dis.value("torn") + dis.value("bad")
        os.truncate(seg, size)
        dis.wait_for(lambda p: p.value("torn") + p.value("bad") > lost0, 10,
                     "the cut counted torn or bad")
        verified_more(dis, 10, 15)
        assert os.path.getsize(seg) == full
        assert cap.alive() and dis.alive()

    # Removed: the display still reads the segment it has; the capture
    # makes one under the name again, which a new display can open.
    os.unlink(seg)
    verified_more(dis, 10, 15)
    dis.wait_for(lambda p: os.path.exists(seg), 15, "the segment made again")
    dis2 = procs.display(ep, transport="auto", wrap=ns.wrap)
    verified_more(dis2, 10, 15)

    assert dis.value("mismatch") == 0 and dis2.value("mismatch") == 0
    stop_capture(cap, ns)
    for d in (dis, dis2):
        d.kill(signal.SIGINT)
        assert d.wait(10) == 0
