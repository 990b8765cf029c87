"""End-to-end tests of capture's V4L2 source in the device's own format.

The device is vidpipe-fakecam: a FUSE file that answers V4L2's ioctls and
gives a frame per read(), frame n showing the test: picture of seq n in
the format capture set, with padded lines.  capture meets it through the
same calls and structures as a driver's (open, VIDIOC_QUERYCAP,
ENUM_FMT, S_FMT, S_PARM, poll, read), so what is judged here is capture's
part: the format asked for is the format taken, lines are unpadded into
the frame, and nothing is converted on the way: each frame that comes
out is byte for byte the test: frame of its seq in that format.

Streaming through mmap()ed driver buffers, which cameras use, takes a
kernel driver; the fake offers read() only.
"""

import hashlib
import os
import signal
import subprocess
import time

import pytest

from conftest import prog, wait_until

W, H = 320, 240
N = 30

if not os.path.exists("/dev/fuse"):
    pytest.skip("no /dev/fuse: the fake V4L2 device is a FUSE file",
                allow_module_level=True)


class FakeCam:
    def __init__(self, mnt, *args):
        self.mnt = mnt
        self.p = subprocess.Popen([prog("fakecam"), str(mnt)] + list(args),
                                  stderr=subprocess.PIPE)
        self.dev = os.path.join(mnt, "video0")
        wait_until(lambda: os.path.exists(self.dev) or self.p.poll()
                   is not None, 10, "the fake device")
        assert self.p.poll() is None, self.p.stderr.read().decode()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(10)
        finally:
            if self.p.poll() is None:
                self.p.kill()
            subprocess.run(["fusermount3", "-u", "-q", str(self.mnt)],
                           stderr=subprocess.DEVNULL)
        return self.p.stderr.read().decode()


@pytest.fixture
def fakecam(tmp_path):
    cams = []

    def make(*args):
        d = tmp_path / ("cam%d" % len(cams))
        d.mkdir()
        cams.append(FakeCam(d, *args))
        return cams[-1]
    yield make
    for c in cams:
        c.stop()


def frames_of(cmd, fmt, n=N):
    """The raw frames `cmd | display -o raw:- --out-pix-fmt fmt` writes, and
    the display's stderr."""
    r = subprocess.run(
        ["bash", "-c", cmd + f" | {prog('display')} -i - -o raw:- "
         f"--out-pix-fmt {fmt} --stats-json; echo \"status "
         "${PIPESTATUS[*]}\" >&2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = r.stderr.decode()
    assert "status 0 0" in err, err
    size = len(r.stdout) // n
    assert len(r.stdout) == n * size, (len(r.stdout), err)
    return [hashlib.md5(r.stdout[i * size:(i + 1) * size]).hexdigest()
            for i in range(n)], err


@pytest.mark.parametrize("fmt, fourcc, pad", [
    ("yuyv422", "YUYV", 0), ("nv12", "NV12", 32), ("yuv420p", "YU12", 64)])
def test_captured_in_its_own_format(fakecam, fmt, fourcc, pad):
    cam = fakecam("--formats", "BGR3,%s,GREY" % fourcc, "--pad", str(pad))
    got, err = frames_of(
        f"{prog('capture')} -i v4l2:{cam.dev} --pix-fmt {fmt} --size "
        f"{W}x{H} -n {N} -o -", fmt)
    want, _ = frames_of(
        f"{prog('capture')} -i test: --pix-fmt {fmt} --size {W}x{H} -n {N} "
        "-o -", fmt)
    assert got == want
    line = [l for l in err.splitlines() if "vidpipe fake camera" in l]
    assert line and f"{W}x{H} {fmt}" in line[0] and "read()" in line[0], err
    assert f"raw:- writes {W}x{H} {fmt}" in err
    log = cam.stop()
    assert f"set {fourcc} {W}x{H}" in log, log


def test_shm_display_verifies_device_frames(fakecam, procs):
    """From the device to a display through shared memory: every frame
    verifies, in yuyv422 as the device made it."""
    from conftest import free_ep
    cam = fakecam("--formats", "YUYV", "--pad", "16")
    ep = free_ep()
    procs.start("capture", "-i", "v4l2:" + cam.dev, "--pix-fmt", "yuyv422",
                "--size", f"{W}x{H}", "-o", ep, "--stats-json")
    dis = procs.display(ep, transport="auto")
    st = dis.wait_for(lambda p: p.latest() if p.value("verified") >= 30
                      else None, 20, "30 verified frames")
    assert st["path"] == "shm" and st["mismatch"] == 0 and st["bad"] == 0, st


def test_format_not_offered_says_what_is(fakecam):
    cam = fakecam("--formats", "YUYV,GREY")
    r = subprocess.run([prog("capture"), "-i", "v4l2:" + cam.dev,
                        "--pix-fmt", "nv12", "-n", "1", "-o", "-"],
                       capture_output=True, timeout=10)
    err = r.stderr.decode()
    assert r.returncode != 0 and not r.stdout, err
    assert "does not offer nv12 (NV12); it offers YUYV, GREY" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_device_size_is_what_it_gives(fakecam):
    """A device that cannot give the size asked for gives its own, and
    capture says so and publishes that."""
    cam = fakecam("--formats", "NV12", "--max", "640x480")
    got, err = frames_of(
        f"{prog('capture')} -i v4l2:{cam.dev} --pix-fmt nv12 --size "
        "1280x720 -n 3 -o -", "nv12", n=3)
    assert "the device gives 640x480, not 1280x720" in err, err
    assert "raw:- writes 640x480 nv12" in err, err


def test_not_a_device(tmp_path):
    f = tmp_path / "plain"
    f.write_bytes(b"x")
    r = subprocess.run([prog("capture"), "-i", "v4l2:%s" % f, "--pix-fmt",
                        "yuyv422", "-n", "1", "-o", "-"],
                       capture_output=True, timeout=10)
    err = r.stderr.decode()
    assert r.returncode != 0 and "not a V4L2 device" in err, err
