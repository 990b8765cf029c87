"""test_gateway.py -- the relay as a gateway between hosts (issue 5).

The hosts are Linux network namespaces made for this module and joined by
veth pairs, with private addresses that exist only inside them:

    cam (10.77.1.1) --- (10.77.1.2) gw (10.77.2.1) --- (10.77.2.2) view
                                       (10.77.3.1) --- (10.77.3.2) slow

capture runs on cam, relays on gw, displays on view and slow (whose link
can be limited with tc).  Each program also gets the host's own /dev/shm:
it runs in a private mount namespace with a per-host directory bound over
/dev/shm, so processes on one "host" share shared-memory rings and
processes on different hosts cannot map each other's -- as on real hosts.
(--no-shm would also keep hosts apart, but would not test what really
happens: shm offered, found unreachable, and payloads used instead.)

Everything -- processes, namespaces, links, shm directories -- is torn
down by the module fixture's finalizer, also when a test fails.  Tests
judge the programs from their --stats-json lines and their logs.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(
    os.environ.get("VIDPIPE_BIN") or os.path.join(HERE, "..", "..", "bin"))

if os.geteuid() != 0:
    pytest.skip("gateway tests make network namespaces: run as root",
                allow_module_level=True)
if not shutil.which("ip"):
    pytest.skip("gateway tests need iproute2's ip", allow_module_level=True)

# The hosts and their links: (host, ifname, address) pairs.
LINKS = [
    (("cam", "eth0", "10.77.1.1"), ("gw", "eth0", "10.77.1.2")),
    (("gw", "eth1", "10.77.2.1"), ("view", "eth0", "10.77.2.2")),
    (("gw", "eth2", "10.77.3.1"), ("slow", "eth0", "10.77.3.2")),
]
CAM, GW_CAM, GW_VIEW, GW_SLOW = ("10.77.1.1", "10.77.1.2", "10.77.2.1",
                                 "10.77.3.1")


def prog(name):
    return os.path.join(BIN, "vidpipe-" + name)


def sh(*argv, check=True):
    """Runs a command; its output is returned, or in the failure raised."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stdout.strip()))
    return r.stdout


class Proc:
    """A program on a host, its stderr lines and JSON stats collected."""

    def __init__(self, argv, name):
        self.name = name
        self.lines = []
        self.stats = []
        self._cv = threading.Condition()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            obj = None
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    pass
            with self._cv:
                if obj is not None:
                    self.stats.append(obj)
                else:
                    self.lines.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def ticks(self):
        with self._cv:
            return [s for s in self.stats if s.get("event") == "tick"]

    def last(self):
        t = self.ticks()
        return t[-1] if t else {}

    def final(self):
        with self._cv:
            e = [s for s in self.stats if s.get("event") == "exit"]
        return e[-1] if e else None

    def log(self):
        with self._cv:
            return "\n".join(self.lines)

    def wait_for(self, pred, timeout, what):
        """Polls pred(self) until true; fails with the log on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        if pred(self):
            return
        raise AssertionError("%s: no %s within %.0f s (exit %s); last: %s\n%s"
                             % (self.name, what, timeout, self.p.poll(),
                                self.last(), self.log()))

    def wait_frames(self, n=1, timeout=15):
        self.wait_for(lambda p: p.last().get("frames", 0) >= n, timeout,
                      "%d frames" % n)

    def stop(self, sig=signal.SIGINT, timeout=5):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._t.join(2)
        return self.p.returncode


class Host:
    def __init__(self, lab, role):
        self.lab = lab
        self.role = role
        self.ns = lab.prefix + role
        self.shm = "/dev/shm/%s-%s" % (lab.prefix, role)

    def ip(self, *args):
        return sh("ip", "-n", self.ns, *args)

    def wrap(self, argv):
        """argv run in this host's netns with this host's /dev/shm."""
        return (["ip", "netns", "exec", self.ns, "unshare", "--mount",
                 "--propagation", "private", "sh", "-c",
                 'mount --bind "$0" /dev/shm && exec "$@"', self.shm] +
                argv)

    def run(self, name, *args, stats=True):
        argv = [prog(name)] + list(args) + (["--stats-json"] if stats
                                            else [])
        p = Proc(self.wrap(argv), "%s@%s" % (name, self.role))
        self.lab.procs.append(p)
        return p


class Lab:
    """The namespaces, links and key files of one test run."""

    def __init__(self, keydir):
        # Unique per run, short enough for interface-name limits.
        self.prefix = "vpgw%s" % uuid.uuid4().hex[:6]
        self.hosts = {r: Host(self, r) for r in ("cam", "gw", "view", "slow")}
        self.procs = []
        self.keys = keydir

    def __getitem__(self, role):
        return self.hosts[role]

    def up(self):
        for h in self.hosts.values():
            sh("ip", "netns", "add", h.ns)
            h.ip("link", "set", "lo", "up")
            os.mkdir(h.shm)
        for (ha, ia, aa), (hb, ib, ab) in LINKS:
            a, b = self.hosts[ha], self.hosts[hb]
            sh("ip", "link", "add", ia, "netns", a.ns, "type", "veth",
               "peer", "name", ib, "netns", b.ns)
            for h, i, addr in ((a, ia, aa), (b, ib, ab)):
                h.ip("addr", "add", addr + "/24", "dev", i)
                h.ip("link", "set", i, "up")

    def stop_all(self):
        for p in self.procs:
            p.stop(signal.SIGKILL if p.p.poll() is None else 0)
        self.procs = []

    def down(self):
        self.stop_all()
        for h in self.hosts.values():
            sh("ip", "netns", "del", h.ns, check=False)
            shutil.rmtree(h.shm, ignore_errors=True)

    def keygen(self, name):
        sh(prog("keygen"), os.path.join(self.keys, name))
        return (os.path.join(self.keys, name + ".key"),
                os.path.join(self.keys, name + ".pub"))

    def allow(self, dirname, *names):
        d = os.path.join(self.keys, dirname)
        os.makedirs(d, exist_ok=True)
        for n in names:
            shutil.copy(os.path.join(self.keys, n + ".pub"), d)
        return d


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(str(tmp_path_factory.mktemp("keys")))
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


@pytest.fixture
def net(lab):
    """The lab, with every process of the test stopped at its end."""
    yield lab
    lab.stop_all()


def tick_window(p, t0, t1):
    """The tick reports of p made between realtimes t0 and t1."""
    return [s for s in p.ticks() if t0 <= s["t"] <= t1]


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0


def tcp(host, port):
    return "tcp://%s:%d" % (host, port)


# --- keys -----------------------------------------------------------------

def test_keygen_writes_a_pair_and_never_overwrites(tmp_path):
    name = str(tmp_path / "relay")
    out = sh(prog("keygen"), name)
    key, pub = name + ".key", name + ".pub"
    assert os.stat(key).st_mode & 0o777 == 0o600
    k, p = open(key).read(), open(pub).read()
    assert len(k) == 41 and len(p) == 41 and k.endswith("\n")
    assert p.strip() in out
    r = subprocess.run([prog("keygen"), name], stderr=subprocess.PIPE,
                       text=True)
    assert r.returncode == 2 and "exists" in r.stderr
    assert open(key).read() == k and open(pub).read() == p
    sh(prog("keygen"), "--force", name)
    assert open(key).read() != k
    assert os.stat(key).st_mode & 0o777 == 0o600


def test_bad_keys_are_a_one_line_error_at_start(tmp_path):
    sh(prog("keygen"), str(tmp_path / "ok"))
    short = tmp_path / "short.pub"
    short.write_text("abc\n")
    bad = tmp_path / "bad.key"
    bad.write_text("~" * 40 + "\n")
    allow = tmp_path / "allow"
    allow.mkdir()
    cases = [
        (["display", "--curve-server-key", str(short), "--curve-secret",
          str(tmp_path / "ok.key"), "-o", "null"], "short.pub"),
        (["display", "--curve-server-key", str(tmp_path / "ok.pub"),
          "--curve-secret", str(bad), "-o", "null"], "bad.key"),
        (["capture", "--curve-secret", str(bad), "--curve-allow",
          str(allow)], "bad.key"),
        (["relay", "--curve-secret", str(tmp_path / "ok.pub"),
          "--curve-allow", str(allow)], "public key"),
        (["capture", "--curve-secret", str(tmp_path / "ok.key")],
         "go together"),
    ]
    for argv, what in cases:
        r = subprocess.run([prog(argv[0])] + argv[1:], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, timeout=20)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (argv, r.stderr)
        assert len(lines) == 1 and what in lines[0], (argv, r.stderr)
    # A secret others can read works, with a warning.
    os.chmod(tmp_path / "ok.key", 0o644)
    r = subprocess.run([prog("display"), "--curve-server-key",
                        str(tmp_path / "ok.pub"), "--curve-secret",
                        str(tmp_path / "ok.key"), "-o", "null", "-i",
                        "tcp://127.0.0.1:9", "-t", "0.2"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=20)
    assert r.returncode == 1 and "readable by others (mode 644)" in r.stderr


# --- across hosts ---------------------------------------------------------

def curve_keys(lab):
    """Keys for cam, relay and viewers; allow lists for cam and relay."""
    if not hasattr(lab, "k"):
        lab.k = {n: lab.keygen(n) for n in ("cam", "relay", "view",
                                            "stranger")}
        lab.allow_cam = lab.allow("allow-cam", "relay")
        lab.allow_relay = lab.allow("allow-relay", "view")
    return lab.k


def test_curve_lets_in_only_listed_viewers(net):
    k = curve_keys(net)
    net["cam"].run("capture", "-o", tcp(CAM, 5555), "--size", "640x360",
                   "--curve-secret", k["cam"][0],
                   "--curve-allow", net.allow_cam)
    relay = net["gw"].run(
        "relay", "-i", tcp(CAM, 5555), "-o", tcp(GW_VIEW, 5556),
        "--curve-secret", k["relay"][0], "--curve-allow", net.allow_relay,
        "--curve-server-key", k["cam"][1])
    ep = tcp(GW_VIEW, 5556)
    ok = net["view"].run("display", "-i", ep, "-o", "null",
                         "--curve-server-key", k["relay"][1],
                         "--curve-secret", k["view"][0])
    stranger = net["view"].run("display", "-i", ep, "-o", "null",
                               "--curve-server-key", k["relay"][1],
                               "--curve-secret", k["stranger"][0])
    plain = net["view"].run("display", "-i", ep, "-o", "null")
    ok.wait_frames(60, timeout=20)
    for d in (stranger, plain):
        d.wait_for(lambda p: len(p.ticks()) >= 2, 15, "ticks")
    time.sleep(1)
    for d in (ok, stranger, plain):
        d.stop()
    relay_log = relay.log()
    relay.stop()
    f = ok.final()
    assert f["verified"] >= 60 and f["mismatch"] == 0 and f["bad"] == 0
    assert stranger.final()["frames"] == 0
    assert plain.final()["frames"] == 0
    stranger_pub = open(k["stranger"][1]).read().strip()
    assert "allowed view.pub from 10.77.2.2" in relay_log
    assert ("refused CURVE client %s from 10.77.2.2" % stranger_pub
            in relay_log)
    assert relay_log.count(stranger_pub) == 1, "logged once per peer"
    assert "does not use CURVE" in relay_log
    assert "refused our key" in stranger.log()
    assert "requires CURVE" in plain.log() or \
        "does it require CURVE" in plain.log()
    assert "anyone who can connect" not in relay_log


def window_fps(p, t0, t1):
    return median([s["fps"] for s in tick_window(p, t0, t1)])


def test_two_cameras_through_one_relay_stay_apart(net):
    # Relay and viewers first, cameras last: any start order works, and
    # the relay's subscriptions upstream all arrive.
    ep = tcp(GW_VIEW, 5560)
    relay = net["gw"].run("relay", "-i", tcp(CAM, 5555), "-i",
                          tcp(CAM, 5557), "-o", ep)
    d_a = net["view"].run("display", "-i", ep, "-o", "null", "--stream",
                          "camA")
    d_b = net["view"].run("display", "-i", ep, "-o", "null", "--stream",
                          "camB", "--codec", "jpeg")
    d_all = net["view"].run("display", "-i", ep, "-o", "null")
    for d in (d_a, d_b, d_all):
        d.wait_for(lambda p: len(p.ticks()) >= 1, 20, "first tick")
    net["cam"].run("capture", "-o", tcp(CAM, 5555), "-s", "camA",
                   "--size", "640x360", "--fps", "30")
    net["cam"].run("capture", "-o", tcp(CAM, 5557), "-s", "camB",
                   "--size", "320x240", "--fps", "10")
    d_a.wait_frames(60)
    d_b.wait_frames(20)
    d_all.wait_frames(60)
    t0 = time.time()
    time.sleep(4.2)
    t1 = time.time()
    fps = [window_fps(d, t0, t1) for d in (d_a, d_b, d_all)]
    for d in (d_a, d_b, d_all):
        d.stop()
    assert 26 <= fps[0] <= 34, fps
    assert 8 <= fps[1] <= 12, fps
    assert 35 <= fps[2] <= 45, fps
    for d in (d_a, d_b, d_all):
        f = d.final()
        assert f["verified"] == f["frames"] and f["mismatch"] == 0, f
    # A plain bind that other hosts can reach is worth a warning.
    assert "anyone who can connect" in relay.log()


def lat_summary(p, t0, t1):
    """fps, p50, p99 and worst p99 (ms) of p's ticks in [t0, t1]: the
    medians over the ticks, and the worst tick's p99."""
    w = tick_window(p, t0, t1)
    assert len(w) >= 3, (p.name, p.ticks()[-5:])
    return (median([s["fps"] for s in w]),
            median([s["lat_p50_us"] for s in w]) / 1000,
            median([s["lat_p99_us"] for s in w]) / 1000,
            max(s["lat_p99_us"] for s in w) / 1000)


def test_slow_viewer_is_isolated_and_jpeg_is_encoded_once(net):
    gw = net["gw"]
    gw_tc = ["ip", "netns", "exec", gw.ns, "tc", "qdisc"]
    sh(*gw_tc, "add", "dev", "eth2", "root", "tbf", "rate", "10mbit",
       "burst", "32kbit", "latency", "50ms")
    try:
        # Quality 100: the test pattern compresses about 3x better than a
        # camera picture; at 100 its 50 KB frames (12 Mbit/s at 30 fps)
        # are more than the 10 Mbit/s link carries, as a camera's would.
        cap = net["cam"].run("capture", "-o", tcp(CAM, 5555), "--size",
                             "1280x720", "--fps", "30", "-q", "100")
        net["gw"].run("relay", "-i", tcp(CAM, 5555), "-o",
                      "tcp://0.0.0.0:5556")
        raw = net["view"].run("display", "-i", tcp(GW_VIEW, 5556), "-o",
                              "null")
        jpg = net["view"].run("display", "-i", tcp(GW_VIEW, 5556), "-o",
                              "null", "--codec", "jpeg")
        # A viewer on the gateway itself (shm from the relay's ring): the
        # relay now asks the camera for all three variants of each frame.
        local = net["gw"].run("display", "-i", "tcp://127.0.0.1:5556",
                              "-o", "null")
        raw.wait_frames(60, timeout=20)
        jpg.wait_frames(60, timeout=20)
        t0 = time.time()
        time.sleep(5.2)
        t1 = time.time()
        before = lat_summary(raw, t0, t1)

        slow = net["slow"].run("display", "-i", tcp(GW_SLOW, 5556), "-o",
                               "null", "--codec", "jpeg")
        slow.wait_frames(10, timeout=20)
        time.sleep(1.5)  # the link's slow start
        t2 = time.time()
        time.sleep(6.2)
        t3 = time.time()
        during = lat_summary(raw, t2, t3)
        jpg_during = lat_summary(jpg, t2, t3)
        slow_w = lat_summary(slow, t2, t3)
        enc = tick_window(cap, t2, t3)
        for d in (raw, jpg, slow, local):
            d.stop()
    finally:
        sh(*gw_tc, "del", "dev", "eth2", "root", check=False)
    f = slow.final()
    print("\n10 Mbit/s viewer (jpeg): fps %.1f p50 %.0f p99 %.0f (worst "
          "%.0f) ms; exit: p50 %.0f p99 %.0f ms, %d frames, %d drops"
          % (slow_w + (f["lat_p50_us"] / 1000, f["lat_p99_us"] / 1000,
                       f["frames"], f["drops"])))
    print("fast raw viewer before: fps %.1f p50 %.1f p99 %.1f (worst %.1f) "
          "ms; during: fps %.1f p50 %.1f p99 %.1f (worst %.1f) ms"
          % (before + during))
    print("fast jpeg viewer during: fps %.1f p50 %.1f p99 %.1f (worst %.1f)"
          " ms; drops raw %d jpeg %d gateway-local %d"
          % (jpg_during + (raw.final()["drops"], jpg.final()["drops"],
                           local.final()["drops"])))
    # The slow viewer: latency bounded, frames it had no bandwidth for
    # dropped and counted.
    assert slow_w[2] < 500 and f["lat_p99_us"] < 500000, (slow_w, f)
    assert f["drops"] > 0 and 3 <= slow_w[0] <= 29, (slow_w, f)
    assert f["mismatch"] == 0 and f["verified"] == f["frames"]
    # One JPEG encode per frame, for the two JPEG viewers together.
    frames = enc[-1]["frames"] - enc[0]["frames"]
    encodes = enc[-1]["jpeg_encodes"] - enc[0]["jpeg_encodes"]
    assert frames >= 100 and frames - 1 <= encodes <= frames + 1, enc
    assert local.final()["path"] == "shm"
    # The others do not notice it.  That can only be judged with CPU to
    # spare (not, say, on 2 cores under ASan): the fast viewer must have
    # kept up before the slow one came.
    if before[0] < 29 or before[1] > 30:
        pytest.skip("too busy to judge isolation: the fast viewer alone "
                    "had %.1f fps, p50 %.0f ms" % before[:2])
    assert during[0] >= min(27, before[0] - 2), (before, during)
    assert during[1] <= max(2 * before[1], before[1] + 20), (before, during)
    assert during[2] <= max(3 * before[2], before[2] + 50), (before, during)
    assert jpg_during[0] >= 27, jpg_during
    # ... nor does the relay lose frames it asked for in three variants.
    for d in (raw, jpg, local):
        fd = d.final()
        assert fd["drops"] <= 0.02 * fd["frames"] + 2, (d.name, fd)


def stalled(p):
    return p.last().get("stalled") is True


def recovered_after(n):
    """Predicate: ticking again, not stalled, past n frames."""
    return lambda p: (p.last().get("stalled") is False and
                      p.last().get("frames", 0) >= n)


def test_viewers_recover_from_restarts_and_link_loss(net):
    k = curve_keys(net)
    cam_args = ["-o", tcp(CAM, 5555), "--size", "640x360",
                "--curve-secret", k["cam"][0], "--curve-allow",
                net.allow_cam]
    relay_args = ["-i", tcp(CAM, 5555), "-o", tcp(GW_VIEW, 5556),
                  "--curve-secret", k["relay"][0], "--curve-allow",
                  net.allow_relay, "--curve-server-key", k["cam"][1]]
    cap = net["cam"].run("capture", *cam_args)
    relay = net["gw"].run("relay", *relay_args)
    d = net["view"].run("display", "-i", tcp(GW_VIEW, 5556), "-o", "null",
                        "--curve-server-key", k["relay"][1],
                        "--curve-secret", k["view"][0])
    d.wait_frames(30, timeout=20)
    timings = []

    def outage(what, down, up):
        t = time.monotonic()
        down()
        d.wait_for(stalled, 5, "stalled after " + what)
        n = d.last()["frames"]
        t_up = time.monotonic()
        up()
        d.wait_for(recovered_after(n + 30), 15, "recovery after " + what)
        timings.append("%s: stalled reported after %.1f s; 30 new frames "
                       "and not stalled %.1f s after it came back"
                       % (what, t_up - t, time.monotonic() - t_up))

    def restart_relay():
        nonlocal relay
        relay = net["gw"].run("relay", *relay_args)

    def restart_capture():
        nonlocal cap
        cap = net["cam"].run("capture", *cam_args)

    gw_link = ["ip", "-n", net["gw"].ns, "link", "set", "eth1"]
    outage("relay kill -9", lambda: relay.stop(signal.SIGKILL),
           restart_relay)
    outage("capture kill -9", lambda: cap.stop(signal.SIGKILL),
           restart_capture)
    outage("link down", lambda: sh(*gw_link, "down"),
           lambda: sh(*gw_link, "up"))
    d.stop()
    print("\n" + "\n".join(timings))
    f = d.final()
    assert f["mismatch"] == 0 and f["bad"] == 0 and f["verified"] >= 120


def test_relay_chain_carries_each_frame_once_per_link(net):
    # cam -> relay on gw -> relay on view -> two viewers on view, which
    # read the view relay's shm ring: the view host gets each frame once.
    cap = net["cam"].run("capture", "-o", tcp(CAM, 5555), "--size",
                         "640x360", "--fps", "30")
    r1 = net["gw"].run("relay", "-i", tcp(CAM, 5555), "-o",
                       tcp(GW_VIEW, 5556))
    r2 = net["view"].run("relay", "-i", tcp(GW_VIEW, 5556), "-o",
                         "tcp://127.0.0.1:5557")
    ds = [net["view"].run("display", "-i", "tcp://127.0.0.1:5557", "-o",
                          "null") for _ in range(2)]
    for d in ds:
        d.wait_for(lambda p: p.last().get("frames", 0) >= 60 and
                   p.last().get("path") == "shm", 25, "60 frames over shm")
    t0 = time.time()
    time.sleep(4.2)
    t1 = time.time()

    def rate(p, key="frames"):
        """key's increase per second over p's ticks in the window."""
        w = tick_window(p, t0, t1)
        return (w[-1][key] - w[0][key]) / (w[-1]["t"] - w[0]["t"])

    r_cap, r_r1, r_r2 = rate(cap), rate(r1), rate(r2)
    r_ring = rate(r2, "ring_writes")
    r_ds = [rate(d) for d in ds]
    for d in ds:
        d.stop()
    print("\nframes/s: capture %.1f, gw relay %.1f, view relay %.1f (ring "
          "writes %.1f), viewers %s" % (r_cap, r_r1, r_r2, r_ring,
                                        ["%.1f" % r for r in r_ds]))
    assert r_cap >= 27
    # Once per link: not once per viewer (that would be 2x).
    for r in [r_r1, r_r2, r_ring] + r_ds:
        assert abs(r - r_cap) <= 2, (r_cap, r_r1, r_r2, r_ring, r_ds)
    for d in ds:
        f = d.final()
        assert f["path"] == "shm" and f["mismatch"] == 0, f
        assert f["verified"] >= 100, f


def test_h264_on_a_slow_link(net):
    """1080p at 30 fps as H.264 at 4 Mbit/s to a viewer behind a 10 Mbit/s
    link: every frame it shows is verified, and it keeps the stream's
    rate (JPEG of the same frames would need more than the link has)."""
    gw = net["gw"]
    gw_tc = ["ip", "netns", "exec", gw.ns, "tc", "qdisc"]
    sh(*gw_tc, "add", "dev", "eth2", "root", "tbf", "rate", "10mbit",
       "burst", "32kbit", "latency", "50ms")
    try:
        cap = net["cam"].run("capture", "-o", tcp(CAM, 5555), "--size",
                             "1920x1080", "--fps", "30", "--bitrate", "4M")
        net["gw"].run("relay", "-i", tcp(CAM, 5555), "-o",
                      "tcp://0.0.0.0:5556")
        slow = net["slow"].run("display", "-i", tcp(GW_SLOW, 5556), "-o",
                               "null", "--codec", "h264", "-n", "240")
        slow.wait_for(lambda p: p.final() is not None, 30, "240 frames")
        assert slow.p.wait(5) == 0, slow.log()
    finally:
        sh(*gw_tc, "del", "dev", "eth2", "root", check=False)
    f = slow.final()
    print("\n10 Mbit/s viewer (h264 4M, 1080p30): fps %.1f, p50 %.0f p99 "
          "%.0f ms, %d frames, %d drops, %d waiting for a keyframe"
          % (f["fps"], f["lat_p50_us"] / 1000, f["lat_p99_us"] / 1000,
             f["frames"], f["drops"], f["waiting_keyframe"]))
    assert f["verified"] == f["frames"] >= 240 and f["mismatch"] == 0, f
    assert f["bad"] == 0, f
    c = cap.last()
    assert c["h264_encodes"] > 0 and c["jpeg_encodes"] == 0, c
