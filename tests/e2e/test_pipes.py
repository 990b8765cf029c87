"""End-to-end tests of byte-stream endpoints: shell pipes, ffmpeg interop,
recording and replay, broken and hostile streams, vidpipe-inspect.

Self-contained: the helpers live in this file.  The programs come from
$VIDPIPE_BIN (default <repo>/bin).  Nothing here is timed: a replay's
pace is checked against the schedule the capture says it kept (fault
pace_trace), a stream through ZeroMQ is made a frame at a time
(capture_step), and peaks of memory are the kernel's, read when the
program has stopped itself at its exit (exit_stop): docs/TESTING.md."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import msgpack
import pytest

BIN = Path(os.environ.get("VIDPIPE_BIN",
                          Path(__file__).resolve().parents[2] / "bin"))
W, H = 160, 120
NFRAMES = 50
BPP = {"bgr24": 3, "rgb24": 3, "gray": 1, "yuv420p": 1.5}


def prog(name):
    return str(BIN / f"vidpipe-{name}")


def fault_env(spec):
    """The environment with fault points armed (docs/TESTING.md)."""
    return dict(os.environ, VIDPIPE_FAULTS=spec)


class Lines:
    """A thread collecting a pipe's lines (a program's stderr)."""

    def __init__(self, f):
        self.lines, self.cv = [], threading.Condition()
        self.t = threading.Thread(target=self._read, args=(f,), daemon=True)
        self.t.start()

    def _read(self, f):
        for raw in f:
            with self.cv:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
                self.cv.notify_all()

    def count(self, text):
        with self.cv:
            return sum(text in l for l in self.lines)

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        with self.cv:
            while not pred(self):
                left = end - time.monotonic()
                assert left > 0, "no %s in %.0f s: %s" % (
                    what, timeout, self.lines[-5:])
                self.cv.wait(min(left, 0.05))


def md5(b):
    return hashlib.md5(b).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ffmpeg_frames(pix_fmt="bgr24", n=NFRAMES, w=W, h=H, rate=25):
    """n frames of lavfi testsrc2 as raw pix_fmt bytes, one per element."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
         f"testsrc2=size={w}x{h}:rate={rate}", "-frames:v", str(n),
         "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
        check=True, stdout=subprocess.PIPE, timeout=60).stdout
    size = int(w * h * BPP[pix_fmt])
    assert len(out) == n * size
    return [out[i * size:(i + 1) * size] for i in range(n)]


def to_bgr24(frame, pix_fmt):
    """What display -o raw:- must make of a frame of pix_fmt."""
    if pix_fmt == "bgr24":
        return frame
    if pix_fmt == "gray":
        return bytes(b for px in frame for b in (px, px, px))
    out = bytearray(frame)
    out[0::3], out[2::3] = frame[2::3], frame[0::3]
    return bytes(out)


def framemd5(stdout):
    """Per-frame md5 sums from ffmpeg -f framemd5 output."""
    sums = []
    for line in stdout.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        sums.append(line.split(",")[-1].strip())
    return sums


def unpack(data):
    """Every frame map in data."""
    u = msgpack.Unpacker(raw=False, max_buffer_size=1 << 30)
    u.feed(data)
    return list(u)


def summary(frames):
    return [(f["stream"], f["seq"], f["w"], f["h"], f["stride"], f["fmt"],
             f["enc"], md5(f["data"])) for f in frames]


def stats_lines(stderr):
    out = []
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def run(args, stdin=None, timeout=60):
    return subprocess.run(args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def header_map(w, h, stride, size, fmt="bgr24", enc="raw", seq=0):
    return {"v": 1, "stream": "cam0", "seq": seq, "t_real": time.time_ns(),
            "t_mono": time.monotonic_ns(), "w": w, "h": h, "stride": stride,
            "fmt": fmt, "enc": enc, "size": size}


def frame_map_bytes(hdr, declared):
    """A frame map whose "data" bin header declares `declared` bytes; the
    payload itself is left to the caller."""
    body = msgpack.packb(hdr)
    assert body[0] == 0x80 | len(hdr)
    return (bytes([0x80 | (len(hdr) + 1)]) + body[1:] +
            msgpack.packb("data") + b"\xc6" + declared.to_bytes(4, "big"))


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """30 test: frames of 160x120 at 30 fps, recorded with -o -."""
    path = tmp_path_factory.mktemp("rec") / "rec.vpk"
    with open(path, "wb") as f:
        r = subprocess.run(
            [prog("capture"), "-i", "test:", "--size", "160x120", "--fps",
             "30", "-n", "30", "-o", "-"], stdout=f,
            stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    return path


# --- ffmpeg in, vidpipe through pipes, ffmpeg out ------------------------

@pytest.mark.parametrize("pix_fmt", ["bgr24", "rgb24", "gray"])
def test_ffmpeg_through_pipes_exact(pix_fmt):
    src = ffmpeg_frames(pix_fmt)
    want = [md5(to_bgr24(f, pix_fmt)) for f in src]
    cmd = (
        f"{prog('capture')} -i raw:- --size {W}x{H} --pix-fmt {pix_fmt} "
        f"--fps 0 -o - | {prog('relay')} -i - -o - | "
        f"{prog('display')} -i - -o raw:- | "
        f"ffmpeg -nostdin -loglevel error -f rawvideo -pix_fmt bgr24 "
        f"-s {W}x{H} -i - -f framemd5 -; "
        "echo \"status ${PIPESTATUS[*]}\" >&2")
    r = subprocess.run(["bash", "-c", cmd], input=b"".join(src),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    err = r.stderr.decode()
    assert "status 0 0 0 0" in err, err
    got = framemd5(r.stdout)
    assert len(got) == NFRAMES
    assert got == want
    # display said what geometry it writes, once.
    assert err.count(f"raw:- writes {W}x{H} bgr24") == 1


def test_ffmpeg_jpeg_pipe_keeps_frames():
    """--codec jpeg on the pipe: every frame arrives, right size, close."""
    src = ffmpeg_frames("bgr24", n=10)
    cap = run([prog("capture"), "-i", "raw:-", "--size", f"{W}x{H}",
               "--codec", "jpeg", "--quality", "95", "-o", "-"],
              stdin=b"".join(src))
    assert cap.returncode == 0, cap.stderr
    frames = unpack(cap.stdout)
    assert [f["enc"] for f in frames] == ["jpeg"] * 10
    disp = run([prog("display"), "-i", "-", "-o", "raw:-"], stdin=cap.stdout)
    assert disp.returncode == 0, disp.stderr
    size = W * H * 3
    assert len(disp.stdout) == 10 * size
    for i, f in enumerate(src):
        out = disp.stdout[i * size:(i + 1) * size]
        diff = sum(abs(a - b) for a, b in zip(f[::97], out[::97]))
        assert diff / len(f[::97]) < 12


@pytest.mark.parametrize("via, pix_fmt", [
    ("shm", "bgr24"), ("tcp", "bgr24"), ("jpeg", "bgr24"),
    ("shm", "yuv420p"), ("tcp", "yuv420p")])
def test_tcp_relay_from_pipe_checksums(via, pix_fmt, tmp_path):
    """ffmpeg | capture -o - | relay -i - -o tcp://; display connects first
    and every frame it gets equals the source frame with that seq (through
    the relay's own shm ring, raw payloads over TCP, or JPEG).  The
    capture makes a frame each time the test says (capture_step): until
    the display has one (frames before its subscription reached the relay
    go to nobody), then each next one once the display has written the
    last: every one of those arrives, in order."""
    src = ffmpeg_frames(pix_fmt)
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    fifo = str(tmp_path / "steps")
    os.mkfifo(fifo)
    steps = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    opts = {"shm": [], "tcp": ["--no-shm"], "jpeg": ["--variant", "jpeg"]}
    disp = subprocess.Popen([prog("display"), "-i", url, "-o", "-",
                             "--no-verify", "--stats-json"] + opts[via],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cap = subprocess.Popen(
        [prog("capture"), "-i", "raw:-", "--size", f"{W}x{H}", "--pix-fmt",
         pix_fmt, "--fps", "25", "-o", "-"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=fault_env("capture_step=" + fifo))
    relay = subprocess.Popen([prog("relay"), "-i", "-", "-o", url,
                              "--stats-json"], stdin=cap.stdout,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    cap.stdout.close()
    threading.Thread(target=_feed, args=(cap.stdin, b"".join(src)),
                     daemon=True).start()
    made = Lines(cap.stderr)
    frames, cv = [], threading.Condition()

    def read_frames():
        u = msgpack.Unpacker(raw=False, max_buffer_size=1 << 30)
        while True:
            chunk = os.read(disp.stdout.fileno(), 1 << 20)
            if not chunk:
                break
            u.feed(chunk)
            for f in u:
                with cv:
                    frames.append(f)
                    cv.notify_all()
    reader = threading.Thread(target=read_frames, daemon=True)
    reader.start()

    def step():
        """One frame made; its seq (they count from 0)."""
        n = made.count(" made")
        os.write(steps, b"s")
        made.wait(lambda m: m.count(" made") > n, 15, "a frame made")
        return n

    def arrived(seq, timeout):
        with cv:
            return cv.wait_for(lambda: any(f["seq"] == seq for f in frames),
                               timeout)
    try:
        seq = step()
        while not arrived(seq, 1.0):
            assert seq < NFRAMES - 10, "no frame reached the display"
            seq = step()
        first = seq
        while seq < NFRAMES - 1:
            seq = step()
            assert arrived(seq, 15), "frame %d did not arrive" % seq
        os.write(steps, b"s")  # the next frame is the end of its input
        assert cap.wait(timeout=10) == 0
        assert relay.wait(timeout=10) == 0  # EOF on stdin: status 0
    finally:
        disp.send_signal(signal.SIGTERM)
        assert disp.wait(timeout=10) == 0
        reader.join(10)
        for p in (relay, cap):
            p.kill()
            p.wait()
        os.close(steps)
    want = [md5(f) for f in src]
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), seqs
    assert set(range(first, NFRAMES)) <= set(seqs), (first, seqs)
    for f in frames:
        assert (f["w"], f["h"], f["fmt"]) == (W, H, pix_fmt)
        if via == "jpeg":  # lossy: close to the source, not equal
            a, b = f["data"][::101], src[f["seq"]][::101]
            assert sum(abs(x - y) for x, y in zip(a, b)) / len(a) < 12
        else:
            assert md5(f["data"]) == want[f["seq"]], f["seq"]
    shown = stats_lines(disp.stderr.read())[-1]
    assert shown["path"] == ("shm" if via == "shm" else "tcp")
    final = stats_lines(relay.stderr.read())[-1]
    assert final["event"] == "exit" and final["path"] == "pipe"
    assert final["frames"] == NFRAMES


# --- recording and replay ------------------------------------------------

def paced_replay(args, timeout=30):
    """Runs capture args (a replay to -o -) with fault pace_trace: returns
    (frames, {seq: when it was due, CLOCK_MONOTONIC ns})."""
    r = subprocess.run([prog("capture")] + args, capture_output=True,
                       timeout=timeout, env=fault_env("pace_trace"))
    assert r.returncode == 0, r.stderr
    due = {}
    for line in r.stderr.decode().splitlines():
        if "fault pace_trace: frame " in line:
            w = line.split()
            due[int(w[-3])] = int(w[-1])
    return unpack(r.stdout), due


def check_pace(rec, frames, due, speed=1):
    """The replay kept the recording's pace, exactly: each frame due the
    recorded interval (over speed) after the one before, and none
    published before it was due (its capture time is when it was
    published).  How late a frame went is the machine's business."""
    assert [f["seq"] for f in frames] == sorted(due), (frames, due)
    for (a, b), (fa, fb) in zip(zip(rec, rec[1:]), zip(frames, frames[1:])):
        want = int((b["t_mono"] - a["t_mono"]) / speed)
        assert due[fb["seq"]] - due[fa["seq"]] == want, (fa["seq"], want)
    for f in frames:
        assert f["t_mono"] >= due[f["seq"]], (f["seq"], f["t_mono"])


def test_record_replay_same_frames(recording):
    rec = unpack(recording.read_bytes())
    assert [f["seq"] for f in rec] == list(range(30))
    frames, due = paced_replay(["-i", str(recording), "-o", "-"])
    assert summary(frames) == summary(rec)
    check_pace(rec, frames, due)


def test_replay_speed_halves_time(recording):
    rec = unpack(recording.read_bytes())
    frames, due = paced_replay(["-i", str(recording), "--speed", "2", "-o",
                                "-"])
    assert len(frames) == 30
    check_pace(rec, frames, due, speed=2)


def test_replay_loop_continues_seq(recording):
    rec = unpack(recording.read_bytes())
    r = run([prog("capture"), "-i", str(recording), "--loop", "--fps", "0",
             "-n", "75", "-o", "-"])
    assert r.returncode == 0, r.stderr
    frames = unpack(r.stdout)
    assert [f["seq"] for f in frames] == list(range(75))
    for f in frames:
        assert md5(f["data"]) == md5(rec[f["seq"] % 30]["data"])


def test_replay_keeps_each_frames_geometry(tmp_path, recording):
    small = run([prog("capture"), "-s", "cam1", "--size", "64x48", "--fps",
                 "0", "-n", "5", "-o", "-"])
    assert small.returncode == 0
    mixed = tmp_path / "mixed.vpk"
    mixed.write_bytes(recording.read_bytes() + small.stdout)
    want = summary(unpack(mixed.read_bytes()))
    r = run([prog("capture"), "-i", str(mixed), "--fps", "0", "-o", "-"])
    assert r.returncode == 0, r.stderr
    assert summary(unpack(r.stdout)) == want
    # The stream output of display follows the size change too.
    d = run([prog("display"), "-i", "-", "-o", "-"], stdin=mixed.read_bytes())
    assert d.returncode == 0, d.stderr
    assert [(f["w"], f["h"]) for f in unpack(d.stdout)] == \
        [(160, 120)] * 30 + [(64, 48)] * 5


def test_raw_output_refuses_size_change(recording, tmp_path):
    small = run([prog("capture"), "--size", "64x48", "--fps", "0", "-n", "2",
                 "-o", "-"]).stdout
    d = run([prog("display"), "-i", "-", "-o", "raw:-"],
            stdin=recording.read_bytes() + small)
    assert d.returncode == 1
    assert len(d.stdout) == 30 * 160 * 120 * 3
    assert "64x48" in d.stderr.decode() and "160x120" in d.stderr.decode()


@pytest.mark.parametrize("via", ["shm", "tcp"])
def test_replay_to_zmq(recording, via):
    """A replay published over ZeroMQ reaches a display through capture's
    own shm ring or as payloads; test: pixels verify against seq."""
    url = f"tcp://127.0.0.1:{free_port()}"
    cap = subprocess.Popen([prog("capture"), "-i", str(recording), "--loop",
                            "-o", url], stderr=subprocess.DEVNULL)
    try:
        r = run([prog("display"), "-i", url, "-o", "null", "-n", "20",
                 "--stats-json", "-t", "10"] +
                (["--no-shm"] if via == "tcp" else []), timeout=30)
    finally:
        cap.send_signal(signal.SIGTERM)
        assert cap.wait(timeout=10) == 0
    assert r.returncode == 0, r.stderr
    final = stats_lines(r.stderr)[-1]
    assert final["frames"] == 20 and final["verified"] == 20
    assert final["mismatch"] == 0 and final["path"] == via


def test_relay_takes_recording_at_full_speed(recording):
    """A relay forwards a stream as it comes, whatever its frames' times:
    a recording whose frames were captured 100 s apart (2900 s in all)
    goes through at once."""
    frames = unpack(recording.read_bytes())
    for i, f in enumerate(frames):
        f["t_mono"] = frames[0]["t_mono"] + i * 100 * 10 ** 9
        f["t_real"] = frames[0]["t_real"] + i * 100 * 10 ** 9
    slow = b"".join(msgpack.packb(f) for f in frames)
    r = run([prog("relay"), "-i", "-", "-o", "-"], stdin=slow, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == slow


def test_eof_ends_with_final_stats(recording):
    r = run([prog("display"), "-i", "-", "-o", "null", "--stats-json"],
            stdin=recording.read_bytes())
    assert r.returncode == 0, r.stderr
    final = stats_lines(r.stderr)[-1]
    assert final["event"] == "exit"
    assert final["frames"] == 30 and final["verified"] == 30
    assert final["path"] == "pipe"


# --- broken, truncated and hostile streams ------------------------------

def frame_offsets(data):
    u = msgpack.Unpacker(raw=False, max_buffer_size=1 << 30)
    u.feed(data)
    offs = []
    while True:
        offs.append(u.tell())
        try:
            next(u)
        except StopIteration:
            return offs[:-1]


READERS = [
    ["relay", "-i", "-", "-o", "-"],
    ["display", "-i", "-", "-o", "null"],
    ["capture", "-i", "-", "--fps", "0", "-o", "-"],
    ["inspect", "-i", "-"],
]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_truncated_stream_names_offset(recording, reader):
    data = recording.read_bytes()
    offs = frame_offsets(data)
    cut = offs[3] + 1000
    r = run([prog(reader[0])] + reader[1:], stdin=data[:cut])
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "truncated" in err and f"byte offset {offs[3]} " in err, err


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_corrupt_stream_names_offset(recording, reader):
    data = bytearray(recording.read_bytes())
    offs = frame_offsets(bytes(data))
    data[offs[2]] = 0xc1
    r = run([prog(reader[0])] + reader[1:], stdin=bytes(data))
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert f"corrupt stream at byte offset {offs[2]}:" in err, err


def test_bad_header_names_offset(recording):
    data = recording.read_bytes()
    offs = frame_offsets(data)
    bad = header_map(10, 10, 5, 50)  # stride below width * 3
    bad["data"] = bytes(50)
    r = run([prog("relay"), "-i", "-", "-o", "-"],
            stdin=data[:offs[1]] + msgpack.packb(bad))
    err = r.stderr.decode()
    assert r.returncode == 1
    assert f"bad frame at byte offset {offs[1]}:" in err and "stride" in err


def sanitized(name):
    """True for a binary built with AddressSanitizer (make asan), whose
    shadow memory makes virtual size meaningless; there ASan's allocator
    limit does the checking instead."""
    return b"__asan_init" in Path(prog(name)).read_bytes()


def vm_status_mb(pid, key):
    """A /proc/PID/status figure in MB; None once the process has exited
    (or its memory is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stopped_peaks_mb(p, timeout=30):
    """Waits for child p to stop itself at its exit (fault exit_stop),
    reads its peak virtual and resident sizes (VmPeak, VmHWM: the
    kernel's, of the program's own image, not of the test process it was
    forked from), and lets it go on to exit."""
    deadline = time.monotonic() + timeout
    while True:
        wpid, status = os.waitpid(p.pid, os.WUNTRACED | os.WNOHANG)
        if wpid and os.WIFSTOPPED(status):
            break
        assert not wpid, "exited without stopping: status %d" % status
        assert time.monotonic() < deadline, "did not stop (exit_stop)"
        time.sleep(0.01)
    peaks = vm_status_mb(p.pid, "VmPeak"), vm_status_mb(p.pid, "VmHWM")
    os.kill(p.pid, signal.SIGCONT)
    return peaks


@pytest.mark.parametrize("declared,arrives,message", [
    (0xFFFFFFFF, 0, "over the limit"),
    (1 << 30, 8 << 20, "truncated"),
], ids=["4GB", "1GB-cut-short"])
def test_huge_declared_bin_small_memory(tmp_path, declared, arrives,
                                        message):
    """A frame declaring a 4 GB or 1 GB payload, of which nothing or 8 MB
    arrives: the relay refuses it with status 1, and its peaks (read at
    its exit) show it allocated what arrived, not what was declared."""
    side = 16384
    hdr = header_map(side, side, side * 4, 1 << 30)
    stream = frame_map_bytes(hdr, declared) + bytes(arrives)
    errf = tmp_path / "err"
    asan = sanitized("relay")
    env = fault_env("exit_stop")
    env["ASAN_OPTIONS"] = "max_allocation_size_mb=256:" \
        "allocator_may_return_null=1"
    with open(errf, "wb") as err:
        p = subprocess.Popen([prog("relay"), "-i", "-", "-o", "-"],
                             stdin=subprocess.PIPE, env=env,
                             stdout=subprocess.DEVNULL, stderr=err)
        t = threading.Thread(target=_feed, args=(p.stdin, stream),
                             daemon=True)
        t.start()
        try:
            peak, resident = stopped_peaks_mb(p)
            p.wait(10)
        finally:
            p.kill()
            p.wait()
            t.join(10)
    text = errf.read_text()
    assert p.returncode == 1, text
    assert message in text and "byte offset 0" in text, text
    if asan:  # shadow memory and quarantine: only the allocator limit
        return
    assert resident < 64, f"peak RSS {resident} MB"
    assert peak < 256, f"VmPeak {peak} MB"


def test_raw_input_truncated():
    src = ffmpeg_frames("bgr24", n=3)
    data = b"".join(src)[:-100]
    r = run([prog("capture"), "-i", "raw:-", "--size", f"{W}x{H}", "-o",
             "-"], stdin=data)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert len(unpack(r.stdout)) == 2
    assert f"at byte offset {2 * W * H * 3} " in err, err


@pytest.mark.parametrize("writer", [
    ["capture", "--size", "320x240", "--fps", "0", "-o", "-"],
    ["capture", "-i", "raw:-", "--size", f"{W}x{H}", "-o", "-"],
    ["relay", "-i", "-", "-o", "-"],
    ["display", "-i", "-", "-o", "raw:-"],
    ["display", "-i", "-", "-o", "-"],
], ids=lambda w: " ".join(w[:5]))
def test_closed_stdout_ends_cleanly(writer, tmp_path, recording):
    """The reader of stdout exits early: EPIPE, status 0, final stats."""
    if writer[0] == "capture" and "raw:-" in writer:
        feed = b"".join(ffmpeg_frames("bgr24", n=20))
    elif writer[0] != "capture":
        feed = recording.read_bytes() * 3
    else:
        feed = None
    r_fd, w_fd = os.pipe()
    errf = tmp_path / "err"
    with open(errf, "wb") as err:
        p = subprocess.Popen([prog(writer[0])] + writer[1:] +
                             ["--stats-json"],
                             stdin=subprocess.PIPE if feed else None,
                             stdout=w_fd, stderr=err)
        os.close(w_fd)
        if feed:
            threading.Thread(target=_feed, args=(p.stdin, feed),
                             daemon=True).start()
        os.read(r_fd, 1000)
        os.close(r_fd)
        status = p.wait(timeout=20)
    text = errf.read_text()
    assert status == 0, text
    assert stats_lines(text.encode())[-1]["event"] == "exit"


def _feed(f, data):
    try:
        f.write(data)
        f.close()
    except (BrokenPipeError, ValueError):
        pass


def test_sigint_while_reading_stdin_ends_cleanly():
    p = subprocess.Popen([prog("relay"), "-i", "-", "-o", "-",
                          "--stats-json"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # It says what runs once its signal handlers are in place.
    first = p.stderr.readline().decode()
    assert "- -> -" in first, first
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 0
    assert stats_lines(p.stderr.read())[-1]["event"] == "exit"
    p.stdin.close()


# --- vidpipe-inspect ------------------------------------------------------

def test_inspect_stdin_json(recording):
    data = recording.read_bytes()
    r = run([prog("inspect"), "-i", "-"], stdin=data)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
    rec = unpack(data)
    assert len(lines) == 30
    assert [l["offset"] for l in lines] == frame_offsets(data)
    for l, f in zip(lines, rec):
        for k in ("v", "stream", "seq", "t_real", "t_mono", "w", "h",
                  "stride", "fmt", "enc", "size"):
            assert l[k] == f[k], k
        assert l["data_len"] == len(f["data"])
    r = run([prog("inspect"), "-i", "-", "-n", "4", "--variant", "raw"],
            stdin=data)
    assert len(r.stdout.decode().splitlines()) == 4


def test_inspect_zmq_json():
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    cap = subprocess.Popen([prog("capture"), "--size", "320x240", "-o", url],
                           stderr=subprocess.DEVNULL)
    try:
        r = run([prog("inspect"), "-i", url, "--variant", "jpeg", "-n", "3"],
                timeout=20)
    finally:
        cap.send_signal(signal.SIGTERM)
        cap.wait(timeout=10)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
    assert len(lines) == 3
    for l in lines:
        assert l["variant"] == "jpg" and l["enc"] == "jpeg"
        assert (l["w"], l["h"], l["stream"]) == (320, 240, "cam0")
        assert 0 < l["data_len"] == l["size"]
    assert [l["seq"] for l in lines] == sorted(l["seq"] for l in lines)
