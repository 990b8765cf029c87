"""test_h264.py -- the h264 variant end to end, and H.264 egress.

capture -> relay -> display --variant h264 with every frame verified; a
viewer that joins gets a keyframe made for it; many viewers joining at
once cost one or two keyframes; a viewer that lost frames shows nothing
until a keyframe it asked for; the encoder runs only while somebody
wants H.264; and the display muxes the stream, as it came, into a file
and into RTMP, RTSP and SRT servers (ffmpeg listening).
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import free_ep, free_port, prog

W, H = 640, 360


def h264_display(procs, ep, *args, **kw):
    return procs.display(ep, "--variant", "h264", *args, transport="auto",
                         **kw)


def tick_after(p, t):
    """p's first stats line read after monotonic time t: its counters
    include everything that happened before t."""
    return p.wait_for(lambda q: next((s for s in q.stats if s["_rx"] > t),
                                     None), 5, "a tick after %.3f" % t)


def all_verified(st, n):
    return (st and st["frames"] >= n and st["verified"] == st["frames"]
            and st["mismatch"] == 0 and st["bad"] == 0)


def test_chain_every_frame_verified(procs):
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = procs.capture(cap_ep, size="%dx%d" % (W, H))
    procs.relay(cap_ep, rel_ep)
    dis = h264_display(procs, rel_ep, "-n", 90)
    assert dis.wait(30) == 0, dis.describe()
    st = dis.exit_stats()
    assert all_verified(st, 90), st
    assert st["path"] == "tcp", st
    c = cap.wait_for(lambda p: p.latest() if p.value("h264_encodes") >= 90
                     else None, 5, "90 encodes")
    assert c["jpeg_encodes"] == 0, c
    assert c["raw_sent"] == 0 and c["shm_sent"] == 0, c


def test_join_gets_a_keyframe_and_nobody_encodes_for_nobody(procs):
    """With keyframes only every 1000 frames, a viewer that joins a
    running stream starts at a keyframe made for it; once the last
    viewer has gone, nothing is encoded."""
    cap_ep = free_ep()
    cap = procs.capture(cap_ep, "--gop", 1000, size="%dx%d" % (W, H))
    first = h264_display(procs, cap_ep)
    first.wait_for(lambda p: p.value("verified") >= 30, 20, "30 frames")
    before = tick_after(cap, time.monotonic())["keyframes"]
    t0 = time.monotonic()
    late = h264_display(procs, cap_ep, "-n", 10)
    assert late.wait(20) == 0, late.describe()
    joined = time.monotonic() - t0
    st = late.exit_stats()
    assert all_verified(st, 10), st
    made = cap.wait_for(lambda p: p.latest() if p.value("keyframes") > before
                        else None, 5, "a keyframe for the late viewer")
    print("\nlate viewer: 10 verified frames %.0f ms after its start; "
          "keyframes %d -> %d" % (joined * 1000, before, made["keyframes"]))
    first.kill(signal.SIGINT)
    assert first.wait(10) == 0
    # Nobody wants H.264 any more: the encoder stops.
    cap.wait_for(lambda p: len(p.ticks()) >= 2 and
                 p.ticks()[-1]["h264_encodes"] == p.ticks()[-2][
                     "h264_encodes"], 10, "encodes to stop")


def test_many_viewers_joining_together_cost_few_keyframes(procs):
    """Twenty viewers wait behind a relay whose input is not up yet; when
    it comes up they join the running stream at the same moment: the
    capture makes one or two keyframes for all of them, not twenty."""
    cap_ep, mid_ep, rel_ep = free_ep(), free_ep(), free_ep()
    cap = procs.capture(cap_ep, "--gop", 1000, size="%dx%d" % (W, H))
    first = h264_display(procs, cap_ep)
    first.wait_for(lambda p: p.value("verified") >= 10, 20, "a viewer")
    rel = procs.relay(mid_ep, rel_ep)  # its input: nothing listens yet
    viewers = [procs.display(rel_ep, "--variant", "h264", "--no-shm")
               for _ in range(20)]
    for v in viewers:
        v.wait_for(lambda p: p.ticks(), 20, "a first tick")
    before = tick_after(cap, time.monotonic())["keyframes"]
    procs.relay(cap_ep, mid_ep)  # now they all join together
    for v in viewers:
        v.wait_for(lambda p: p.value("verified") >= 10, 30,
                   "10 verified frames")
    after = tick_after(cap, time.monotonic())["keyframes"]
    print("\n20 viewers joined: %d keyframe(s)" % (after - before))
    assert 1 <= after - before <= 3, (before, after)
    for v in viewers + [first]:
        assert v.value("mismatch") == 0 and v.value("bad") == 0, v.latest()
    assert rel.value("bad") == 0


def test_loss_waits_for_a_keyframe_it_asks_for(procs):
    """A relay restarted under a viewer loses frames on the way: the
    viewer shows no frame until a keyframe, asks for one, and every frame
    it shows is verified."""
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = procs.capture(cap_ep, "--gop", 1000, size="%dx%d" % (W, H))
    # A viewer of the capture's own keeps frames coming (and seq going)
    # while the relay is away: the far viewer misses those.
    near = h264_display(procs, cap_ep)
    rel = procs.relay(cap_ep, rel_ep)
    dis = h264_display(procs, rel_ep)
    dis.wait_for(lambda p: p.value("verified") >= 30, 20, "30 frames")
    near.wait_for(lambda p: p.value("verified") >= 30, 20, "30 frames")
    asked = tick_after(cap, time.monotonic())["keyframe_requests"]
    rel.kill(signal.SIGKILL)
    assert rel.wait(5) == -signal.SIGKILL
    # Frames go by meanwhile: a gap in the far viewer's seq.
    gone = tick_after(near, time.monotonic())["verified"]
    near.wait_for(lambda p: p.value("verified") >= gone + 10, 10,
                  "10 frames while the relay is away")
    procs.relay(cap_ep, rel_ep)
    base = dis.value("verified")
    dis.wait_for(lambda p: p.value("verified") >= base + 30, 20,
                 "30 more verified frames")
    st = dis.latest()
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    assert st["verified"] == st["frames"], st
    assert st["drops"] > 0, st  # the frames it missed
    c = cap.wait_for(lambda p: p.latest() if p.value("keyframe_requests") >
                     asked else None, 5, "a keyframe request")
    print("\nafter the relay's restart: %d frame(s) waited for a keyframe, "
          "%d request(s)" % (st["waiting_keyframe"],
                             c["keyframe_requests"] - asked))


# --- egress -------------------------------------------------------------------

def ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames",
                        "-select_streams", "v:0", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames",
                        "-of", "json", path], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["streams"][0]


def seqs(path, w, h):
    """The test: pattern's seq in each decoded frame of path, each once
    (passthrough: ffmpeg would repeat frames to even out the capture's
    timestamps at a constant rate)."""
    ff = subprocess.Popen(["ffmpeg", "-v", "error", "-i", path,
                           "-fps_mode", "passthrough", "-f", "rawvideo",
                           "-pix_fmt", "bgr24", "-"],
                          stdout=subprocess.PIPE)
    pc = subprocess.run([prog("patcheck"), "--size", "%dx%d" % (w, h)],
                        stdin=ff.stdout, capture_output=True, text=True,
                        timeout=120)
    ff.stdout.close()
    ff.wait(60)
    return [json.loads(l)["seq"] for l in pc.stdout.splitlines()]


def check_seqs(path, n):
    s = seqs(path, W, H)
    assert len(s) >= n and None not in s, s[:20]
    assert all(b > a for a, b in zip(s, s[1:])), s[:20]


@pytest.mark.parametrize("ext", ["mp4", "mkv", "ts"])
def test_file_muxed_as_it_came(procs, tmp_path, ext):
    cap_ep = free_ep()
    procs.capture(cap_ep, size="%dx%d" % (W, H))
    out = str(tmp_path / ("rec." + ext))
    dis = h264_display(procs, cap_ep, "-o", out, "-n", 60, sink=None)
    assert dis.wait(30) == 0, dis.describe()
    st = dis.exit_stats()
    assert all_verified(st, 60), st
    s = ffprobe(out)
    assert s["codec_name"] == "h264", s
    assert (s["width"], s["height"]) == (W, H), s
    assert int(s["nb_read_frames"]) == 60, s
    check_seqs(out, 60)


def listener(kind, port, out):
    """ffmpeg as the server a display publishes into."""
    url = {"rtmp": "rtmp://127.0.0.1:%d/live" % port,
           "rtsp": "rtsp://127.0.0.1:%d/live" % port,
           "srt": "srt://127.0.0.1:%d?mode=listener" % port}[kind]
    pre = {"rtmp": ["-listen", "1"], "rtsp": ["-rtsp_flags", "listen"],
           "srt": []}[kind]
    return subprocess.Popen(["ffmpeg", "-v", "error", "-y"] + pre +
                            ["-i", url, "-c", "copy", "-f", "mpegts", out],
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_listening(port, udp=False):
    deadline = time.monotonic() + 10
    flag = "-lun" if udp else "-ltn"
    while time.monotonic() < deadline:
        r = subprocess.run(["ss", flag], capture_output=True, text=True)
        if ":%d " % port in r.stdout:
            return
        time.sleep(0.05)
    pytest.fail("nothing listens on %d" % port)


@pytest.mark.parametrize("kind", ["rtmp", "rtsp", "srt"])
def test_egress_into_a_server(procs, tmp_path, kind):
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is not installed (tools/install-deps)")
    port = free_port()
    out = str(tmp_path / "got.ts")
    srv = listener(kind, port, out)
    try:
        wait_listening(port, udp=kind == "srt")
        cap_ep = free_ep()
        procs.capture(cap_ep, size="%dx%d" % (W, H))
        url = {"rtmp": "rtmp://127.0.0.1:%d/live" % port,
               "rtsp": "rtsp://127.0.0.1:%d/live" % port,
               "srt": "srt://127.0.0.1:%d?mode=caller" % port}[kind]
        dis = procs.display(cap_ep, "-o", url, "-n", 90, transport="auto",
                            sink=None)
        assert dis.wait(30) == 0, dis.describe()
        st = dis.exit_stats()
        assert all_verified(st, 90), st
        srv.wait(20)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    s = ffprobe(out)
    assert s["codec_name"] == "h264" and (s["width"], s["height"]) == (W, H)
    # What the server got decodes, in order; SRT may lose the last
    # packets still in flight when the display closes.
    check_seqs(out, 60)
