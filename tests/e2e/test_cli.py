"""test_cli.py -- command lines, exit statuses, signals, --timeout.

README "Exit status": 0 done or stopped by SIGINT/SIGTERM, 1 runtime
failure (e.g. --timeout), 2 bad arguments or an unusable source, sink or
endpoint -- with one line on stderr saying what is wrong.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import free_ep, prog, run_cmd

PROGS = ["capture", "relay", "display"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM],
                         ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("target", PROGS)
def test_signal_stops_cleanly(procs, target, sig):
    cap_ep, rel_ep = free_ep(), free_ep()
    ps = {"capture": procs.capture(cap_ep),
          "relay": procs.relay(cap_ep, rel_ep),
          "display": procs.display(rel_ep)}
    ps["display"].wait_for(lambda p: p.value("verified") >= 10, 15,
                           "frames flowing")
    p = ps[target]
    p.kill(sig)
    t0 = time.monotonic()
    assert p.wait(10) == 0, p.describe()
    took = time.monotonic() - t0
    print("\n%s stopped %.2f s after %s" % (target, took, sig.name))
    st = p.exit_stats()
    assert st is not None, "no exit stats line: %s" % p.describe()
    assert st["frames"] > 0, st
    # The exit line is the last thing it printed.
    assert p.lines[-1].startswith("{") and '"event":"exit"' in p.lines[-1], \
        p.describe()
    # The others carry on.
    for name, other in ps.items():
        if name != target:
            assert other.alive(), other.describe()


def _bound_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, "tcp://127.0.0.1:%d" % s.getsockname()[1]


def usage_cases():
    ep = "tcp://127.0.0.1:1"  # never bound or connected: parsing fails
    return [
        ("capture", ["--size", "0x0"]),
        ("capture", ["--size", "640"]),
        ("capture", ["--fps", "-1"]),
        ("capture", ["--frames", "0"]),
        ("capture", ["--quality", "101"]),
        ("capture", ["--codec", "h265"]),
        ("capture", ["--stream", "bad name"]),
        ("capture", ["-i", "test:bogus"]),
        ("capture", ["-o", "udp://127.0.0.1:5"]),
        ("capture", ["-o", "tcp://127.0.0.1:70000"]),
        ("capture", ["-o", "tcp://no.such.host.invalid:5555"]),
        ("capture", ["extra-argument"]),
        ("relay", ["-i", "bogus"]),
        ("relay", ["-i", "tcp://:5"]),
        ("relay", ["-o", "tcp://127.0.0.1:notaport"]),
        ("relay", ["-i", ep, "-o", "tcp://no.such.host.invalid:5"]),
        ("relay", ["-i", ep, "extra"]),
        ("display", ["-i", ep, "-o", "bogus"]),
        ("display", ["-i", ep, "-o", "png:/nonexistent/dir"]),
        ("display", ["-i", ep, "--variant", "h265"]),
        ("display", ["-i", ep, "--frames", "0"]),
        ("display", ["-i", ep, "--timeout", "soon"]),
        ("display", ["-i", ep, "--sink-delay", "-5"]),
        ("display", ["-i", ep, "--stream", "a/b"]),
        ("display", ["-i", "udp://127.0.0.1:5"]),
        ("display", ["-i", ep, "extra"]),
        # Renamed flags: the old spellings are refused, not misread.
        ("capture", ["-q", "100"]),  # -q is --quiet: 100 is left over
        ("display", ["-i", ep, "--fps", "30"]),  # files follow the stamps
        ("display", ["-i", ep, "--codec", "jpeg"]),  # --variant
        ("display", ["-i", ep, "--pix-fmt", "gray"]),  # --out-pix-fmt
        ("relay", ["-i", ep, "--codec", "jpeg"]),  # --variant
        ("display", ["-i", ep, "-o", "out.avi"]),  # one fixed rate
    ] + [(p, a) for p, a, _ in curve_cases()]


def curve_cases():
    """CURVE options without their partner: (program, argv, what)."""
    return [
        ("capture", ["--curve-secret", "a.key"], "no --curve-allow"),
        ("capture", ["--curve-allow", "dir"], "no --curve-secret"),
        ("display", ["--curve-server-key", "s.pub"], "no secret"),
        ("display", ["--curve-secret", "a.key"], "no server key"),
        ("relay", ["--curve-allow", "dir"], "no --curve-secret"),
        ("relay", ["--curve-client-secret", "c.key"], "no server key"),
        ("relay", ["--curve-server-key", "s.pub"], "no secret"),
        ("relay", ["--curve-secret", "a.key"], "the key for nothing"),
        ("relay", ["--curve-secret", "a.key", "--curve-client-secret",
                   "c.key", "--curve-server-key", "s.pub"],
         "the own key for nothing"),
        ("capture", ["--curve-server-key", "gw.pub"], "no secret to dial"),
        ("relay", ["--curve-allow-publishers", "cams"],
         "no secret for --listen"),
    ]


def test_curve_pairs_one_message():
    """Every program checks the CURVE pairs in one place: the same
    message, naming the pairs the program takes."""
    for p, args, what in curve_cases():
        r = run_cmd(p, *args, timeout=20)
        assert r.returncode == 2, (p, args, what, r.stderr)
        line = r.stderr.strip()
        assert line.startswith("vidpipe-%s: error: CURVE options go in pairs: "
                               % p), (p, args, what, line)
        assert ("--curve-allow " in line) == (p != "display"), line
        # A capture dialling a relay (-o connect:) takes its key too.
        assert "--curve-server-key" in line, line
        assert ("--curve-allow-publishers" in line) == (p == "relay"), line
    # The pairs complete: past the check (the files do not exist).
    for p, args in (("capture", ["--curve-secret", "a.key",
                                 "--curve-allow", "dir"]),
                    ("capture", ["--curve-secret", "a.key",
                                 "--curve-server-key", "gw.pub"]),
                    ("relay", ["--curve-secret", "a.key",
                               "--curve-allow-publishers", "cams"]),
                    ("display", ["--curve-secret", "a.key",
                                 "--curve-server-key", "s.pub"])):
        r = run_cmd(p, *args, timeout=20)
        assert "go in pairs" not in r.stderr, (p, r.stderr)


def _usage_problem(prog, args):
    r = run_cmd(prog, *args, timeout=20)
    lines = r.stderr.splitlines()
    if r.returncode != 2:
        return "rc %d (want 2), stderr %r" % (r.returncode, r.stderr)
    if len(lines) != 1:
        return "want one line on stderr, got %r" % r.stderr
    if not lines[0].startswith("vidpipe-%s: " % prog):
        return "stderr line does not name the program: %r" % lines[0]
    if r.stdout:
        return "printed on stdout: %r" % r.stdout
    return None


@pytest.mark.parametrize("prog", PROGS)
def test_usage_errors(prog):
    """Every bad command line of prog exits 2 with one line on stderr (run
    side by side: each start of a program with OpenCV takes a while)."""
    cases = [a for p, a in usage_cases() if p == prog]
    with ThreadPoolExecutor(4) as ex:
        problems = list(ex.map(lambda a: _usage_problem(prog, a), cases))
    bad = ["%s %s: %s" % (prog, " ".join(a), why)
           for a, why in zip(cases, problems) if why]
    assert not bad, "\n".join(bad)


def test_bind_in_use_is_a_usage_error():
    """An output endpoint that cannot be bound: exit 2 with one line."""
    s, ep = _bound_port()
    try:
        for prog, args in (("capture", ["-o", ep]),
                           ("relay", ["-i", free_ep(), "-o", ep])):
            r = run_cmd(prog, *args, timeout=10)
            assert r.returncode == 2, (prog, r.returncode, r.stderr)
            lines = r.stderr.splitlines()
            assert len(lines) == 1, (prog, r.stderr)
            assert "in use" in lines[0].lower(), lines
    finally:
        s.close()


def test_display_window_without_x_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    r = run_cmd("display", "-i", free_ep(), "-o", "window", env=env)
    assert r.returncode == 2, r
    assert len(r.stderr.splitlines()) == 1, r.stderr


@pytest.mark.parametrize("prog", PROGS)
def test_unknown_option(prog):
    r = run_cmd(prog, "--no-such-option")
    assert r.returncode == 2, r
    assert "no-such-option" in r.stderr.splitlines()[0], r.stderr


@pytest.mark.parametrize("prog", PROGS + ["patcheck"])
def test_help_and_version(prog):
    r = run_cmd(prog, "--help")
    assert r.returncode == 0, r
    assert r.stdout.startswith("usage: vidpipe-%s " % prog), r.stdout
    assert r.stderr == ""
    r = run_cmd(prog, "-h")
    assert r.returncode == 0 and r.stdout.startswith("usage:"), r
    r = run_cmd(prog, "--version")
    assert r.returncode == 0, r
    out = r.stdout.strip().split()
    assert out[0] == "vidpipe-" + prog and len(out) == 2, r.stdout
    assert all(x.isdigit() for x in out[1].split(".")), r.stdout
    assert r.stderr == ""


def test_patcheck_usage_errors():
    for args in ([], ["--size", "10x10"], ["--size", "64x48", "--pix-fmt",
                                           "yuv444p"], ["--size", "axb"],
                 ["--size", "65x48", "--pix-fmt", "nv12"]):
        r = run_cmd("patcheck", *args)
        assert r.returncode == 2, (args, r)
        assert len(r.stderr.splitlines()) == 1, (args, r.stderr)


def test_display_timeout(procs):
    """Nothing upstream and --timeout 1: exit 1, not before a second (of
    the display's own, which starts after t0)."""
    t0 = time.monotonic()
    dis = procs.display(free_ep(), "--timeout", 1)
    rc = dis.wait(15)
    took = time.monotonic() - t0
    assert rc == 1, dis.describe()
    assert took >= 1.0, "exited after %.2f s" % took
    assert any("no frame" in l for l in dis.log()), dis.describe()
    assert dis.exit_stats() is not None, dis.describe()


def test_display_timeout_after_stream_stops(procs):
    """--timeout counts from the last frame: the display lives on while
    frames come for longer than the timeout, and a stream that stops ends
    it with 1, saying so."""
    cap_ep = free_ep()
    cap = procs.capture(cap_ep)
    dis = procs.display(cap_ep, "--timeout", 2)
    # 4 s of its own uptime with frames (at 30 fps: 2 s between two would
    # be a machine stopped): past a timeout counted from the start.
    dis.wait_for(lambda p: p.value("verified") >= 10 and
                 p.value("uptime_s") >= 4, 15, "4 s of frames")
    assert dis.alive(), dis.describe()
    cap.kill(signal.SIGTERM)
    assert cap.wait(10) == 0
    rc = dis.wait(15)
    assert rc == 1, dis.describe()
    assert any("no frame for 2 s" in l for l in dis.log()), dis.describe()
    st = dis.exit_stats()
    assert st["frames"] >= 10 and st["mismatch"] == 0, st


# --- flags: one meaning each, none silently ignored ----------------------------

def _stderr_of(args, stdin=subprocess.DEVNULL, timeout=20):
    r = subprocess.run(args, stdin=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return r.returncode, r.stderr


def test_flag_without_effect_warns(procs):
    """A flag given where it does nothing says so, once, and the program
    runs on; the same flag where it works says nothing."""
    cap = prog("capture")
    small = ["-i", "test:", "--size", "64x48", "-n", "2"]
    cases = [
        ([cap] + small + ["-o", "-", "--quality", "50"], "--quality"),
        ([cap] + small + ["-o", "-", "--bitrate", "1M"], "--bitrate"),
        ([cap] + small + ["-o", "-", "--speed", "2"], "--speed"),
        ([cap] + small + ["-o", "-", "--loop"], "--loop"),
        ([cap] + small + ["-o", "-", "--ring", "4"], "--ring"),
        ([prog("display"), "-i", "-", "-o", "null", "--no-shm"], "--no-shm"),
        ([prog("relay"), "-i", "-", "-o", "-", "--ring", "4"], "--ring"),
        ([prog("display"), "-i", "-", "-o", "null", "--out-pix-fmt",
          "gray"], "--out-pix-fmt"),
        ([prog("display"), "-i", "-", "-o", "null", "--variant", "jpeg"],
         "--variant"),
        ([prog("relay"), "-i", "-", "-o", free_ep(), "--variant", "jpeg"],
         "--variant"),
    ]
    for args, flag in cases:
        rc, err = _stderr_of(args)
        assert rc == 0, (args, err)
        warned = [l for l in err.splitlines()
                  if "%s has no effect" % flag in l]
        assert len(warned) == 1, (args, err)
    for args in ([cap] + small + ["-o", "-", "--codec", "jpeg",
                                  "--quality", "50"],
                 [cap] + small + ["-o", "-", "--codec", "h264",
                                  "--bitrate", "1M", "--gop", "10"],
                 [prog("display"), "-i", "-", "-o", "raw:-",
                  "--out-pix-fmt", "gray"]):
        rc, err = _stderr_of(args)
        assert rc == 0 and "no effect" not in err, (args, err)
    # --codec over ZeroMQ: subscribers choose their variant.  Nobody
    # subscribes here, so the capture runs until stopped.
    c = procs.start("capture", "-i", "test:", "-o", free_ep(), "--codec",
                    "jpeg")
    c.next_match(re.compile(r"--codec has no effect: .*--variant"),
                 timeout=15)
    assert c.alive(), c.describe()


def test_quiet_short_form():
    """-q is --quiet in every program: no information lines."""
    args = ["-i", "test:", "--size", "64x48", "-n", "2", "-o", "-"]
    rc, loud = _stderr_of([prog("capture")] + args)
    assert rc == 0 and loud, loud  # it says what it runs, normally
    rc, err = _stderr_of([prog("capture"), "-q"] + args)
    assert rc == 0 and err == "", err
    for p in ("relay", "display"):
        rc, err = _stderr_of([prog(p), "-q", "-i", "-", "-o", "null"
                              if p == "display" else "-"])
        assert rc == 0 and err == "", (p, err)


def _clip(path, rate, seconds):
    r = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=320x240:rate=%d" % rate, "-t",
                        str(seconds), str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def _probe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames",
                        "-select_streams", "v:0", "-show_entries",
                        "stream=codec_name,r_frame_rate,avg_frame_rate,"
                        "nb_read_frames:format=duration", "-of", "json",
                        str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    return j["streams"][0], float(j["format"]["duration"])


@pytest.mark.parametrize("ext,variant", [("mkv", "raw"), ("mp4", "raw"),
                                         ("mkv", "h264")])
def test_recording_follows_capture_times(procs, tmp_path, ext, variant):
    """A 25 fps clip, captured at its own pace and recorded by a display,
    makes a 25 fps file that lasts as long as the frames it holds took to
    capture (it was written at 30 fps, 20 % fast, before the times came
    from the frames' t_mono stamps)."""
    clip = tmp_path / "clip.mp4"
    _clip(clip, 25, 8)
    ep = free_ep()
    n = 75
    out = tmp_path / ("rec." + ext)
    dis = procs.display(ep, "--variant", variant, "--frames", n, "-o",
                        str(out), sink=None)
    procs.start("capture", "-i", str(clip), "-o", ep)
    assert dis.wait(30) == 0, dis.describe()
    st = dis.exit_stats()
    s, duration = _probe(out)
    print("\n%s %s: %s, %.3f s, %s" % (ext, variant, s, duration, st))
    frames = int(s["nb_read_frames"])
    # H.264 starts at a keyframe: up to a GOP (60) of the first frames
    # have no file to go into.
    assert (frames == n) if variant == "raw" else (n - 60 <= frames <= n), s
    assert s["codec_name"] == ("h264" if variant == "h264" else "mpeg4"), s
    assert s["r_frame_rate"] == "25/1", s
    num, den = map(int, s["avg_frame_rate"].split("/"))
    # Frames the display had no time for leave their time in the file.
    assert 25 * 0.97 <= num / den <= 25 * 1.03 or st["drops"] > 0, (s, st)
    lo = frames / 25
    assert lo - 0.05 <= duration <= lo + 0.05 + st["drops"] / 25, \
        (duration, s, st)
