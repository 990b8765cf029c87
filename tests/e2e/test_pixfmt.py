"""End-to-end tests of the pixel formats beyond bgr24: yuv420p, nv12 and
yuyv422 through every path.

* ffmpeg's testsrc2 goes into vidpipe and back out, bit for bit
  (framemd5), in each format, both ways round: ffmpeg -> capture ->
  relay -> display -> ffmpeg, and vidpipe's own test: frames -> display
  -> ffmpeg -> capture -> display, verified by their pixels.
* test: frames of each format reach displays over shared memory, raw
  TCP, JPEG and H.264, every one verified.
* A relay carries a bgr24 and a yuv420p stream at once, to displays on
  both paths, made a frame at a time (capture_step, display_step) so
  every frame reaches every display and is verified.
* Sinks that need bgr24 (PNG here; the window and video files share the
  code) convert once, and show what the bgr24 stream shows.
* Geometry a format cannot have is a one-line usage error.
"""

import hashlib
import os
import subprocess

import cv2
import numpy as np
import pytest

from conftest import free_ep, join, lockstep, prog

W, H = 160, 120
N = 30
YUV = ["yuv420p", "nv12", "yuyv422"]


def frame_bytes(fmt, w=W, h=H):
    return {"yuv420p": w * h * 3 // 2, "nv12": w * h * 3 // 2,
            "yuyv422": w * h * 2, "bgr24": w * h * 3, "gray": w * h}[fmt]


def md5(b):
    return hashlib.md5(b).hexdigest()


def framemd5(stdout):
    return [line.split(",")[-1].strip() for line in stdout.decode()
            .splitlines() if line.strip() and not line.startswith("#")]


def ffmpeg_testsrc2(fmt, n=N):
    """n frames of ffmpeg's testsrc2 as raw fmt bytes, and ffmpeg's own
    framemd5 of them."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
         f"testsrc2=size={W}x{H}:rate=25", "-frames:v", str(n), "-f",
         "rawvideo", "-pix_fmt", fmt, "-"],
        check=True, stdout=subprocess.PIPE, timeout=60).stdout
    assert len(raw) == n * frame_bytes(fmt)
    sums = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "rawvideo",
         "-pix_fmt", fmt, "-s", f"{W}x{H}", "-i", "-", "-f", "framemd5",
         "-"], input=raw, check=True, stdout=subprocess.PIPE,
        timeout=60).stdout
    return raw, framemd5(sums)


def bash(cmd, stdin=None, timeout=60):
    r = subprocess.run(["bash", "-c", cmd + "; echo \"status "
                        "${PIPESTATUS[*]}\" >&2"], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return r, r.stderr.decode()


def exit_stats(err, prog_name):
    import json
    for line in reversed(err.splitlines()):
        if line.startswith("{") and '"event":"exit"' in line and \
                f'"prog":"{prog_name}"' in line:
            return json.loads(line)
    raise AssertionError("no exit line of %s in %s" % (prog_name, err))


@pytest.mark.parametrize("fmt", YUV)
def test_ffmpeg_in_and_out_exact(fmt):
    """ffmpeg -> capture raw:- -> relay -> display raw:- -> ffmpeg: the
    frames ffmpeg reads back are the ones it made, bit for bit."""
    raw, want = ffmpeg_testsrc2(fmt)
    r, err = bash(
        f"{prog('capture')} -i raw:- --size {W}x{H} --pix-fmt {fmt} "
        f"--fps 0 -o - | {prog('relay')} -i - -o - | "
        f"{prog('display')} -i - -o raw:- --out-pix-fmt {fmt} | "
        f"ffmpeg -nostdin -loglevel error -f rawvideo -pix_fmt {fmt} "
        f"-s {W}x{H} -i - -f framemd5 -", stdin=raw)
    assert "status 0 0 0 0" in err, err
    assert framemd5(r.stdout) == want
    assert err.count(f"raw:- writes {W}x{H} {fmt}") == 1, err


@pytest.mark.parametrize("fmt", YUV)
def test_vidpipe_out_and_in_exact(fmt, tmp_path):
    """test: frames of fmt -> display raw:- -> ffmpeg (rawvideo in and
    out, and its framemd5 on the side) -> capture raw:- -> display: every
    frame verifies by its pixels, and what ffmpeg read is byte for byte
    what the first display wrote."""
    made = tmp_path / "made.raw"
    sums = tmp_path / "sums"
    r, err = bash(
        f"{prog('capture')} -i test: --pix-fmt {fmt} --size {W}x{H} "
        f"-n {N} -o - | {prog('display')} -i - -o raw:- --out-pix-fmt {fmt} | "
        f"tee {made} | ffmpeg -nostdin -loglevel error -f rawvideo "
        f"-pix_fmt {fmt} -s {W}x{H} -i - -map 0 -f rawvideo -pix_fmt {fmt} "
        f"- -map 0 -f framemd5 {sums} | {prog('capture')} -i raw:- "
        f"--size {W}x{H} --pix-fmt {fmt} --fps 0 -o - | "
        f"{prog('display')} -i - -o null --stats-json")
    assert "status 0 0 0 0 0 0" in err, err
    st = exit_stats(err, "display")
    assert st["frames"] == N and st["verified"] == N, st
    assert st["mismatch"] == 0 and st["bad"] == 0, st
    data = made.read_bytes()
    size = frame_bytes(fmt)
    assert len(data) == N * size
    assert framemd5(sums.read_bytes()) == [
        md5(data[i * size:(i + 1) * size]) for i in range(N)]


@pytest.mark.parametrize("fmt", YUV)
def test_every_path(procs, fmt):
    """test: frames of fmt over shm, raw TCP, JPEG and H.264: every
    display verifies its frames by their pixels, none bad or torn."""
    ep = free_ep()
    cap = procs.capture(ep, "--pix-fmt", fmt)
    ways = {"shm": procs.display(ep, transport="auto"),
            "raw": procs.display(ep),
            "jpeg": procs.display(ep, "--variant", "jpeg"),
            "h264": procs.display(ep, "--variant", "h264")}
    for way, d in ways.items():
        d.wait_for(lambda p: p.value("verified") >= 30, 20,
                   "30 verified %s frames" % way)
    for way, d in ways.items():
        st = d.latest()
        assert st["path"] == ("shm" if way == "shm" else "tcp"), st
        assert st["mismatch"] == 0 and st["bad"] == 0 and st["torn"] == 0, \
            (way, st)
    # The displays' first ticks can come before the capture's first.
    cap.wait_for(lambda p: p.value("jpeg_encodes") > 0 and
                 p.value("h264_encodes") > 0, 10, "JPEG and H.264 encodes")


def test_mixed_relay(procs):
    """A bgr24 and a yuv420p stream through one relay, to a display of
    each on shared memory and on TCP: made a frame at a time, every frame
    reaches every display and verifies."""
    rel_ep = free_ep()
    caps, displays = {}, {}
    for fmt in ("bgr24", "yuv420p"):
        ep = free_ep()
        caps[fmt] = procs.capture(ep, "--pix-fmt", fmt, stream=fmt,
                                  step=True)
        caps[fmt].ep = ep
    rel = procs.relay([caps[f].ep for f in caps], rel_ep)
    for fmt in caps:
        displays[fmt] = [
            procs.display(rel_ep, "--stream", fmt, transport=t, step=True)
            for t in ("auto", "tcp")]
    for fmt in caps:
        join(caps[fmt], displays[fmt])
    for fmt in caps:
        lockstep(caps[fmt], displays[fmt], N)
    for fmt in caps:
        for d, path in zip(displays[fmt], ("shm", "tcp")):
            d.step()
            st = d.wait_for(lambda p: p.latest() if p.value("verified") >=
                            N else None, 10, "%d verified" % N)
            assert st["path"] == path, st
            assert st["mismatch"] == 0 and st["bad"] == 0, st
            assert st["verified"] == st["frames"], st
    assert rel.value("bad") == 0, rel.latest()


@pytest.mark.parametrize("fmt", YUV)
def test_png_converts_once(tmp_path, fmt):
    """A PNG of a frame of fmt shows what the PNG of the same bgr24 frame
    shows (the colours through BT.601 and back)."""
    for f in ("bgr24", fmt):
        d = tmp_path / f
        d.mkdir()
        r, err = bash(
            f"{prog('capture')} -i test: --pix-fmt {f} --size 320x240 -n 3 "
            f"-o - | {prog('display')} -i - -o png:{d}")
        assert "status 0 0" in err, err
    name = "cam0-%020d.png" % 2
    a = cv2.imread(str(tmp_path / fmt / name)).astype(int)
    b = cv2.imread(str(tmp_path / "bgr24" / name)).astype(int)
    diff = np.abs(a - b)
    print("\n%s vs bgr24: mean abs difference %.2f" % (fmt, diff.mean()))
    assert a.shape == b.shape == (240, 320, 3)
    # Chroma at half resolution blurs colour edges; the rest is rounding.
    assert diff.mean() < 3, diff.mean()
    assert np.percentile(diff, 95) <= 4


@pytest.mark.parametrize("args, msg", [
    (["-i", "test:", "--pix-fmt", "yuv420p", "--size", "641x480"],
     "641x480 is not a size of yuv420p"),
    (["-i", "test:", "--pix-fmt", "nv12", "--size", "640x481"],
     "640x481 is not a size of nv12"),
    (["-i", "raw:-", "--pix-fmt", "yuyv422", "--size", "641x480"],
     "641x480 is not a size of yuyv422"),
    (["-i", "test:", "--pix-fmt", "yuv444p"], "--pix-fmt yuv444p: expected"),
])
def test_bad_geometry_is_a_usage_error(args, msg):
    r = subprocess.run([prog("capture")] + args + ["-n", "1", "-o", "-"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    err = r.stderr.decode()
    assert r.returncode != 0 and not r.stdout, err
    assert msg in err and len(err.strip().splitlines()) == 1, err


def test_raw_output_of_another_size_is_refused():
    """display --out-pix-fmt yuv420p of an odd-sized bgr24 stream: one line
    saying why, not a crash."""
    r, err = bash(
        f"{prog('capture')} -i test: --size 161x120 -n 2 -o - | "
        f"{prog('display')} -i - -o raw:- --out-pix-fmt yuv420p > /dev/null")
    assert "161x120 is not a size of yuv420p" in err, err
    assert "status 0 1" in err or "status 141 1" in err, err


@pytest.mark.parametrize("fmt,via", [(f, v) for f in ["bgr24"] + YUV
                                     for v in ("tcp", "shm")])
def test_unpaced_frames_exact(fmt, via):
    """Unpaced test: frames, with the display stopped for a while so the
    capture's buffers all fill and are in flight at once, arrive each
    byte for byte the test: picture of its seq (vidpipe-patcheck
    --exact): payload buffers and ring slots hold whole frames of each
    format, and test: updating a buffer it drew before leaves exactly
    what a drawing makes."""
    import json
    import signal
    import time
    w, h = 320, 240
    ep = free_ep()
    cap = subprocess.Popen(
        [prog("capture"), "-i", "test:", "-o", ep, "--size", f"{w}x{h}",
         "--fps", "0", "--pix-fmt", fmt], stderr=subprocess.DEVNULL)
    dis = subprocess.Popen(
        [prog("display"), "-i", ep, "-o", "raw:-", "--out-pix-fmt", fmt] +
        (["--no-shm"] if via == "tcp" else []),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    pc = subprocess.Popen([prog("patcheck"), "--size", f"{w}x{h}",
                           "--pix-fmt", fmt, "--exact"], stdin=dis.stdout,
                          stdout=subprocess.PIPE)
    dis.stdout.close()
    try:
        time.sleep(1.5)
        dis.send_signal(signal.SIGSTOP)
        time.sleep(0.5)
        dis.send_signal(signal.SIGCONT)
        time.sleep(1.0)
    finally:
        dis.send_signal(signal.SIGCONT)
        dis.terminate()
        out, _ = pc.communicate(timeout=30)
        dis.wait(timeout=10)
        cap.terminate()
        cap.wait(timeout=10)
    lines = [json.loads(x) for x in out.decode().splitlines()]
    assert len(lines) >= 100, len(lines)
    bad = [x for x in lines if x["seq"] is None or not x["exact"]]
    assert not bad, (len(bad), len(lines), bad[:3])
    seqs = [x["seq"] for x in lines]
    assert all(a < b for a, b in zip(seqs, seqs[1:]))
