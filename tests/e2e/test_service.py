"""test_service.py -- capture and relay run as systemd services
(docs/GATEWAY.md "Running as a service").

The units in tools/systemd pass `systemd-analyze verify`.  The programs
speak sd_notify(3)'s protocol to a datagram socket this test serves, as
systemd would be told: READY=1 once their output is bound, WATCHDOG=1
from their main loop every half of $WATCHDOG_USEC, STOPPING=1 when they
stop; and a relay whose main loop is stopped (fault loop_stall) feeds
the watchdog no more, though its other threads run on.
"""

import configparser
import glob
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, HERE, Fifo, ep_port, free_ep

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
UNITS = os.path.join(ROOT, "tools", "systemd")
# Half of it is the feeding period: 1 s.
WATCHDOG_USEC = 2000000
STALLED = re.compile(r"fault loop_stall: this thread stops here")


class NotifySocket:
    """What systemd serves at $NOTIFY_SOCKET: a datagram socket, one
    message per datagram, newline-separated KEY=VALUE lines."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def env(self, watchdog_usec=None):
        e = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        return e

    def next(self, timeout):
        """The next message as {KEY: VALUE} with "_rx" its arrival
        (monotonic s), or None if none came within timeout s."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        msg = dict(line.split("=", 1)
                   for line in data.decode().split("\n") if "=" in line)
        msg["_rx"] = time.monotonic()
        return msg

    def wait_for(self, key, timeout, proc):
        """The next message that has key (messages before it are
        skipped), failing the test after timeout s."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            msg = self.next(max(left, 0)) if left > 0 else None
            if msg is None:
                pytest.fail("no %s within %.1f s from %s"
                            % (key, timeout, proc.describe()))
            if key in msg:
                return msg

    def drain(self):
        """Every message already queued."""
        got = []
        while True:
            msg = self.next(0.001)
            if msg is None:
                return got
            got.append(msg)

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    ns = NotifySocket(tmp_path / "notify")
    yield ns
    ns.close()


def bound(ep):
    """Whether something accepts TCP connections at ep now."""
    try:
        socket.create_connection(("127.0.0.1", ep_port(ep)), 2).close()
        return True
    except OSError:
        return False


def watchdog_feeds(notify, n, proc):
    """The arrival times of the next n WATCHDOG=1 messages sent from now
    on, checked to come before systemd's watchdog would have fired."""
    notify.drain()  # queued while the test did something else
    times = []
    for _ in range(n):
        msg = notify.wait_for("WATCHDOG", 3 * WATCHDOG_USEC / 1e6, proc)
        assert msg["WATCHDOG"] == "1", msg
        times.append(msg["_rx"])
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Fed every half period: never as late as a whole one, and not
    # spammed (on average: each is timed on arrival here).
    assert max(gaps) < WATCHDOG_USEC / 1e6, (gaps, proc.describe())
    assert sum(gaps) / len(gaps) > 0.4 * WATCHDOG_USEC / 1e6, gaps
    return times


LOG_LINE = re.compile(r"^vidpipe[-\w]*: ")


def one_line_logs(proc):
    """Every stderr line is a JSON report or a whole log line of its own
    (journald keeps one entry per line)."""
    bad = [l for l in proc.lines
           if not l.startswith("{") and not LOG_LINE.match(l)]
    assert not bad, bad


def test_units_verify(tmp_path):
    """The units as `make install` writes them (the programs' directory
    for @BINDIR@) load without a warning, with the settings the service
    depends on."""
    made = {}
    for src in sorted(glob.glob(os.path.join(UNITS, "*.service.in"))):
        name = os.path.basename(src)[:-len(".in")]
        with open(src) as f:
            text = f.read().replace("@BINDIR@", BIN)
        (tmp_path / name).write_text(text)
        made[name] = text
    assert sorted(made) == ["vidpipe-capture@.service",
                            "vidpipe-relay@.service"]
    # An instance of each template, as `systemctl start` would load it.
    instances = [str(tmp_path / n.replace("@.", "@gw.")) for n in made]
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"]
                       + instances, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and not r.stdout and not r.stderr, (
        r.returncode, r.stdout, r.stderr)
    for name, text in made.items():
        prog = name.split("@")[0]
        short = prog[len("vidpipe-"):]
        u = configparser.ConfigParser(strict=False, interpolation=None)
        u.optionxform = str
        u.read_string(text)
        s = u["Service"]
        assert s["Type"] == "notify"
        assert s["Restart"] == "on-failure"
        assert s["WatchdogSec"] == "10s"
        assert s["EnvironmentFile"] == "/etc/vidpipe/%s-%%i.conf" % short
        assert s["ExecStart"] == "%s/%s $VIDPIPE_ARGS" % (BIN, prog)
        # Shared memory and ports stay usable: the host's /dev/shm, and
        # no private IPC namespace or address-family filter against TCP.
        assert s.get("PrivateIPC", "no") == "no"
        assert "AF_INET" in s["RestrictAddressFamilies"].split()
        assert u["Unit"]["Documentation"] == "man:%s(1)" % prog
        assert os.path.exists(os.path.join(ROOT, "docs", "man",
                                           prog + ".h2m"))


def test_relay_ready_watchdog_and_stalled_loop(procs, notify, tmp_path):
    """READY=1 once -o is bound, then WATCHDOG=1 every half period; once
    loop_stall stops its main loop, no more, while the process lives."""
    stall = Fifo(str(tmp_path / "stall"))
    procs.fifos.append(stall)
    cap_ep, rel_ep = free_ep(), free_ep()
    procs.capture(cap_ep, fps=30)
    rel = procs.relay(cap_ep, rel_ep, env=notify.env(WATCHDOG_USEC),
                      faults={"loop_stall": stall.path})
    ready = notify.wait_for("READY", 15, rel)
    assert ready["READY"] == "1" and ready["STATUS"] == (
        "1 input -> %s" % rel_ep), ready
    assert bound(rel_ep), rel.describe()
    procs.display(rel_ep)  # the relay asks upstream for what it is asked
    rel.wait_frames(10, 15)  # frames through the loop it feeds from
    watchdog_feeds(notify, 3, rel)

    stall.step()
    rel.next_match(STALLED, 10, "the loop to stop")
    notify.drain()  # fed before it stopped
    # Twice the watchdog's period: systemd would have fired once, and a
    # fed watchdog would have had four messages.
    late = notify.next(2 * WATCHDOG_USEC / 1e6)
    assert late is None, (late, rel.describe())
    # Alive, its ZeroMQ threads serving: only the loop has stopped.
    assert rel.alive() and bound(rel_ep), rel.describe()
    one_line_logs(rel)


def test_capture_ready_watchdog_stopping(procs, notify):
    """READY=1 once -o is bound, WATCHDOG=1 from its loop, STOPPING=1 on
    SIGTERM, then a clean exit."""
    ep = free_ep()
    cap = procs.capture(ep, fps=30, env=notify.env(WATCHDOG_USEC))
    ready = notify.wait_for("READY", 15, cap)
    assert ready["READY"] == "1" and ready["STATUS"] == (
        "test: -> %s" % ep), ready
    assert bound(ep), cap.describe()
    watchdog_feeds(notify, 3, cap)
    cap.kill(signal.SIGTERM)
    stopping = notify.wait_for("STOPPING", 10, cap)
    assert stopping["STOPPING"] == "1", stopping
    assert cap.wait() == 0
    one_line_logs(cap)

