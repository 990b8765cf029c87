"""test_demo.py -- `make demo` as a new user sees it, on a terminal.

It runs under a pseudo-terminal without $DISPLAY: the first lines say what
runs and how to see more, then one status line updates in place, the
display's, reporting verified frames over shared memory; Ctrl-C stops all
three programs and leaves a one-line summary.
"""

import os
import pty
import re
import select
import signal
import time

from conftest import HERE, free_ep

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def read_for(fd, seconds, until=None):
    """What the terminal shows within seconds (or until until(out))."""
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child side closed
            break
        if not chunk:
            break
        out += chunk
        if until and until(out):
            break
    return out


def status_lines(out):
    """The lines drawn in place: after a carriage return, ended by the
    erase-to-end-of-line a status line closes with."""
    return re.findall(r"\r([^\r\n]*?)\x1b\[K(?![\r\n]*\x1b)", out.decode(
        "utf-8", "replace"))


def procs_with(text):
    """Pids of processes whose command line mentions text."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_demo_on_a_terminal():
    cap_ep, rel_ep = free_ep(), free_ep()
    env = dict(os.environ)
    for k in ("DISPLAY", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        env.pop(k, None)
    env.update(DEMO_CAPTURE_EP=cap_ep, DEMO_RELAY_EP=rel_ep, TERM="xterm",
               COLUMNS="80", LINES="24")
    pid, fd = pty.fork()
    if pid == 0:  # the child: make demo on the pty
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "demo"], env)
    try:
        # Three updates after the first one with verified frames.
        out = read_for(fd, 30, lambda o: len([
            s for s in status_lines(o) if "verified" in s]) >= 3)
        text = out.decode("utf-8", "replace")
        lines = status_lines(out)
        assert len([s for s in lines if "verified" in s]) >= 3, text

        # The first lines say what runs and how to see more.
        assert cap_ep in text and rel_ep in text, text
        assert "another viewer" in text and "vidpipe-display -i " + rel_ep \
            in text, text
        assert "--stats-json" in text and "Ctrl-C" in text, text
        # Only the display's status line updates; nobody else speaks.
        assert all(s.startswith("display:") for s in lines), lines
        assert "capture:" not in text and "relay:" not in text, text
        assert "error" not in text and "warning" not in text, text
        last = lines[-1]
        m = re.search(r"verified (\d+)", last)
        assert m and int(m.group(1)) > 0, last
        assert last.rstrip().endswith("shm"), last
        assert "mismatch" not in last and "torn" not in last, last

        # Ctrl-C: all three stop, and one summary line is left.
        os.write(fd, b"\x03")
        out = read_for(fd, 15)
        _, status = os.waitpid(pid, 0)
        pid = 0
        tail = out.decode("utf-8", "replace")
        assert re.search(r"display: \d+ frames in [\d.]+ s", tail), tail
        assert len(re.findall(r"frames in", tail)) == 1, tail
        deadline = time.monotonic() + 5
        while procs_with(rel_ep) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not procs_with(rel_ep), "still running: %s" % procs_with(
            rel_ep)
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for p in procs_with(rel_ep):
            os.kill(p, signal.SIGKILL)
        os.close(fd)
