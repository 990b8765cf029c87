"""The GStreamer plugin (gst/, docs/GSTREAMER.md) in real pipelines:

* `gst-launch-1.0 vidpipesrc ! fdsink` delivers test: frames that
  vidpipe-patcheck verifies, in each raw format (byte for byte), over
  shared memory (copied, and wrapped with zero-copy=true) and over TCP,
  and from JPEG and H.264 once jpegdec or avdec_h264 decoded them; a
  frame overwritten while copied out of the ring (copy_torn) is dropped;
* `videotestsrc ! vidpipesink` feeding a display gives the same frames as
  the same videotestsrc written straight to a file (ffmpeg framemd5);
* OpenCV (Debian's cv2, built with GStreamer) reads verified frames
  through cv2.CAP_GSTREAMER and writes a stream a display verifies: the
  examples of docs/PIPES.md, run as they are;
* gst-inspect-1.0 documents every property.

The plugin is found through GST_PLUGIN_PATH (VIDPIPE_GST_PLUGIN_DIR, set
by make e2e; build/gstreamer-1.0 by default), with a registry of the
tests' own.  Under make asan the plugin is instrumented and Debian's
gst-launch-1.0 and python3 run it with the sanitizers' runtimes preloaded
(leak checks off: GStreamer keeps its one-time allocations); the tests
that draw frames with the Python package, which make asan does not
build, are skipped there.
"""

import json
import os
import re
import signal
import subprocess

import pytest

from conftest import (BIN, HERE, PYTHON, SANITIZED, faults_env, free_ep,
                      import_vidpipe, prog)

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PLUGIN_DIR = os.environ.get("VIDPIPE_GST_PLUGIN_DIR") or os.path.join(
    ROOT, "build", "gstreamer-1.0")
EXAMPLES = os.path.join(ROOT, "docs", "examples")
W, H = 320, 240
N = 20  # frames each pipeline must deliver, verified


GST_FMT = {"bgr24": "BGR", "rgb24": "RGB", "gray": "GRAY8",
           "yuv420p": "I420", "nv12": "NV12", "yuyv422": "YUY2"}


@pytest.fixture(scope="module")
def genv(tmp_path_factory):
    """The environment that finds the tree's plugin (and no stale
    registry of somebody else's)."""
    assert os.path.isfile(os.path.join(PLUGIN_DIR, "libgstvidpipe.so")), \
        "build the plugin first (make)"
    reg = tmp_path_factory.mktemp("gst") / "registry.bin"
    env = dict(os.environ, GST_PLUGIN_PATH=PLUGIN_DIR,
               GST_REGISTRY=str(reg), GST_REGISTRY_FORK="no",
               PYTHONPATH=os.path.join(ROOT, "python"))
    if SANITIZED:
        cc = os.environ.get("CC", "cc")
        env["LD_PRELOAD"] = " ".join(subprocess.run(
            [cc, "-print-file-name=lib%s.so" % rt], capture_output=True,
            text=True, check=True).stdout.strip()
            for rt in ("asan", "ubsan"))
        env["ASAN_OPTIONS"] = "detect_leaks=0:" + env.get("ASAN_OPTIONS",
                                                          "")
    return env


def launch(env, pipeline, timeout=20):
    """Runs gst-launch-1.0 -q PIPELINE; its stdout (what fdsink wrote)."""
    r = subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(),
                       env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    assert r.returncode == 0, (pipeline, r.stderr.decode(errors="replace"))
    return r.stdout


def patcheck(data, fmt="bgr24", exact=False, size=(W, H)):
    """The seqs vidpipe-patcheck reads from raw frames (None: no code)."""
    args = [prog("patcheck"), "--size", "%dx%d" % size, "-p", fmt]
    if exact:
        args.append("--exact")
    r = subprocess.run(args, input=data, capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return [int(m) if m != "null" else None
            for m in re.findall(rb'"seq":(\w+)', r.stdout)]


def assert_verified(seqs, n=N, consecutive=False):
    assert len(seqs) == n, seqs
    assert None not in seqs, seqs
    assert seqs == sorted(set(seqs)), seqs  # newest frames, in order
    if consecutive:
        assert seqs == list(range(seqs[0], seqs[0] + n)), seqs


def src_frames(env, ep, opts, tail="", n=N):
    return launch(env, "vidpipesrc endpoint=%s %s num-buffers=%d %s ! "
                  "fdsink fd=1" % (ep, opts, n, tail))


@pytest.mark.parametrize("fmt", sorted(GST_FMT))
def test_src_raw_each_format(procs, genv, fmt):
    """Over shared memory (the default: one checked copy), byte for byte
    the test: picture of each seq, in the caps' own format."""
    ep = free_ep()
    procs.capture(ep, "--pix-fmt", fmt, size="%dx%d" % (W, H))
    out = src_frames(genv, ep, "stream=cam0",
                     "! video/x-raw,format=%s" % GST_FMT[fmt])
    assert_verified(patcheck(out, fmt, exact=True))


def test_src_drops_a_frame_overwritten_while_copied(procs, genv):
    """The default copy out of the ring is checked: every third copy is
    held until the capture (2 slots) has written its slot again
    (copy_torn), and that frame is dropped, counted stale and torn, never
    passed on; every frame that comes out is exact."""
    ep = free_ep()
    procs.capture(ep, ring=2, size="%dx%d" % (W, H))
    env = dict(genv, **faults_env(copy_torn=3))
    r = subprocess.run(
        ["gst-launch-1.0", "-q", "vidpipesrc", "endpoint=" + ep,
         "stats-json=true", "num-buffers=%d" % N, "!", "fdsink", "fd=1"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert_verified(patcheck(r.stdout, exact=True))
    last = [json.loads(l) for l in r.stderr.decode().splitlines()
            if l.startswith("{")][-1]
    assert last["event"] == "exit", last
    assert last["frames"] == N and last["copied"] == N, last
    assert last["stale"] >= N // 3 - 1 and last["torn"] == last["stale"], \
        last


@pytest.mark.parametrize("opts", ["zero-copy=true", "no-shm=true"])
def test_src_raw_wrapped(procs, genv, opts):
    """The ring slot wrapped in place (zero-copy), and a TCP payload
    wrapped (always): the same pixels."""
    ep = free_ep()
    procs.capture(ep, "--pix-fmt", "nv12", size="%dx%d" % (W, H))
    assert_verified(patcheck(src_frames(genv, ep, opts), "nv12", exact=True))


def test_src_jpeg(procs, genv):
    ep = free_ep()
    procs.capture(ep, size="%dx%d" % (W, H))
    out = src_frames(genv, ep, "codec=jpeg",
                     "! image/jpeg ! jpegdec ! videoconvert ! "
                     "video/x-raw,format=BGR")
    assert_verified(patcheck(out))


def test_src_h264(procs, genv):
    """Every frame in order from the first keyframe: avdec_h264 decodes
    each.  The encoder already runs for a display, with keyframes 1000
    frames apart, so the first one vidpipesrc gets is the one its start
    asked for."""
    ep = free_ep()
    cap = procs.capture(ep, "--gop", 1000, size="%dx%d" % (W, H))
    dis = procs.display(ep, "--variant", "h264", "--no-verify")
    dis.wait_frames(5, 10)
    assert cap.value("keyframe_requests") == 0
    out = src_frames(genv, ep, "codec=h264",
                     "! video/x-h264,stream-format=byte-stream,alignment=au "
                     "! avdec_h264 ! videoconvert ! video/x-raw,format=BGR")
    assert_verified(patcheck(out), consecutive=True)
    cap.wait_for(lambda p: p.value("keyframe_requests") >= 1, 5,
                 "a keyframe request")


FORCE_KEY = r"""
import sys, gi
gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gst, GstVideo
Gst.init(None)
p = Gst.parse_launch("vidpipesrc name=src endpoint=%s codec=h264 ! "
                     "fakesink name=sink sync=false" % sys.argv[1])
sink = p.get_by_name("sink")
seen = {"n": 0, "asked": None, "key": None}
def probe(pad, info):
    buf = info.get_buffer()
    seen["n"] += 1
    delta = buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
    if seen["n"] == 30:
        pad.push_event(GstVideo.video_event_new_upstream_force_key_unit(
            Gst.CLOCK_TIME_NONE, True, 1))
        seen["asked"] = seen["n"]
    elif seen["asked"] and not delta and seen["key"] is None:
        seen["key"] = seen["n"]
    return Gst.PadProbeReturn.OK
sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
p.set_state(Gst.State.PLAYING)
bus = p.get_bus()
deadline = Gst.util_get_timestamp() + 15 * Gst.SECOND
while seen["key"] is None and Gst.util_get_timestamp() < deadline:
    bus.timed_pop(100 * Gst.MSECOND)
st = p.get_by_name("src").get_property("stats")
p.set_state(Gst.State.NULL)
print(seen["asked"], seen["key"], st.get_value("keys_asked"))
"""


def test_src_asks_for_a_keyframe_when_downstream_does(procs, genv):
    """A force-key-unit event from downstream (a muxer starting a file,
    an RTSP client joining) makes vidpipesrc ask the publisher for a
    keyframe: with keyframes 1000 frames apart, the next one is it."""
    ep = free_ep()
    cap = procs.capture(ep, "--gop", 1000, size="%dx%d" % (W, H))
    r = subprocess.run([PYTHON, "-c", FORCE_KEY, ep], env=genv,
                       capture_output=True, text=True, timeout=40)
    assert r.returncode == 0, r.stderr
    asked, key, keys_asked = r.stdout.split()
    assert asked == "30" and key != "None", r.stdout
    assert int(key) - 30 < 30, r.stdout  # well before the GOP's end
    assert keys_asked == "1", r.stdout
    # The first keyframe is the one a first subscriber gets anyway; the
    # second is the one the event asked for.
    cap.wait_for(lambda p: p.value("keyframe_requests") >= 1 and
                 p.value("keyframes") >= 2, 5, "the keyframe asked for")


def finish(dis):
    """The display's exit stats once the publisher has finished: it has
    had every frame it will get (with -n, it may have exited already)."""
    dis.kill(signal.SIGINT)
    assert dis.wait(10) in (0, 1), dis.describe()
    st = dis.exit_stats()
    assert st, dis.describe()
    return st


def framemd5(raw, fmt, size, env):
    """ffmpeg's framemd5 of raw frames: one md5 a frame."""
    r = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", fmt,
         "-s", "%dx%d" % size, "-i", "-", "-f", "framemd5", "-"],
        input=raw, capture_output=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    return [l.split(",")[-1].strip() for l in r.stdout.decode().splitlines()
            if l and not l.startswith("#")]


@pytest.mark.parametrize("fmt", ["bgr24", "yuv420p"])
def test_sink_frames_as_direct_file(procs, genv, tmp_path, fmt):
    """videotestsrc -> vidpipesink -> display: every frame the display got
    is, by framemd5, the frame of the same number videotestsrc writes
    straight to a file."""
    np, vidpipe = import_vidpipe()
    n, size = 30, (W, H)
    caps = "video/x-raw,format=%s,width=%d,height=%d,framerate=30/1" % (
        GST_FMT[fmt], W, H)
    src = "videotestsrc num-buffers=%d pattern=ball ! %s" % (n, caps)
    direct = launch(genv, "%s ! fdsink fd=1" % src)
    ep = free_ep()
    rec = tmp_path / "rec.vpk"
    with open(rec, "wb") as f:
        dis = procs.display(ep, "-n", n, "--timeout", 10, sink="-",
                            transport="auto", stdout=f)
        launch(genv, "%s ! vidpipesink endpoint=%s wait-subscriber=10000"
               % (src, ep))
        finish(dis)
    seqs, got = [], b""
    with open(rec, "rb") as f:
        for fr in vidpipe.StreamReader(f):
            seqs.append(fr.seq)
            got += fr.array.tobytes()
            fr.release()
    want = framemd5(direct, fmt, size, genv)
    have = framemd5(got, fmt, size, genv)
    assert len(want) == n and len(have) == len(seqs)
    # The display takes the newest frame: at 30 fps it gets them all but
    # on a machine busy enough to make it skip one.
    assert len(seqs) >= n * 2 // 3, seqs
    assert seqs[-1] == n - 1, seqs
    assert have == [want[s] for s in seqs]


def test_inspect_documents_every_property(genv):
    for el in ("vidpipesrc", "vidpipesink"):
        r = subprocess.run(["gst-inspect-1.0", el], env=genv,
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        props = re.findall(r"^  ([a-z0-9-]+)\s+: (.+)$", r.stdout, re.M)
        names = {p for p, _ in props}
        want = {"endpoint", "stream", "no-shm", "curve-secret", "stats"}
        want |= {"codec", "curve-server-key", "zero-copy", "latency"} \
            if el == "vidpipesrc" else \
            {"curve-allow", "ring-slots", "jpeg-quality", "h264-bitrate",
             "h264-gop", "wait-subscriber", "backpressure", "fps"}
        assert want <= names, (el, want - names)
        for p, doc in props:
            assert len(doc) > 10, (el, p, doc)


def test_opencv_reads(procs, genv):
    """docs/examples/cv_read.py: cv2.VideoCapture(vidpipesrc ...,
    CAP_GSTREAMER); its BGR frames are test: frames, verified."""
    ep = free_ep()
    procs.capture(ep, size="%dx%d" % (W, H))
    r = subprocess.run([PYTHON, os.path.join(EXAMPLES, "cv_read.py"), ep,
                        str(N)], env=genv, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"cv_read: %dx%d, 3 channels" % (W, H) in r.stderr
    assert_verified(patcheck(r.stdout))


def test_opencv_writes(procs, genv):
    """docs/examples/cv_write.py: cv2.VideoWriter(appsrc ! vidpipesink,
    CAP_GSTREAMER) publishes what it is given, test: frames numbered as
    written, which a display verifies."""
    np, vidpipe = import_vidpipe()
    n, ep = 40, free_ep()
    a = np.zeros((H, W, 3), np.uint8)
    frames = b""
    for i in range(n):
        vidpipe.pattern_draw(a, i)
        frames += a.tobytes()
    dis = procs.display(ep, "-n", n, "--timeout", 10, transport="auto")
    r = subprocess.run([PYTHON, os.path.join(EXAMPLES, "cv_write.py"),
                        "%dx%d" % (W, H), ep, "60"], input=frames, env=genv,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"cv_write: %d frames" % n in r.stderr
    st = finish(dis)
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["verified"] >= n * 2 // 3, st
