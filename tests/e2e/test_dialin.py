"""test_dialin.py -- cameras that dial in to a relay (issue 24).

The relay binds its inputs (--listen) and captures connect to it
(-o connect:EP): over TCP with CURVE, the relay letting in only the keys
in its --curve-allow-publishers directory, and over an ipc:// socket
file without CURVE.  Displays on the relay's output verify every
camera's frames by their pixels (each test: frame shows its own seq). A
capture whose key is not on the list is refused and counted, and its
stream never reaches the relay.  Two captures that claim one stream name
never mix: the relay keeps the first, drops the other's frames with a
warning and a counter, and takes the other only once the first has
gone; every frame of that name a viewer gets is of the one publisher it
was from then on (the two send different frame sizes).  Captures and the
relay are killed and restarted in any order and the frames come back by
themselves.
"""

import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from conftest import free_ep, free_port, import_vidpipe, prog

DUP_LINE = re.compile(r"warning: stream (\w+): another publisher \(from "
                      r"[^)]*\) claims its name: its frames are dropped")
REFUSED_LINE = re.compile(r"warning: refused CURVE client \S+ from \S+: "
                          r"key not in ")
SIZE, DUP_SIZE = "64x48", "96x64"


class Gateway:
    """A relay with a CURVE --listen over TCP and a plain one on an
    ipc:// socket file, its keys, and the captures and displays on it."""

    def __init__(self, procs, tmp):
        self.procs = procs
        self.keys = str(tmp / "keys")
        self.allow = str(tmp / "cams")
        os.mkdir(self.keys)
        os.mkdir(self.allow)
        for name in ("gw", "cam", "intruder"):
            subprocess.run([prog("keygen"), os.path.join(self.keys, name)],
                           check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.keys, "cam.pub")) as f, \
                open(os.path.join(self.allow, "cam.pub"), "w") as g:
            g.write(f.read())
        self.tcp = free_ep()
        self.ipc = "ipc://%s" % (tmp / "in.sock")
        self.out = free_ep()
        self.http = "127.0.0.1:%d" % free_port()
        self.relay = None
        self.cams = {}

    def start_relay(self):
        self.relay = self.procs.start(
            "relay", "--listen", self.tcp, "--listen", self.ipc,
            "-o", self.out, "--curve-secret", self.key("gw.key"),
            "--curve-allow-publishers", self.allow, "--http", self.http)
        return self.relay

    def key(self, name):
        return os.path.join(self.keys, name)

    def capture(self, name, curve=True, key="cam", size=SIZE):
        """A capture of stream name dialling in: over TCP with CURVE (its
        key key.key), or over the socket file."""
        args = ["-i", "test:", "-s", name, "--size", size, "--fps", 20]
        if curve:
            args += ["-o", "connect:" + self.tcp,
                     "--curve-secret", self.key(key + ".key"),
                     "--curve-server-key", self.key("gw.pub")]
        else:
            args += ["-o", "connect:" + self.ipc]
        p = self.procs.start("capture", *args)
        self.cams[name] = (p, curve)
        return p

    def restart(self, name):
        p, curve = self.cams[name]
        p.kill()
        p.wait()
        return self.capture(name, curve)

    def display(self, name):
        return self.procs.display(self.out, "-s", name)


def more_verified(displays, n=10, timeout=20):
    """Waits until each display has verified n frames more than now, none
    of them a mismatch."""
    base = {d: d.value("verified") for d in displays}
    for d in displays:
        d.wait_for(lambda p: p.value("verified") >= base[d] + n, timeout,
                   "%d more verified frames" % n)
        assert d.value("mismatch") == 0, d.describe()


def sizes_seen(path):
    """The frame sizes vidpipe-inspect wrote, in order, runs merged:
    [("64x48", count), ("96x64", count), ...]."""
    runs = []
    with open(path) as f:
        for line in f:
            h = json.loads(line)
            size = "%dx%d" % (h["w"], h["h"])
            if runs and runs[-1][0] == size:
                runs[-1][1] += 1
            else:
                runs.append([size, 1])
    return [tuple(r) for r in runs]


def check_dialin(procs, tmp_path, plain, curve):
    """plain and curve: stream names of captures dialling in without and
    with CURVE.  Returns the gateway, its displays by name."""
    gw = Gateway(procs, tmp_path)
    rel = gw.start_relay()
    for name in plain:
        gw.capture(name, curve=False)
    for name in curve:
        gw.capture(name)
    shown = {name: gw.display(name) for name in plain + curve}
    more_verified(shown.values(), 20, 60)
    rel.wait_for(lambda p: p.value("dialin_open") >= len(plain + curve), 10,
                 "every capture connected")
    assert rel.value("dialin_connections") >= len(plain + curve)
    return gw, shown


def test_dialin_curve_refusal_duplicate_restart(procs, tmp_path):
    """Four cameras: plain and CURVE, one refused, one name claimed
    twice; a capture and the relay killed and restarted."""
    gw, shown = check_dialin(procs, tmp_path, ["door", "yard"], ["gate"])
    rel = gw.relay

    # A key not on the list: refused, counted, logged; never carried.
    gw.capture("intruder", key="intruder")
    rel.wait_for(lambda p: p.value("dialin_refused") >= 1, 10,
                 "a refused handshake")
    rel.next_match(REFUSED_LINE, 10, "the refusal logged")
    assert rel.value("streams") == 3, rel.describe()

    # A second publisher of door, of another frame size: dropped and
    # counted while the first sends; door's viewers see only the first
    # one's frames until it goes, then only the second one's.
    log = tmp_path / "door.jsonl"
    with open(log, "w") as out:
        look = procs.start("inspect", "-i", gw.out, "-s", "door",
                           "--variant", "raw", stats=False, stdout=out)
    more_verified([shown["door"]], 10)
    dup = procs.start("capture", "-i", "test:", "-s", "door", "--size",
                      DUP_SIZE, "--fps", 20, "-o", "connect:" + gw.ipc)
    rel.wait_for(lambda p: p.value("dup_name_drops") >= 20, 15,
                 "20 frames of the second door dropped")
    assert rel.next_match(DUP_LINE, 5).group(1) == "door"
    more_verified([shown["door"]], 10)
    first, _ = gw.cams["door"]
    first.kill()
    first.wait()
    dropped = rel.value("dup_name_drops")
    more_verified([shown["door"]], 20)  # the second's, taken over at once
    look.kill()
    look.wait()
    runs = sizes_seen(log)
    assert [r[0] for r in runs] == [SIZE, DUP_SIZE], runs
    dup.kill()
    dup.wait()
    gw.capture("door", curve=False)

    # The counters are metrics too.
    with urllib.request.urlopen("http://%s/metrics" % gw.http) as r:
        metrics = r.read().decode()
    for name, low in (("dup_name_drops_total", 20),
                      ("dialin_refused_total", 1),
                      ("dialin_connections_total", 4), ("dialin_open", 3)):
        m = re.search(r"^vidpipe_relay_%s (\d+)$" % name, metrics, re.M)
        assert m and int(m.group(1)) >= low, (name, metrics)

    # A CURVE capture killed and started again; then the relay.
    gw.restart("gate")
    more_verified(shown.values())
    rel.kill()
    rel.wait()
    gw.start_relay()
    more_verified(shown.values())
    assert dropped >= 20


def test_library_publisher_dials_in(procs, tmp_path):
    """A program of the library (Python's Publisher) dials the relay
    with CURVE, as a capture does; its frames reach a display."""
    np, vidpipe = import_vidpipe()
    gw = Gateway(procs, tmp_path)
    gw.start_relay()
    shown = gw.display("lib")
    pub = vidpipe.Publisher("connect:" + gw.tcp, stream="lib", shm=False,
                            curve_secret=gw.key("cam.key"),
                            curve_server_key=gw.key("gw.pub"))
    img = np.zeros((48, 64, 3), np.uint8)
    try:
        for seq in range(1, 2000):
            vidpipe.pattern_draw(img, seq)
            pub.send(img, seq=seq)
            pub.wait_until(time.monotonic_ns() + 20 * 1000000)
            if shown.value("verified") >= 20:
                break
    finally:
        pub.close()
    assert shown.value("verified") >= 20, shown.describe()
    assert shown.value("mismatch") == 0
    assert gw.relay.value("dialin_connections") >= 1


@pytest.mark.slow
def test_32_cameras_dial_in_any_restart_order(procs, tmp_path):
    """32 captures dial in, half over CURVE; killed and restarted with
    the relay in every order, every camera's frames come back."""
    plain = ["p%02d" % i for i in range(16)]
    curve = ["c%02d" % i for i in range(16)]
    gw, shown = check_dialin(procs, tmp_path, plain, curve)
    assert gw.relay.value("streams") == 32

    # Captures first, then the relay.
    for name in plain[:4] + curve[:4]:
        gw.restart(name)
    more_verified(shown.values(), 5, 60)
    gw.relay.kill()
    gw.relay.wait()
    gw.start_relay()
    more_verified(shown.values(), 5, 60)
    # Relay and captures down together, captures back first.
    gw.relay.kill()
    for name in plain[4:8] + curve[4:8]:
        gw.cams[name][0].kill()
    gw.relay.wait()
    for name in plain[4:8] + curve[4:8]:
        gw.restart(name)
    gw.start_relay()
    more_verified(shown.values(), 5, 60)
    assert gw.relay.value("dup_name_drops") == 0
