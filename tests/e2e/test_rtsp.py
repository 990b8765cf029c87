"""test_rtsp.py -- vidpipe-rtsp with real RTSP clients (docs/RTSP.md).

A capture publishes test: frames; vidpipe-rtsp serves its stream cam0;
ffmpeg and ffprobe read rtsp://127.0.0.1:PORT/cam0 over TCP and over
UDP, and every decoded frame must show its own seq (vidpipe-patcheck),
in order.  The capture makes keyframes only every 1000 frames (33 s),
so a client that starts within seconds started at a keyframe made for
it: two clients joining at different times each do, and the capture
counts a keyframe request for each.  Basic auth refuses a wrong
password and no password, and lets the right one play.
"""

import json
import re
import signal
import subprocess
import time

import pytest

from conftest import free_ep, free_port, prog

W, H = 320, 240
GOP = 1000
SEEN = re.compile(r"stream cam0: rtsp://")


def serve(procs, *args):
    """A capture and a vidpipe-rtsp serving it, once cam0 is found:
    (capture, rtsp, url of cam0)."""
    ep, port = free_ep(), free_port()
    cap = procs.capture(ep, "--gop", GOP, size="%dx%d" % (W, H), fps=30)
    rtsp = procs.start("rtsp", "-i", ep, "--listen", "127.0.0.1:%d" % port,
                       *args)
    rtsp.next_match(SEEN, 20, "cam0 found")
    return cap, rtsp, "rtsp://127.0.0.1:%d/cam0" % port


def client(url, transport, n):
    """ffmpeg reading n frames of url, decoded to bgr24, into patcheck:
    (ffmpeg, patcheck) processes."""
    ff = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-rtsp_transport", transport, "-i", url,
         "-frames:v", str(n), "-fps_mode", "passthrough", "-f", "rawvideo",
         "-pix_fmt", "bgr24", "-"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    pc = subprocess.Popen([prog("patcheck"), "--size", "%dx%d" % (W, H)],
                          stdin=ff.stdout, stdout=subprocess.PIPE, text=True)
    ff.stdout.close()
    return ff, pc


def verified(ff, pc, n, timeout=30):
    """Waits for the client; asserts n frames, each showing its own seq,
    in order.  Returns the seqs."""
    try:
        out, _ = pc.communicate(timeout=timeout)
        ff.wait(10)
    finally:
        for p in (ff, pc):
            if p.poll() is None:
                p.kill()
                p.wait()
    err = ff.stderr.read().decode(errors="replace")
    ff.stderr.close()
    assert ff.returncode == 0, err
    seqs = [json.loads(l)["seq"] for l in out.splitlines()]
    assert len(seqs) == n and None not in seqs, (seqs[:20], err)
    assert all(b > a for a, b in zip(seqs, seqs[1:])), seqs[:20]
    return seqs


def ffprobe(url, transport="tcp"):
    return subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", transport,
         "-show_entries", "stream=codec_name,width,height", "-of", "json",
         url], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_clients_get_verified_frames(procs, transport):
    cap, rtsp, url = serve(procs)
    r = ffprobe(url, transport)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)["streams"][0]
    assert s == {"codec_name": "h264", "width": W, "height": H}, s
    ff, pc = client(url, transport, 60)
    verified(ff, pc, 60)
    st = rtsp.wait_for(lambda p: p.latest() if p.value("plays") >= 2 and
                       p.value("medias") == 0 else None, 10,
                       "both clients' pipelines gone")
    assert st["streams"] == 1 and st["clients_total"] >= 2, st
    assert st["auth_refused"] == 0 and st["not_found"] == 0, st
    # A stream nobody publishes is a 404, at once.
    r = ffprobe(url.replace("cam0", "cam9"), transport)
    assert r.returncode != 0 and "404" in r.stderr, r.stderr
    rtsp.wait_for(lambda p: p.value("not_found") >= 1, 5, "a 404 counted")
    rtsp.kill(signal.SIGTERM)
    assert rtsp.wait(10) == 0, rtsp.describe()
    ex = rtsp.exit_stats()
    assert ex and ex["clients"] == 0, ex
    assert not [l for l in rtsp.log() if "error" in l], rtsp.describe(20)


def test_each_join_gets_a_keyframe(procs):
    """Client A plays; B joins seconds later, mid-GOP: B's first frame
    comes at once (a keyframe made for it, not the next of every 1000
    frames), and A's frames stay verified across it."""
    cap, rtsp, url = serve(procs)
    a = client(url, "tcp", 150)  # 5 s
    rtsp.wait_for(lambda p: p.value("plays") >= 1 and
                  p.value("medias") == 1, 15, "A playing")
    before = cap.tick_after(time.monotonic())
    t0 = time.monotonic()
    b = client(url, "udp", 1)
    verified(*b, 1, timeout=20)
    joined = time.monotonic() - t0
    after = cap.tick_after(time.monotonic())
    seqs = verified(*a, 150)
    print("\nB's first frame %.0f ms after its start; capture keyframes "
          "%d -> %d, keyframe requests %d -> %d" % (
              joined * 1000, before["keyframes"], after["keyframes"],
              before["keyframe_requests"], after["keyframe_requests"]))
    # Without a keyframe for it B would have waited up to GOP / 30 s.
    assert joined < 10, joined
    assert after["keyframe_requests"] > before["keyframe_requests"]
    assert after["keyframes"] > before["keyframes"]
    assert seqs[-1] - seqs[0] < 2 * 150, seqs[:5]


def test_basic_auth(procs, tmp_path):
    users = tmp_path / "users"
    users.write_text("# who may play\nnvr:right-one\n")
    cap, rtsp, url = serve(procs, "--auth", users)
    wrong = url.replace("rtsp://", "rtsp://nvr:wrong@")
    r = ffprobe(wrong)
    assert r.returncode != 0 and "401" in r.stderr, r.stderr
    r = ffprobe(url)
    assert r.returncode != 0 and "401" in r.stderr, r.stderr
    st = rtsp.wait_for(lambda p: p.latest() if p.value("auth_refused") >= 2
                       else None, 5, "401s counted")
    assert st["plays"] == 0 and st["medias"] == 0, st
    ff, pc = client(url.replace("rtsp://", "rtsp://nvr:right-one@"), "tcp",
                    10)
    verified(ff, pc, 10)


def test_bad_arguments_are_one_line_errors(tmp_path):
    empty = tmp_path / "users"
    empty.write_text("no colon here\n")
    port = free_port()
    for args, want in (
            (["--listen", "nowhere"], "--listen nowhere: expected"),
            (["--max-clients", "0"], "--max-clients 0: expected"),
            (["--auth", str(empty)], "expected user:password"),
            (["--auth", str(tmp_path / "none")], "--auth"),
            (["-i", "-"], "-i -:"),
            (["--listen", "192.0.2.1:%d" % port], "cannot listen")):
        r = subprocess.run([prog("rtsp")] + args, capture_output=True,
                           text=True, timeout=20)
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1, (args, r.stderr)
        assert lines[0].startswith("vidpipe-rtsp: ") and want in lines[0], \
            (args, lines)
