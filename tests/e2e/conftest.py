"""conftest.py -- fixtures for vidpipe's end-to-end tests.

The tests run the real programs as processes on loopback and judge them
from their --stats-json lines (stderr) and from the pixels they deliver.
Every process a test starts goes through the `procs` fixture, which kills
what is still running at teardown (also when the test failed); every
endpoint is a fresh free TCP port, so tests never meet each other or
leftovers.  Waiting is always polling for a condition with a deadline.

A test never waits for a race or a timing window to happen by itself: it
forces it with the programs' fault points (VIDPIPE_FAULTS, see
docs/TESTING.md), e.g. a capture that makes a frame only when the test
says (capture_step) and a display that takes the next frame only when the
test says (display_step): Procs.capture(step=True), Procs.display(
step=True), Proc.step() and Proc.next_event().
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: many rounds, many clients or a long window "
        "over a case shorter tests cover too; the sanitizer run (make "
        "asan) leaves these out")


def pytest_collection_modifyitems(session, config, items):
    """A mark on a function that is not a test does nothing: say so."""
    for mod in {item.module for item in items if item.module}:
        for name, obj in vars(mod).items():
            if callable(obj) and getattr(obj, "pytestmark", None) and \
                    not name.startswith(("test", "Test")) and \
                    getattr(obj, "__module__", None) == mod.__name__:
                raise pytest.UsageError(
                    "%s.%s is marked %s but is not a test" % (
                        mod.__name__, name,
                        ", ".join(m.name for m in obj.pytestmark)))


HERE = os.path.dirname(os.path.abspath(__file__))
# Set by `make asan`: the programs run under AddressSanitizer, whose
# allocator keeps freed memory in quarantine (resident, for a while).
SANITIZED = os.environ.get("VIDPIPE_SANITIZED") == "1"
BIN = os.path.abspath(
    os.environ.get("VIDPIPE_BIN") or os.path.join(HERE, "..", "..", "bin"))
OUT = os.path.abspath(os.path.join(HERE, "..", "out"))
# The Python package (docs/PYTHON.md), run by Debian's python3 from the
# tree (python/, where make builds it) unless told otherwise:
# VIDPIPE_PY_DIR is where the package is (make asan: build-asan/python;
# empty: the interpreter's own, as pip installed it) and VIDPIPE_PYTHON
# which interpreter runs the Python programs (test_pip.py: a venv's).
PYTHON = os.environ.get("VIDPIPE_PYTHON") or "/usr/bin/python3"
PY_DIR = os.environ.get("VIDPIPE_PY_DIR",
                        os.path.join(HERE, "..", "..", "python"))
PY_DIR = os.path.abspath(PY_DIR) if PY_DIR else None
PY_EXAMPLES = os.path.abspath(os.path.join(HERE, "..", "..", "python",
                                           "examples"))
# make asan: an ASan-built extension, loaded with the ASan runtime
# preloaded and leak checks off (an interpreter never frees everything).
# This process was started so; the programs it starts are not.
PY_ASAN = os.environ.pop("VIDPIPE_PY_ASAN", None)
if PY_ASAN:
    os.environ.pop("LD_PRELOAD", None)
    os.environ.pop("ASAN_OPTIONS", None)


def py_vars():
    """The variables a Python process of the package needs."""
    v = {"PYTHONPATH": PY_DIR} if PY_DIR else {}
    if PY_ASAN:
        v.update(LD_PRELOAD=PY_ASAN, ASAN_OPTIONS="detect_leaks=0")
    return v


def py_env():
    """The whole environment of a Python process of the package."""
    return dict(os.environ, **py_vars())


def py_command():
    """PYTHON with py_vars() as one shell word list: `env K=V... python`."""
    return ["env"] + ["%s=%s" % kv for kv in py_vars().items()] + [PYTHON]


def import_vidpipe():
    """(numpy, vidpipe): the package that PY_DIR holds (or the
    interpreter's own), for tests that use it in their own process."""
    if PY_DIR:
        sys.path.insert(0, PY_DIR)
    import numpy
    import vidpipe
    want = PY_DIR or sys.prefix
    assert vidpipe.__file__.startswith(want + os.sep), \
        "vidpipe from %s, not from %s" % (vidpipe.__file__, want)
    return numpy, vidpipe


class Cameras:
    """vidpipe.Publisher objects in the test's own process (cheaper than a
    capture process each), each bound to its own endpoint; a thread sends
    a w x h test: frame on each of the active ones fps times a second
    until stop()."""

    def __init__(self, n, w=64, h=48, fps=10):
        _, self.vp = import_vidpipe()
        self.w, self.h, self.fps = w, h, fps
        self.eps = [free_ep() for _ in range(n)]
        self.names = ["cam%02d" % i for i in range(n)]
        self.pubs = [self.vp.Publisher(ep, stream=name, ring=4)
                     for ep, name in zip(self.eps, self.names)]
        self.active = 0
        self.error = None  # what stopped the thread, if anything did
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def start(self, n):
        """Sends from the first n publishers on."""
        self.active = n

    def _run(self):
        np, _ = import_vidpipe()
        img = np.zeros((self.h, self.w, 3), np.uint8)
        seq = 0
        try:
            while not self._stop.wait(1.0 / self.fps):
                seq += 1
                self.vp.pattern_draw(img, seq)
                for pub in self.pubs[:self.active]:
                    try:
                        pub.send(img, seq=seq)
                    except BlockingIOError:
                        pass  # every buffer in flight: this frame dropped
        except Exception as e:  # the test fails on it (check())
            self.error = e

    def check(self):
        assert self.error is None, "the publishers stopped: %r" % self.error

    def stop(self):
        self._stop.set()
        self._t.join(5)
        for pub in self.pubs:
            pub.close()


@pytest.fixture
def cameras():
    """cameras(n, ...): a Cameras, stopped at the test's end."""
    made = []

    def make(n, **kw):
        made.append(Cameras(n, **kw))
        return made[-1]
    yield make
    for c in made:
        c.stop()


def prog(name):
    """Absolute path of bin/NAME ("capture" means vidpipe-capture); an
    absolute path is a program of the test's own."""
    if os.path.isabs(name):
        return name
    if not name.startswith("vidpipe-"):
        name = "vidpipe-" + name
    return os.path.join(BIN, name)


_given = set()


def free_port():
    """A TCP port nothing listens on right now (bind port 0, close), never
    one handed out before in this run: two endpoints allocated before
    either is bound must differ."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given:
            _given.add(port)
            return port


def free_ep():
    return "tcp://127.0.0.1:%d" % free_port()


def ep_port(ep):
    return int(ep.rsplit(":", 1)[1])


# Slots of a capture's (and a relay's) ring in the tests that run at a
# fixed frame rate: 64 frames are 2.1 s at 30 fps, so a display could
# only find a frame overwritten under it by being stopped for seconds in
# the middle of reading it -- the same bar as the tests' deadlines.  Tests
# that need an overwrite force it (capture_step with --ring 2).
RING = 64


def backlog_bound(frame_bytes):
    """Frames that can be on their way to a subscriber that stopped
    reading: its publisher's queue for it (NET_PUB_HWM 4), what the
    kernel's socket buffers hold (the receiver's grows to tcp_rmem's
    maximum at most, the sender's is NET_SNDBUF, doubled), its own input
    queue (NET_HWM 2), the mailbox, and the frame it holds."""
    with open("/proc/sys/net/ipv4/tcp_rmem") as f:
        rmem = int(f.read().split()[2])
    return 4 + -(-(rmem + 2 * 65536) // frame_bytes) + 2 + 1 + 1


def faults_env(**points):
    """The environment that arms fault points: faults_env(copy_torn=2,
    exit_stop=True) -> {"VIDPIPE_FAULTS": "copy_torn=2,exit_stop"}."""
    spec = ",".join(k if v is True else "%s=%s" % (k, v)
                    for k, v in points.items())
    return {"VIDPIPE_FAULTS": spec}


class Fifo:
    """A FIFO for a step fault point (capture_step, display_step): every
    byte written is one step.  Opened read-write, so neither end waits."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path)
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def step(self, n=1):
        os.write(self.fd, b"s" * n)

    def close(self):
        os.close(self.fd)


# What the fault points say on stderr (schema/api/frame.c, capture/main.c,
# display/main.c).
MADE = re.compile(r"fault capture_step: frame (\d+) made")
EVENT = re.compile(r"fault (?:copy_torn|display_step): frame (\d+) "
                   r"(held|overwritten|not overwritten|\((\w+)\) waits)")


class Proc:
    """A vidpipe program run with --stats-json, its stderr collected.

    A reader thread keeps every stderr line (`lines`) and the parsed JSON
    stats objects (`stats`); wait_for() polls a predicate over them.
    """

    def __init__(self, name, args, env=None, stats=True, stdout=None,
                 wrap=None, exe=None, fifo=None, stdin=None):
        """wrap: a command that execs the program (ShmNamespace.wrap), so
        that pid is still the program's; exe: the command that runs it
        when it is not bin/vidpipe-NAME (a Python script).  fifo: the Fifo
        of its step fault point (its env arms the point)."""
        self.name = name
        self.fifo = fifo
        self._cursor = 0
        self.argv = list(wrap or []) + list(exe or [prog(name)]) + list(
            args) + (["--stats-json"] if stats else [])
        self.lines = []
        self.stats = []
        self.started = time.monotonic()
        self._cv = threading.Condition()
        self._eof = False
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(
            self.argv,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=full_env)
        self.pid = self.p.pid
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
                    obj = None
            with self._cv:
                self.lines.append(line)
                if isinstance(obj, dict):
                    obj["_rx"] = time.monotonic()  # when we read the line
                    self.stats.append(obj)
                self._cv.notify_all()
        with self._cv:
            self._eof = True
            self._cv.notify_all()

    # --- stats -----------------------------------------------------------

    def ticks(self):
        with self._cv:
            return [s for s in self.stats if s.get("event") == "tick"]

    def last_tick(self):
        t = self.ticks()
        return t[-1] if t else None

    def latest(self):
        """The newest stats object, tick or exit (None before the first)."""
        with self._cv:
            return self.stats[-1] if self.stats else None

    def exit_stats(self):
        with self._cv:
            for s in reversed(self.stats):
                if s.get("event") == "exit":
                    return s
        return None

    def value(self, key, default=0):
        s = self.latest()
        return s.get(key, default) if s else default

    def log(self):
        """Non-JSON stderr lines (diagnostics)."""
        with self._cv:
            return [l for l in self.lines if not l.startswith("{")]

    def describe(self, n=int(os.environ.get("VIDPIPE_TAIL", "6"))):
        """The process and its last n stderr lines (VIDPIPE_TAIL=N in the
        tests' environment shows more)."""
        with self._cv:
            tail = self.lines[-n:]
        return "%s (pid %d, rc %s): %s\n    %s" % (
            self.name, self.pid, self.p.poll(), " ".join(self.argv[1:]),
            "\n    ".join(tail) if tail else "(no stderr)")

    def wait_for(self, pred, timeout, what="condition"):
        """Polls pred(self) until it is truthy; returns its value or fails
        the test after timeout seconds, showing the stderr tail."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                v = pred(self)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(min(left, 0.05))
        pytest.fail("timed out after %.1f s waiting for %s from %s"
                    % (timeout, what, self.describe()))

    def wait_frames(self, n, timeout, key="frames"):
        """Waits until the stats show key >= n; returns the stats object."""
        return self.wait_for(
            lambda p: (p.latest() if p.value(key) >= n else None), timeout,
            "%s >= %d" % (key, n))

    def tick_after(self, t, timeout=10):
        """The first tick read after monotonic time t: its counters
        include everything the program counted up to t."""
        return self.wait_for(
            lambda q: next((s for s in q.ticks() if s["_rx"] > t), None),
            timeout, "a tick after %.2f" % t)

    def matches(self, rx):
        """Every match of rx (a compiled regex) in the stderr lines."""
        with self._cv:
            return [m for m in map(rx.search, self.lines) if m]

    def poll_match(self, rx):
        """The next stderr line, after the last one this or next_match()
        returned, that rx matches: its match object, or None yet."""
        with self._cv:
            for i in range(self._cursor, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    self._cursor = i + 1
                    return m
        return None

    def next_match(self, rx, timeout=15, what=None):
        """poll_match(), waiting for the line."""
        return self.wait_for(lambda p: p.poll_match(rx), timeout,
                             what or rx.pattern)

    # --- step fault points ------------------------------------------------

    def step(self, n=1, timeout=15):
        """Gives n steps.  A capture (capture_step): waits until it has
        made those n frames, and returns the seq of the last; a display
        (display_step): lets it take its next frame."""
        if not self.name.startswith("capture"):
            self.fifo.step(n)
            return None
        k = len(self.matches(MADE))
        self.fifo.step(n)
        self.wait_for(lambda p: len(p.matches(MADE)) >= k + n, timeout,
                      "%d more frames made" % n)
        return int(self.matches(MADE)[k + n - 1].group(1))

    def next_event(self, timeout=15):
        """A stepped display's next fault event: ("waits", seq, path) when
        it has shown frame seq and waits for a step; ("held", seq, None)
        when copy_torn holds its copy of seq; ("overwritten", seq, None)
        when that hold ends."""
        return self._event(self.next_match(EVENT, timeout, "a fault event"))

    def poll_event(self):
        """next_event(), or None if there is none yet."""
        m = self.poll_match(EVENT)
        return self._event(m) if m else None

    @staticmethod
    def _event(m):
        kind = m.group(2)
        if kind.endswith("waits"):
            return ("waits", int(m.group(1)), m.group(3))
        return (kind, int(m.group(1)), None)

    # --- process ---------------------------------------------------------

    def alive(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout=10):
        """Waits for exit and for stderr to be read to its end; returns the
        exit status, failing the test if the process does not exit."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("%s did not exit within %.1f s\n%s"
                        % (self.name, timeout, self.describe()))
        self._t.join(5)
        return rc

    def stop(self):
        """Teardown: SIGKILL if still running, reap."""
        self.kill(signal.SIGKILL)
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._t.join(2)
        if self.p.stderr:
            self.p.stderr.close()


class Procs:
    """Starts programs for one test and kills them all at its end."""

    def __init__(self):
        self.all = []
        self.fifos = []
        self._tmp = None

    def start(self, name, *args, step=None, faults=None, env=None, **kw):
        """step: the step fault point to arm ("capture_step",
        "display_step"), with a FIFO of its own; faults: more points
        (faults_env); env: more environment."""
        full = dict(env or {})
        points = dict(faults or {})
        fifo = None
        if step:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="vidpipe-steps-")
            fifo = Fifo(os.path.join(self._tmp, "%s-%d" % (
                step, len(self.fifos))))
            self.fifos.append(fifo)
            points[step] = fifo.path
        if points:
            full.update(faults_env(**points))
        p = Proc(name, [str(a) for a in args], env=full or None, fifo=fifo,
                 **kw)
        self.all.append(p)
        return p

    def capture(self, out, *args, size="640x360", fps=60, stream=None,
                ring=RING, step=False, **kw):
        """ring: --ring (None: the program's default); step: made a frame
        at a time by Proc.step() (capture_step)."""
        a = ["-i", "test:", "-o", out, "--size", size, "--fps", fps]
        if stream:
            a += ["-s", stream]
        if ring:
            a += ["--ring", ring]
        return self.start("capture", *(a + list(args)),
                          step="capture_step" if step else None, **kw)

    def relay(self, inputs, out, *args, ring=RING, **kw):
        if isinstance(inputs, str):
            inputs = [inputs]
        a = []
        for i in inputs:
            a += ["-i", i]
        if ring:
            a += ["--ring", ring]
        return self.start("relay", *(a + ["-o", out] + list(args)), **kw)

    def display(self, inputs, *args, sink="null", transport="tcp",
                step=False, **kw):
        """transport "tcp": payloads over ZeroMQ (--no-shm), "auto": the
        display's default (shared memory when the publisher is local).
        step: after each frame it waits for Proc.step() (display_step)."""
        if isinstance(inputs, str):
            inputs = [inputs]
        a = []
        for i in inputs:
            a += ["-i", i]
        if sink is not None:  # None: args say where
            a += ["-o", sink]
        if transport == "tcp":
            a.append("--no-shm")
        else:
            assert transport == "auto", transport
        return self.start("display", *(a + list(args)),
                          step="display_step" if step else None, **kw)

    def python(self, script, *args, env=None, **kw):
        """A Python program of the package (python/examples/SCRIPT, or a
        path) under PYTHON with the package of PY_DIR (py_vars)."""
        path = script if os.sep in script else os.path.join(PY_EXAMPLES,
                                                            script)
        full = py_vars()
        full.update(env or {})
        return self.start(os.path.basename(script), *args, env=full,
                          exe=[PYTHON, path], **kw)

    def chain(self, **kw):
        """capture -> relay -> display (payloads over TCP), once the
        display has verified 30 frames: (capture's endpoint, relay's
        endpoint, capture, relay, display)."""
        cap_ep, rel_ep = free_ep(), free_ep()
        cap = self.capture(cap_ep, **kw)
        rel = self.relay(cap_ep, rel_ep)
        dis = self.display(rel_ep)
        dis.wait_for(lambda p: p.value("verified") >= 30, 15,
                     "30 verified frames")
        return cap_ep, rel_ep, cap, rel, dis

    def teardown(self):
        for p in self.all:
            p.kill(signal.SIGKILL)
        for p in self.all:
            p.stop()
        for f in self.fifos:
            f.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


def drive(cap, dis, frames, overwrite=False, timeout=15):
    """Runs a stepped capture (capture_step; --ring 2, so frame y's slot
    is written over by frame y + 2) and one stepped display (display_step)
    until the display has shown `frames` frames, forcing every overwrite:

    * the display shows frame y and waits: the test makes the next frame
      and lets it go on (with overwrite: makes frames up to y + 2 first,
      so y is overwritten while the display still holds it);
    * copy_torn holds the display's copy of y: the test makes frames up
      to y + 2, which ends the hold (that copy is torn).

    The writer only ever moves while the display waits or is held, so no
    frame is overwritten but those.  The display is left waiting on its
    last frame.  Returns the events, as Proc.next_event() gives them."""
    newest = cap.step()
    events = []
    while len([e for e in events if e[0] == "waits"]) < frames:
        ev = dis.next_event(timeout)
        events.append(ev)
        kind, y, _ = ev
        if kind == "held":
            while newest < y + 2:
                newest = cap.step()
        elif kind == "waits":
            if len([e for e in events if e[0] == "waits"]) == frames:
                break
            while overwrite and newest < y + 2:
                newest = cap.step()
            if newest == y:
                newest = cap.step()
            dis.step()
    return events


def join(cap, displays, settle=0.5, timeout=30):
    """Brings stepped displays (display_step) on a stepped capture
    (capture_step), none of them waiting, to one frame: makes a frame, gives every display
    `settle` s to show it, lets go those that showed an older one, and
    makes another, until all wait on the newest.  (A display that has
    not subscribed yet misses frames: how many is up to the machine, which
    is why this converges rather than counts.)  A display could only find
    a frame overwritten while it reads it here by being stopped for
    `settle` s times the ring's slots: give the capture --ring 64.
    Returns the seq they wait on."""
    deadline = time.monotonic() + timeout
    at = {d: None for d in displays}
    y = cap.step()
    while True:
        end = time.monotonic() + settle
        while time.monotonic() < end and any(at[d] != y for d in displays):
            for d in displays:
                ev = d.poll_event()
                if ev:
                    assert ev[0] == "waits", (d.describe(), ev)
                    at[d] = ev[1]
            time.sleep(0.01)
        if all(at[d] == y for d in displays):
            return y
        if time.monotonic() > deadline:
            pytest.fail("displays did not all show frame %d: %s" % (
                y, [at[d] for d in displays]))
        for d in displays:
            if at[d] is not None:
                d.step()
                at[d] = None
        y = cap.step()


def lockstep(cap, displays, frames, timeout=15, waiting=True, path=None):
    """A stepped capture and stepped displays, all waiting on one frame
    (join()), or all idle (waiting=False: let go, nothing newer to show):
    `frames` times, every display is let go, the capture makes one frame,
    and every display shows it and waits.  Nothing is written while
    anybody reads it, so every display gets every frame.  Returns the seqs
    made.  path: every frame must have come so ("shm", "payload")."""
    seqs = []
    for i in range(frames):
        for d in displays:
            if waiting or i:
                d.step()
        y = cap.step()
        seqs.append(y)
        for d in displays:
            ev = d.next_event(timeout)
            assert ev[:2] == ("waits", y), (d.describe(), ev, y)
            assert path is None or ev[2] == path, (d.describe(), ev)
    return seqs


@pytest.fixture
def procs(request):
    ps = Procs()
    yield ps
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for p in ps.all:
            print(p.describe(12))
    ps.teardown()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class ShmNamespace:
    """A private mount namespace whose /dev/shm is a tmpfs of its own size
    (a container's, say), held by a sleeping process.  Programs started
    with wrap=ns.wrap run inside it, all sharing that /dev/shm; ns.shm is
    the same directory as seen from here."""

    def __init__(self, size):
        self.p = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             "mount -t tmpfs -o size=%s,mode=1777 tmpfs /dev/shm && "
             "echo ready && exec sleep 1000000" % size],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.ready = self.p.stdout.readline().strip() == b"ready"
        self.wrap = ["nsenter", "--mount=/proc/%d/ns/mnt" % self.p.pid, "--"]
        self.shm = "/proc/%d/root/dev/shm" % self.p.pid

    def path(self, name):
        return os.path.join(self.shm, name)

    def segments(self):
        """Names of vidpipe segments in the namespace's /dev/shm."""
        return sorted(n for n in os.listdir(self.shm)
                      if n.startswith("vidpipe-"))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(5)
        self.p.stdout.close()
        self.p.stderr.close()


@pytest.fixture
def shm_ns():
    """shm_ns("64m"): a new ShmNamespace; skips where mount namespaces
    are not permitted.  Stopped at teardown."""
    made = []

    def make(size):
        if not shutil.which("unshare") or not shutil.which("nsenter"):
            pytest.skip("unshare and nsenter (util-linux) are needed")
        ns = ShmNamespace(size)
        made.append(ns)
        if not ns.ready:
            pytest.skip("a private mount namespace is not permitted here")
        return ns

    yield make
    for ns in made:
        ns.stop()


def run_cmd(name, *args, timeout=10, env=None):
    """Runs a program to completion; returns CompletedProcess (text)."""
    full_env = dict(os.environ)
    if env is not None:
        full_env = env
    return subprocess.run([prog(name)] + [str(a) for a in args],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def wait_until(pred, timeout, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1f s waiting for %s"
                        % (timeout, what))
        time.sleep(interval)


# --- Xvfb --------------------------------------------------------------------

def _free_display():
    for n in range(90, 400):
        if os.path.exists("/tmp/.X%d-lock" % n) or \
                os.path.exists("/tmp/.X11-unix/X%d" % n):
            continue
        return n
    raise RuntimeError("no free X display number")


class Xvfb:
    def __init__(self):
        self.proc = None
        for _ in range(5):
            n = _free_display()
            p = subprocess.Popen(
                ["Xvfb", ":%d" % n, "-screen", "0", "1600x1200x24",
                 "-nolisten", "tcp", "-noreset"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            sock = "/tmp/.X11-unix/X%d" % n
            deadline = time.monotonic() + 10
            while p.poll() is None and time.monotonic() < deadline:
                if os.path.exists(sock) and self._ready(n):
                    self.proc, self.num = p, n
                    self.display = ":%d" % n
                    return
                time.sleep(0.05)
            p.kill()
            p.wait()
        raise RuntimeError("Xvfb did not start")

    @staticmethod
    def _ready(n):
        r = subprocess.run(["xwininfo", "-root", "-display", ":%d" % n],
                           capture_output=True, timeout=5)
        return r.returncode == 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def xvfb():
    for tool in ("Xvfb", "xwininfo", "xwd", "ffmpeg"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed (tools/install-deps)" % tool)
    x = Xvfb()
    yield x
    x.stop()


@pytest.fixture
def outdir():
    os.makedirs(OUT, exist_ok=True)
    return OUT
