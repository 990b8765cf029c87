"""test_python.py -- the Python package (python/vidpipe, docs/PYTHON.md).

Run from Python, as its users run it: in this process against the real
programs, and as Python processes of their own in pipelines (the
examples, a passthrough, a memory probe).  Frames are judged by their
pixels: a test: frame shows its own seq, so pattern_seq(f.array) ==
f.seq proves the view is the frame.  Overwrites are forced (a publisher
in this process goes round its ring), never waited for.
"""

import errno
import gc
import hashlib
import json
import os
import select
import shlex
import signal
import subprocess
import threading
import time

import pytest

from conftest import (PY_EXAMPLES, PYTHON, free_ep, import_vidpipe, prog,
                      py_command, py_env, wait_until)

np, vidpipe = import_vidpipe()

W, H = 320, 240
PY_ENV = py_env()


def take_verified(sub, n, path, after=-1, timeout=15):
    """Receives until n frames that came by path showed their own seq
    (newer than after); fails on a frame that showed another, on a frame
    older than one before, or at the deadline.  Returns the last seq."""
    deadline = time.monotonic() + timeout
    got, last = 0, after
    while got < n:
        left = deadline - time.monotonic()
        assert left > 0, "%d of %d verified %s frames in %d s" % (
            got, n, path, timeout)
        f = sub.recv(timeout=min(left, 0.5))
        if f is None:
            continue
        with f:
            a = f.array
            assert a.shape == (f.height, f.width, 3)
            assert a.dtype == np.uint8 and not a.flags.writeable
            seq = vidpipe.pattern_seq(a)
            if f.seq <= after:
                continue  # from before the event waited for
            assert f.seq > last, "frame %d after %d" % (f.seq, last)
            last = f.seq
            if f.path != path or not f.intact():
                continue
            assert seq == f.seq, "frame %d shows %s" % (f.seq, seq)
            got += 1
    return last


def pub_sub(shm=True, ring=8):
    """A Publisher and a Subscriber of it in this process, once frames
    flow by the path asked for: (pub, sub, next seq)."""
    ep = free_ep()
    pub = vidpipe.Publisher(ep, ring=ring, shm=shm)
    sub = vidpipe.Subscriber(ep, shm=shm)
    img = np.zeros((H, W, 3), np.uint8)
    deadline = time.monotonic() + 10
    for seq in range(100000):
        assert time.monotonic() < deadline, "no frame came through"
        vidpipe.pattern_draw(img, seq)
        pub.send(img, seq=seq)
        f = sub.recv(timeout=0.02)
        if f is not None:
            ok = f.path == ("shm" if shm else "tcp") and f.seq == seq
            f.release()
            if ok:
                return pub, sub, seq + 1


def send_pattern(pub, seq, shape=(H, W, 3)):
    img = np.zeros(shape, np.uint8)
    vidpipe.pattern_draw(img, seq)
    pub.send(img, seq=seq)


# --- receiving -------------------------------------------------------------

def test_subscriber_shm_views_the_ring(procs):
    ep = free_ep()
    procs.capture(ep, size="%dx%d" % (W, H))
    with vidpipe.Subscriber(ep) as sub:
        take_verified(sub, 30, "shm")
        st = sub.stats()
        for k in ("prog", "event", "t", "frames", "fps", "lat_p50_us",
                  "lat_p99_us", "drops", "bad", "torn", "bytes", "path",
                  "stalled", "received"):
            assert k in st, k
        assert st["path"] == "shm" and st["frames"] >= 30 and \
            st["bad"] == 0, st
        f = sub.recv(timeout=5)
        assert f.size == 0 and f.codec == "raw" and f.fmt == "bgr24"
        assert f.stream == "cam0" and f.latency_us >= 0
        assert 0 < f.t_real_ns <= time.time_ns()
        assert 0 < f.t_mono_ns <= time.monotonic_ns()
        assert f.header()["shm"]["name"]
        # No copy: the view is the slot, not memory of its own.
        assert not f.array.flags.owndata and f.array.base is not None
        assert f.array is f.array
        with pytest.raises(ValueError):
            f.array.setflags(write=True)  # the producer's pixels
        f.release()


@pytest.mark.parametrize("codec", ["raw", "jpeg"])
def test_subscriber_tcp(procs, codec):
    ep = free_ep()
    procs.capture(ep, size="%dx%d" % (W, H))
    with vidpipe.Subscriber([ep], shm=False, codec=codec) as sub:
        take_verified(sub, 30, "tcp")
        f = sub.recv(timeout=5)
        assert f.codec == codec and f.size > 0 and f.intact()
        c = f.copy()
        assert c.flags.owndata and c.flags.writeable
        assert np.array_equal(c, f.array)
        assert sub.stats()["bytes"] > 0


YUV_SHAPES = {"yuv420p": (H * 3 // 2, W), "nv12": (H * 3 // 2, W),
              "yuyv422": (H, W, 2)}


@pytest.mark.parametrize("fmt", sorted(YUV_SHAPES))
@pytest.mark.parametrize("shm", [True, False], ids=["shm", "tcp"])
def test_yuv_frames_are_arrays_of_their_planes(procs, fmt, shm):
    """A capture's fmt frames arrive as one array of their planes (the
    shape OpenCV's cvtColor takes), which shows the frame's seq; copy()
    is equal; and what OpenCV makes of it is the bgr24 picture."""
    import cv2
    ep = free_ep()
    procs.capture(ep, "--pix-fmt", fmt, size="%dx%d" % (W, H))
    with vidpipe.Subscriber(ep, shm=shm) as sub:
        got = 0
        deadline = time.monotonic() + 15
        while got < 20:
            assert time.monotonic() < deadline, "%d verified" % got
            f = sub.recv(timeout=0.5)
            if f is None:
                continue
            with f:
                a = f.array
                assert f.fmt == fmt and a.shape == YUV_SHAPES[fmt], a.shape
                seq = vidpipe.pattern_seq(a, fmt=fmt)
                c = f.copy()
                if f.intact():
                    assert seq == f.seq and np.array_equal(c, a)
                    got += 1
        code = {"yuv420p": cv2.COLOR_YUV2BGR_I420,
                "nv12": cv2.COLOR_YUV2BGR_NV12,
                "yuyv422": cv2.COLOR_YUV2BGR_YUYV}[fmt]
        assert vidpipe.pattern_seq(cv2.cvtColor(c, code)) == seq


@pytest.mark.parametrize("fmt", sorted(YUV_SHAPES))
def test_publish_yuv_to_display(procs, fmt):
    """Python publishes fmt arrays, by send() and by loan(): a display
    verifies them on shared memory and over TCP."""
    ep = free_ep()
    with vidpipe.Publisher(ep, ring=16) as pub:
        shm = procs.display(ep, transport="auto")
        tcp = procs.display(ep)
        img = np.zeros(YUV_SHAPES[fmt], np.uint8)
        seq = 0
        deadline = time.monotonic() + 20
        while min(shm.value("verified"), tcp.value("verified")) < 30:
            assert time.monotonic() < deadline, (shm.latest(), tcp.latest())
            if seq % 2:
                vidpipe.pattern_draw(img, seq, fmt=fmt)
                pub.send(img, seq=seq, fmt=fmt)
            else:
                a = pub.loan(H, W, fmt=fmt)
                assert a.shape == YUV_SHAPES[fmt] and a.flags.writeable
                vidpipe.pattern_draw(a, seq, fmt=fmt)
                del a
                pub.commit(seq=seq)
            seq += 1
            time.sleep(0.01)
        for d, path in ((shm, "shm"), (tcp, "tcp")):
            st = d.latest()
            assert st["path"] == path and st["mismatch"] == 0, st
        with pytest.raises(ValueError, match="rows"):
            pub.send(np.zeros((H * 3 // 2 + 1, W), np.uint8), fmt="nv12")
        with pytest.raises(ValueError, match="even"):
            pub.send(np.zeros((H, W + 1, 2), np.uint8), fmt="yuyv422")
        with pytest.raises(ValueError, match="fmt"):
            pub.send(img, fmt="yuv444p")
        with pytest.raises(ValueError, match="not both"):
            pub.loan(H, W, 1, fmt=fmt)


def test_subscriber_example_prints_stats(procs):
    ep = free_ep()
    procs.capture(ep, size="%dx%d" % (W, H))
    p = procs.python("subscribe.py", "-i", ep, "--frames", "60")
    assert p.wait(20) == 0, p.describe()
    ex = p.exit_stats()
    assert ex and ex["path"] == "shm", p.describe()
    assert ex["verified"] >= 55 and ex["mismatch"] == 0, ex
    assert ex["frames"] >= 55 and ex["lat_p50_us"] > 0, ex


def test_curve(procs, tmp_path):
    for name in ("cam", "viewer"):
        r = subprocess.run([prog("keygen"), name], cwd=tmp_path,
                           capture_output=True, text=True)
        if r.returncode != 0 and "CURVE" in r.stderr:
            pytest.skip(r.stderr.strip())
        assert r.returncode == 0, r.stderr
    allow = tmp_path / "allow"
    allow.mkdir()
    os.rename(tmp_path / "viewer.pub", allow / "viewer.pub")
    ep = free_ep()
    procs.capture(ep, "--curve-secret", tmp_path / "cam.key",
                  "--curve-allow", allow, size="%dx%d" % (W, H))
    with vidpipe.Subscriber(ep, shm=False, curve_server_key=tmp_path /
                            "cam.pub",
                            curve_secret=tmp_path / "viewer.key") as sub:
        take_verified(sub, 10, "tcp")
    with pytest.raises(ValueError, match="nope.key"):
        vidpipe.Subscriber(ep, curve_server_key=tmp_path / "cam.pub",
                           curve_secret=tmp_path / "nope.key")


# --- publishing ------------------------------------------------------------

def test_publisher_to_relay_to_displays(procs):
    pub_ep, rel_ep = free_ep(), free_ep()
    pub = procs.python("publish.py", "-o", pub_ep, "--size", "%dx%d" % (W, H),
                       "--fps", "30")
    procs.relay(pub_ep, rel_ep)
    d_shm = procs.display(rel_ep, transport="auto")
    d_tcp = procs.display(rel_ep, transport="tcp")
    for d, path in ((d_shm, "shm"), (d_tcp, "tcp")):
        st = d.wait_for(lambda p: p.latest() if p.value("verified") >= 60
                        else None, 20, "60 verified frames")
        assert st["mismatch"] == 0 and st["bad"] == 0 and \
            st["torn"] == 0, st
        assert st["path"] == path, st
    pub.kill(signal.SIGTERM)
    assert pub.wait(10) == 0
    ex = pub.exit_stats()
    assert ex["shm_sent"] > 0 and ex["raw_sent"] > 0, ex


def test_filter_node_chain(procs):
    cap_ep, f_ep, rel_ep = free_ep(), free_ep(), free_ep()
    procs.capture(cap_ep, size="%dx%d" % (W, H))
    filt = procs.python("filter.py", "-i", cap_ep, "-o", f_ep)
    procs.relay(f_ep, rel_ep)
    dis = procs.display(rel_ep, "-s", "edges", transport="auto")
    st = dis.wait_for(lambda p: p.latest() if p.value("verified") >= 60
                      else None, 20, "60 verified edge frames")
    assert st["mismatch"] == 0 and st["bad"] == 0 and st["path"] == "shm"
    # The frame is the test: picture of its seq with green edges painted
    # over the lower half only.
    with vidpipe.Subscriber(rel_ep, stream="edges") as sub:
        f = sub.recv(timeout=5)
        a = f.copy()
        assert f.stream == "edges" and vidpipe.pattern_seq(a) == f.seq
        want = np.zeros_like(a)
        vidpipe.pattern_draw(want, f.seq)
        assert np.array_equal(a[:H // 2], want[:H // 2])
        changed = np.any(a != want, axis=2)
        green = np.all(a == (0, 255, 0), axis=2)
        assert changed.sum() > 100 and np.all(green[changed])
    assert filt.alive()


# --- byte streams ----------------------------------------------------------

PASSTHROUGH = """
import sys, vidpipe
r = vidpipe.StreamReader(sys.stdin.buffer)
w = vidpipe.StreamWriter(sys.stdout.buffer)
for f in r:
    if sys.argv[1] == "write":
        w.write(f)
    else:
        w.send(f.array, seq=f.seq)
    f.release()
"""


def test_stream_passthrough_keeps_every_byte(tmp_path):
    rec = subprocess.run([prog("capture"), "-o", "-", "--frames", "40",
                          "--size", "%dx%d" % (W, H), "--fps", "0",
                          "--quiet"], stdout=subprocess.PIPE, timeout=30,
                         check=True).stdout
    raw = {}
    for mode in ("write", "send"):
        out = subprocess.run([PYTHON, "-c", PASSTHROUGH, mode], input=rec,
                             stdout=subprocess.PIPE, env=PY_ENV, timeout=30,
                             check=True).stdout
        if mode == "write":
            assert out == rec  # headers, times and pixels as they came
        raw[mode] = subprocess.run(
            [prog("display"), "-i", "-", "-o", "raw:-", "--quiet"],
            input=out, stdout=subprocess.PIPE, timeout=30, check=True).stdout
    want = subprocess.run([prog("display"), "-i", "-", "-o", "raw:-",
                           "--quiet"], input=rec, stdout=subprocess.PIPE,
                          timeout=30, check=True).stdout
    assert len(want) == 40 * W * H * 3
    for mode, got in raw.items():
        assert hashlib.md5(got).hexdigest() == hashlib.md5(
            want).hexdigest(), mode


def test_shell_pipeline_through_filter():
    sh = ("%s -o - --frames 60 --size %dx%d --fps 60 --quiet | "
          "%s %s/filter.py -i - -o - | "
          "%s -i - -o null --stats-json --quiet") % (
              prog("capture"), W, H, shlex.join(py_command()), PY_EXAMPLES,
              prog("display"))
    r = subprocess.run(["sh", "-c", sh], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    ex = [json.loads(l) for l in r.stderr.splitlines()
          if l.startswith('{"prog":"display"') and '"exit"' in l][-1]
    assert ex["frames"] == 60 and ex["verified"] == 60, ex
    assert ex["mismatch"] == 0 and ex["path"] == "pipe", ex


def test_stream_reader_end_and_corrupt_input():
    rec = subprocess.run([prog("capture"), "-o", "-", "--frames", "3",
                          "--size", "64x48", "--fps", "0", "--quiet"],
                         stdout=subprocess.PIPE, timeout=30,
                         check=True).stdout
    rd, wr = os.pipe()
    os.write(wr, rec + b"\x93garbage that is not a frame")
    os.close(wr)
    with os.fdopen(rd, "rb") as fh:
        r = vidpipe.StreamReader(fh)
        seqs = []
        with pytest.raises(OSError) as e:
            for f in r:
                seqs.append(f.seq)
                assert f.path == "pipe"
                f.release()
        assert e.value.errno == errno.EBADMSG and seqs == [0, 1, 2]
        r.close()
    rd, wr = os.pipe()
    os.write(wr, rec)
    os.close(wr)
    with os.fdopen(rd, "rb") as fh, vidpipe.StreamReader(fh) as r:
        assert [f.seq for f in r] == [0, 1, 2]  # iteration ends at EOF
        with pytest.raises(EOFError):
            r.recv()


# --- lifetimes -------------------------------------------------------------

def test_intact_turns_false_when_the_slot_is_overwritten():
    pub, sub, seq = pub_sub(ring=2)
    send_pattern(pub, seq)
    f = sub.recv(timeout=5)
    assert f.path == "shm" and f.seq == seq
    a = f.array
    assert f.intact() and vidpipe.pattern_seq(a) == seq
    good = f.copy()  # while intact: fine, and its own
    send_pattern(pub, seq + 1)  # the ring's other slot
    assert f.intact()
    send_pattern(pub, seq + 2)  # round the ring of two: f's slot
    assert not f.intact()
    assert vidpipe.pattern_seq(a) == seq + 2  # the view sees the new pixels
    with pytest.raises(OSError) as e:
        f.copy()
    assert e.value.errno == errno.ESTALE and "overwritten" in str(e.value)
    assert vidpipe.pattern_seq(good) == seq
    f.release()
    assert sub.stats()["torn"] == 1
    sub.close()
    pub.close()


def test_views_keep_the_mapping_after_release_and_close():
    pub, sub, seq = pub_sub()
    send_pattern(pub, seq)
    f = sub.recv(timeout=5)
    a = f.array
    part = a[:, :100]  # a view of the view
    f.release()
    f.release()  # twice is fine
    for attr in ("array", "seq", "width", "path"):
        with pytest.raises(ValueError, match="released"):
            getattr(f, attr)
    with pytest.raises(ValueError):
        f.intact()
    assert f.released and "released" in repr(f)
    send_pattern(pub, seq + 1)
    g = sub.recv(timeout=5)
    ga = g.array
    sub.close()  # with g out: g stays readable until released
    sub.close()
    assert g.seq == seq + 1 and not g.released
    with pytest.raises(ValueError, match="closed"):
        sub.recv(timeout=0)
    pub.close()  # the writer unlinks and unmaps its ring...
    # ... and the views still read the frames they were: the subscriber's
    # mappings live as long as they do.
    want = np.zeros_like(a)
    vidpipe.pattern_draw(want, seq)
    assert np.array_equal(a, want) and np.array_equal(part, want[:, :100])
    assert vidpipe.pattern_seq(ga) == seq + 1
    del a, part, ga, g, f
    gc.collect()
    with pytest.raises(TypeError):
        vidpipe.Frame()


def pixels_ok(f):
    """f's pixels show its own seq, in its view and in a copy (no view
    is kept: the Frame's own is its only one)."""
    return (f.intact() and vidpipe.pattern_seq(f.array) == f.seq and
            np.array_equal(f.copy(), f.array))


@pytest.mark.parametrize("shm", [True, False], ids=["shm", "tcp"])
def test_frames_outlive_close(procs, shm):
    """vidpipe.h: frames still out stay valid after vp_sub_close() until
    released.  Frames of a real capture, taken and then the subscriber
    closed: their attributes and views still read their own pixels, and
    releasing them afterwards, two threads at once, is safe."""
    ep = free_ep()
    # 10 fps and a ring of 64: 6 s before a held frame's slot comes round,
    # and the capture is gone long before that.
    cap = procs.capture(ep, size="%dx%d" % (W, H), fps=10)
    path = "shm" if shm else "tcp"
    sub = vidpipe.Subscriber(ep, shm=shm)
    take_verified(sub, 1, path)
    frames = []
    while len(frames) < 8:
        f = sub.recv(timeout=5)
        assert f is not None, "no frame for 5 s"
        if f.path == path and f.seq not in [g.seq for g in frames]:
            frames.append(f)
        else:
            f.release()
    kept = frames[0].array[:, :W // 2]  # a view of a view, past release
    kept_seq = frames[0].seq
    sub.close()  # the receiver and the connection go now, frames out
    assert sub.closed
    with pytest.raises(ValueError, match="closed"):
        sub.recv(timeout=0)
    with pytest.raises(ValueError, match="closed"):
        sub.stats()
    cap.kill(signal.SIGTERM)  # nothing writes the ring any more;
    cap.wait()                # the subscriber's mapping stays
    for f in frames:
        assert not f.released and f.path == path
        assert pixels_ok(f), "frame %d after close" % f.seq
        assert f.header()["seq"] == f.seq and "closed" not in repr(f)

    # Half released here, half on another thread, at the same time: each
    # release gives the C frame back (no view of it is left but kept's).
    start, errors = threading.Barrier(2), []

    def release(fs):
        try:
            start.wait(10)
            for f in fs:
                assert pixels_ok(f), "frame %d" % f.seq
                f.release()
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    t = threading.Thread(target=release, args=(frames[1::2],))
    t.start()
    release(frames[0::2])
    t.join(10)
    assert not t.is_alive() and not errors, errors
    assert all(f.released for f in frames)
    with pytest.raises(ValueError, match="released"):
        frames[0].seq
    want = np.zeros((H, W, 3), np.uint8)
    vidpipe.pattern_draw(want, kept_seq)
    assert np.array_equal(kept, want[:, :W // 2])
    del kept, frames, f  # the last C frame goes back now
    gc.collect()


def test_loaned_array_is_the_publishers_until_commit():
    pub, sub, seq = pub_sub()
    buf = pub.loan(H, W)
    assert buf.shape == (H, W, 3) and buf.flags.writeable
    with pytest.raises(ValueError, match="on loan"):
        pub.loan(H, W)
    with pytest.raises(ValueError, match="on loan"):
        send_pattern(pub, seq)
    vidpipe.pattern_draw(buf, seq)
    pub.commit(seq)
    assert not buf.flags.writeable  # published: no longer to be written
    with pytest.raises(ValueError):
        buf[0, 0, 0] = 1
    f = sub.recv(timeout=5)
    assert f.seq == seq and vidpipe.pattern_seq(f.array) == seq
    f.release()
    with pytest.raises(ValueError, match="no frame on loan"):
        pub.commit()
    # Another geometry would make the ring anew under buf: not while buf
    # is referenced.
    with pytest.raises(BufferError, match="del it"):
        pub.loan(H // 2, W // 2)
    with pytest.raises(BufferError):
        send_pattern(pub, seq + 1, (H // 2, W // 2, 3))
    del buf
    gray = pub.loan(H // 2, W // 2, channels=1)
    assert gray.shape == (H // 2, W // 2)
    vidpipe.pattern_draw(gray, seq + 1)
    pub.commit()  # seq + 1: one more than the last
    f = sub.recv(timeout=5)
    assert f.fmt == "gray" and f.array.shape == (H // 2, W // 2)
    assert f.seq == seq + 1 and vidpipe.pattern_seq(f.array) == seq + 1
    f.release()
    buf = pub.loan(H // 2, W // 2, 1)
    pub.cancel()
    assert not buf.flags.writeable
    sub.close()
    pub.close()


@pytest.mark.parametrize("fmt", ["bgr24", "gray"] + sorted(YUV_SHAPES))
def test_pattern_update_is_a_drawing(fmt):
    """pattern_update() of an array that holds an earlier picture writes
    what pattern_draw() would, byte for byte (True); an array that holds
    none is drawn whole (False)."""
    shape = YUV_SHAPES.get(fmt, (H, W, 3) if fmt == "bgr24" else (H, W))
    kw = {"fmt": fmt} if fmt in YUV_SHAPES else {}
    img, want = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    assert vidpipe.pattern_update(img, 3, **kw) is False
    vidpipe.pattern_draw(want, 3, **kw)
    assert np.array_equal(img, want)
    for seq in (4, 7, 1000, 5, 2**40, 0):
        assert vidpipe.pattern_update(img, seq, **kw) is True
        vidpipe.pattern_draw(want, seq, **kw)
        assert np.array_equal(img, want), seq
        assert vidpipe.pattern_seq(img, **kw) == seq
    ro = img.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        vidpipe.pattern_update(ro, 1, **kw)
    with pytest.raises(ValueError):
        vidpipe.pattern_update(np.zeros((10, 10, 3), np.uint8), 1)


def test_closed_publisher_frees_its_endpoint_once_loans_are_gone():
    ep = free_ep()
    pub = vidpipe.Publisher(ep)
    buf = pub.loan(H, W)
    pub.close()  # the loan is cancelled; buf still points into it
    assert buf.sum() >= 0  # readable, not unmapped
    with pytest.raises(ValueError, match="closed"):
        pub.loan(H, W)
    with pytest.raises(OSError) as e:
        vidpipe.Publisher(ep)
    assert e.value.errno == errno.EADDRINUSE
    del buf
    vidpipe.Publisher(ep).close()  # bound again: the first let go


# --- threads and signals ---------------------------------------------------

def test_threads_share_a_subscriber(procs):
    ep = free_ep()
    procs.capture(ep, size="%dx%d" % (W, H), fps=60)
    sub = vidpipe.Subscriber(ep)
    done, errors, seen = threading.Event(), [], []
    lock = threading.Lock()
    releaser_q = []

    def reader():
        try:
            while not done.is_set():
                f = sub.recv(timeout=0.2)
                if f is None:
                    continue
                ok = vidpipe.pattern_seq(f.array) == f.seq or not f.intact()
                with lock:
                    seen.append(ok)
                    releaser_q.append(f)  # released on another thread
        except ValueError:
            pass  # closed under us: the end
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    def releaser():
        while not done.is_set() or releaser_q:
            with lock:
                fs = releaser_q[:]
                del releaser_q[:]
            for f in fs:
                f.release()
            try:
                sub.stats()  # meanwhile, from a third thread
            except ValueError:
                pass  # closed
            time.sleep(0.005)

    ts = [threading.Thread(target=reader) for _ in range(2)]
    ts.append(threading.Thread(target=releaser))
    for t in ts:
        t.start()
    wait_until(lambda: len(seen) >= 60 or errors, 15, "60 frames")
    sub.close()  # while both readers wait in recv
    t0 = time.monotonic()
    done.set()
    for t in ts:
        t.join(10)  # close() wakes both readers: they return
        assert not t.is_alive()
    print("\nreaders back %.3f s after close()" % (time.monotonic() - t0))
    assert not errors and all(seen), (errors, seen.count(False))


SIGNALLED = """
import os, signal, sys, time, vidpipe
what, ep = sys.argv[1], sys.argv[2]
# Python leaves SIGINT ignored when it started so (a background job of a
# shell without job control): Ctrl-C's handler, whatever runs the tests.
signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    if what == "recv":
        s = vidpipe.Subscriber(ep)
        print("ready", flush=True)
        s.recv()
    elif what == "iter":
        s = vidpipe.Subscriber(ep)
        print("ready", flush=True)
        for f in s:
            pass
    elif what == "stream":
        s = vidpipe.StreamReader(sys.stdin.buffer)
        print("ready", flush=True)
        s.recv()
    elif what == "wait":
        p = vidpipe.Publisher(ep)
        print("ready", flush=True)
        p.wait_until(time.monotonic_ns() + 60 * 10**9)
except KeyboardInterrupt:
    print("interrupted %.6f" % time.monotonic(), flush=True)
"""


def line_within(p, secs):
    """p's next line of stdout, or "" if none comes within secs."""
    r, _, _ = select.select([p.stdout], [], [], secs)
    return p.stdout.readline() if r else ""


@pytest.mark.parametrize("what", ["recv", "iter", "stream", "wait"])
def test_ctrl_c_interrupts_a_wait(what):
    p = subprocess.Popen([PYTHON, "-c", SIGNALLED, what, free_ep()],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=PY_ENV, text=True)
    try:
        assert line_within(p, 20).strip() == "ready"
        time.sleep(0.3)  # well inside the wait; it waits for a minute
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        line = line_within(p, 20).split()
        assert line and line[0] == "interrupted", line
        # The wait lasts a minute: the interrupt ends it, however soon
        # (printed; the wait wakes for signals every few milliseconds).
        print("\nKeyboardInterrupt %.3f s after SIGINT" % (
            float(line[1]) - t0))
        assert float(line[1]) - t0 < 10
        assert p.wait(5) == 0
    finally:
        p.kill()
        p.wait()
        p.stdin.close()
        p.stdout.close()


# --- bad input -------------------------------------------------------------

def test_bad_arrays_are_value_errors():
    ep = free_ep()
    with vidpipe.Publisher(ep) as pub:
        cases = [
            (np.zeros((H, W, 3), np.float32), "uint8"),
            (np.zeros((H, W, 4), np.uint8), r"\(240, 320, 4\)"),
            (np.zeros((H,), np.uint8), r"\(240,\)"),
            (np.zeros((H, W * 2, 3), np.uint8)[:, ::2], "packed"),
            (np.zeros((W, H, 3), np.uint8).transpose(1, 0, 2), "packed"),
            (np.zeros((0, W, 3), np.uint8), "1..16384"),
            ([[1, 2, 3]], "got list"),
            (b"\0" * 30, "got bytes"),
        ]
        for arr, msg in cases:
            with pytest.raises(ValueError, match=msg):
                pub.send(arr)
            with pytest.raises(ValueError, match=msg):
                vidpipe.pattern_seq(arr)
        # A crop of a wider picture has packed rows: fine.
        wide = np.zeros((H, W * 2, 3), np.uint8)
        vidpipe.pattern_draw(wide[:, :W], 7)
        assert vidpipe.pattern_seq(wide[:, :W]) == 7
        pub.send(wide[:, :W])
        pub.send(np.zeros((H, W, 1), np.uint8))  # gray
        assert vidpipe.pattern_seq(np.zeros((H, W, 3), np.uint8)) is None
        assert vidpipe.pattern_seq(np.zeros((10, 10), np.uint8)) is None
        with pytest.raises(ValueError, match="read-only"):
            ro = np.zeros((H, W, 3), np.uint8)
            ro.setflags(write=False)
            vidpipe.pattern_draw(ro, 1)
        for bad in ((H, W, 2), (0, W), (H, 20000)):
            with pytest.raises(ValueError):
                pub.loan(*bad)
        with pytest.raises(ValueError, match="seq"):
            pub.send(np.zeros((H, W, 3), np.uint8), seq=-1)
        with pytest.raises(ValueError, match="timeout"):
            vidpipe.Subscriber(ep).recv(timeout=-1)


def test_bad_urls_and_options_are_clear_errors():
    bad = [
        (lambda: vidpipe.Subscriber("foo://x"), ValueError, "foo://x"),
        (lambda: vidpipe.Subscriber("tcp://127.0.0.1"), ValueError, "tcp"),
        (lambda: vidpipe.Subscriber([]), ValueError, "no input"),
        (lambda: vidpipe.Subscriber(["-", free_ep()]), ValueError, "only"),
        (lambda: vidpipe.Subscriber([1]), ValueError, "expected str"),
        (lambda: vidpipe.Subscriber(free_ep(), stream="a b"), ValueError,
         "stream"),
        (lambda: vidpipe.Subscriber(free_ep(), codec="h265"), ValueError,
         "h265"),
        (lambda: vidpipe.Publisher("udp://1.2.3.4:5"), ValueError, "udp"),
        (lambda: vidpipe.Publisher(free_ep(), ring=1), ValueError, "ring"),
        (lambda: vidpipe.Publisher(free_ep(), ring=0), ValueError, "ring"),
        (lambda: vidpipe.Publisher(free_ep(), quality=101), ValueError,
         "quality"),
        (lambda: vidpipe.Publisher(free_ep(), stream=""), ValueError,
         "stream"),
        (lambda: vidpipe.Publisher("tcp://192.0.2.1:5"), OSError, ""),
    ]
    for make, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            make()


def test_publisher_bound_twice():
    ep = free_ep()
    first = vidpipe.Publisher(ep)
    with pytest.raises(OSError) as e:
        vidpipe.Publisher(ep)
    assert e.value.errno == errno.EADDRINUSE and str(e.value)
    sub = vidpipe.Subscriber(ep)  # the first is unharmed
    for seq in range(200):
        send_pattern(first, seq)
        f = sub.recv(timeout=0.05)
        if f is not None:
            assert vidpipe.pattern_seq(f.array) == f.seq
            break
    assert f is not None
    f.release()
    sub.close()
    first.close()
    vidpipe.Publisher(ep).close()


# --- resources and restarts -------------------------------------------------

MEMORY = """
import gc, json, sys, time, tracemalloc
import numpy as np, vidpipe
ep, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
shm = path == "shm"
W, H = 320, 240

def rss_kb():
    with open("/proc/self/status") as f:
        return int([l for l in f if l.startswith("VmRSS:")][0].split()[1])

pub = vidpipe.Publisher(ep, ring=4, shm=shm)
sub = vidpipe.Subscriber(ep, shm=shm)
img = np.zeros((H, W, 3), np.uint8)
seq, got, kept, out = 0, 0, None, {}

def publish():
    global seq
    if seq % 2:
        vidpipe.pattern_draw(img, seq)
        pub.send(img, seq=seq)
    else:
        buf = pub.loan(H, W)
        vidpipe.pattern_draw(buf, seq)
        del buf
        pub.commit(seq)
    seq += 1

deadline = time.monotonic() + 10
while True:  # until frames come by the path asked for
    assert time.monotonic() < deadline, "no frame"
    publish()
    f = sub.recv(timeout=0.05)
    if f is not None and f.path == path:
        break
f = None
while got < n:
    publish()
    f = sub.recv(timeout=2)
    if f is None:
        continue
    a = f.array
    assert f.path == path and (vidpipe.pattern_seq(a) == f.seq or
                               not f.intact()), f
    if got % 10 == 0:
        f.copy()
        f.header()
    if got % 100 == 0:
        sub.stats()
        pub.stats()
    if got % 3 == 0:
        kept = a  # a view outliving its frame's release, for a while
    if got % 2:
        f.release()
    del a, f
    got += 1
    if got == 1000:
        gc.collect()
        tracemalloc.start()
        out.update(rss1=rss_kb(), py1=tracemalloc.get_traced_memory()[0])
gc.collect()
out.update(rss2=rss_kb(), py2=tracemalloc.get_traced_memory()[0],
           frames=sub.stats(final=True)["frames"], sent=seq)
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.parametrize("path", ["shm", "tcp"])
def test_memory_flat_over_10000_frames(path):
    r = subprocess.run([PYTHON, "-c", MEMORY, free_ep(), path, "10000"],
                       capture_output=True, text=True, env=PY_ENV,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    print("\n%s: %s" % (path, m))
    assert m["frames"] >= 9990, m
    # Python objects: a leaked Frame, view or lock a frame would be
    # 9000 x 100 bytes and more.
    assert m["py2"] - m["py1"] < 64 * 1024, m
    # Messages and C frames (230 KB each): RSS stays where it was.
    assert m["rss2"] - m["rss1"] < 4096, m


@pytest.mark.parametrize("shm", [True, False], ids=["shm", "tcp"])
def test_subscriber_survives_relay_kill9(procs, shm):
    cap_ep, rel_ep = free_ep(), free_ep()
    path = "shm" if shm else "tcp"
    procs.capture(cap_ep, size="%dx%d" % (W, H))
    rel = procs.relay(cap_ep, rel_ep)
    with vidpipe.Subscriber(rel_ep, shm=shm) as sub:
        last = take_verified(sub, 30, path)
        rel.kill(signal.SIGKILL)
        assert rel.wait(5) == -signal.SIGKILL

        def stalled():  # a second without a frame: the relay is gone
            nonlocal last
            f = sub.recv(timeout=1.0)
            if f is None:
                return True
            last = max(last, f.seq)
            f.release()
            return False

        wait_until(stalled, 10, "the stream to stop")
        rel2 = procs.relay(cap_ep, rel_ep)
        take_verified(sub, 30, path, after=last, timeout=20)
        assert rel2.alive()
