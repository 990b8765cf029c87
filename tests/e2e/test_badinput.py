"""test_badinput.py -- malformed input is counted and dropped, never fatal.

A Python XPUB on one of a program's inputs sends malformed multipart
messages (built with msgpack the way schema/frame.c frame_encode writes
headers, then broken one way each), and plain TCP peers send bytes that
are not ZeroMQ at all, while real frames come in on another input.  The
program must stay up, count each bad message once, keep verifying the
real frames, and (the relay) forward nothing bad.

The real frames come from a capture that makes one when the test says
(capture_step), to a display that waits after each (display_step): a
valid frame from the XPUB is then the only frame there is, and is shown,
never replaced by a newer real one in the display's one-frame mailbox.
"""

import os
import socket
import threading
import time

import msgpack
import pytest
import zmq

from conftest import ep_port, free_ep, free_port, join, lockstep

W, H = 64, 48
STRIDE = W * 3
SIZE = STRIDE * H
PX = bytes(SIZE)
T = b"raw/junk/"
DEL = object()


def hdr(**kw):
    """A valid header of stream "junk" (64x48 bgr24 raw), with fields
    replaced (or removed, with DEL) as given."""
    d = {"v": 1, "stream": "junk", "seq": 7, "t_real": time.time_ns(),
         "t_mono": time.monotonic_ns(), "w": W, "h": H, "stride": STRIDE,
         "fmt": "bgr24", "enc": "raw", "size": SIZE}
    for k, v in kw.items():
        if v is DEL:
            d.pop(k)
        else:
            d[k] = v
    return msgpack.packb(d)


def geometry(w, h, stride):
    """A header and a payload that agree, for geometry checks."""
    return [T, hdr(w=w, h=h, stride=stride, size=stride * h),
            bytes(stride * h)]


def bad_messages():
    """(what, parts) pairs; every one must be rejected as bad.  All topics
    start with "raw/" so they pass a "raw/" subscription."""
    m = [
        ("topic: space in stream", [b"raw/ju nk/", hdr(), PX]),
        ("topic: no closing slash", [b"raw/junk", hdr(), PX]),
        ("topic: empty stream", [b"raw//", hdr(), PX]),
        ("topic: slash in stream", [b"raw/junk/x/", hdr(), PX]),
        ("topic: stream of 64 bytes",
         [b"raw/" + b"a" * 64 + b"/", hdr(stream="a" * 64), PX]),
        ("topic/header: other stream", [b"raw/other/", hdr(), PX]),
        ("header: 0xc1", [T, b"\xc1\xc1", PX]),
        ("header: text", [T, b"hello, world", PX]),
        ("header: empty", [T, b"", PX]),
        ("header: truncated", [T, hdr()[:-3], PX]),
        ("header: trailing bytes", [T, hdr() + b"\x00", PX]),
        ("header: array", [T, msgpack.packb([1, 2, 3]), PX]),
        ("header: str", [T, msgpack.packb("v stream seq"), PX]),
        ("header: int", [T, msgpack.packb(42), PX]),
        ("header: nil", [T, msgpack.packb(None), PX]),
        ("header: empty map", [T, msgpack.packb({}), PX]),
        ("header: array32 claims 2^32-1 items",
         [T, b"\xdd\xff\xff\xff\xff", PX]),
        ("header: map32 claims 2^32-1 pairs",
         [T, b"\xdf\xff\xff\xff\xff" + bytes(16), PX]),
        ("header: str32 claims 4 GiB", [T, b"\xdb\xff\xff\xff\xff" + b"x" * 9,
                                         PX]),
        ("header: bin32 claims 4 GiB", [T, b"\xc6\xff\xff\xff\xff" + b"x" * 9,
                                         PX]),
        ("header: nested 64 deep", [T, b"\x91" * 64 + b"\x00", PX]),
        ("header: 600 extra keys",
         [T, msgpack.packb(dict(msgpack.unpackb(hdr()),
                                **{"k%d" % i: i for i in range(600)})), PX]),
    ]
    for k in ("v", "stream", "seq", "t_real", "t_mono", "w", "h", "stride",
              "fmt", "enc", "size"):
        m.append(("missing " + k, [T, hdr(**{k: DEL}), PX]))
    wrong = [
        ("v", "1"), ("v", 2), ("stream", b"junk"), ("stream", 5),
        ("stream", "ju\x00nk"), ("stream", ""), ("seq", -1), ("seq", 1.5),
        ("t_real", "now"), ("t_mono", 2 ** 63), ("w", "64"), ("w", 64.0),
        ("w", 2 ** 32 + W), ("h", None), ("stride", True),
        ("fmt", 3), ("fmt", "yuv420p"), ("fmt", "BGR24"), ("enc", b"raw"),
        ("enc", "jpg"), ("enc", "JPEG"), ("size", -5), ("size", "9216"),
        ("shm", 5), ("shm", {"name": "/etc/passwd", "token": 1, "slot": 0,
                             "gen": 0}),
    ]
    for k, v in wrong:
        m.append(("%s = %r" % (k, v), [T, hdr(**{k: v}), PX]))
    m += [
        ("w = 0", geometry(0, H, STRIDE)),
        ("h = 0", geometry(W, 0, STRIDE)),
        ("w = 20000", geometry(20000, H, 60000)),
        ("h = 20000", geometry(W, 20000, STRIDE)),
        ("stride < w * 3", geometry(W, H, STRIDE - 1)),
        ("stride > 65536", geometry(W, H, 70000)),
        ("size != stride * h", [T, hdr(size=SIZE + 1), bytes(SIZE + 1)]),
        ("payload 1 byte short", [T, hdr(), PX[:-1]]),
        ("payload empty", [T, hdr(), b""]),
        ("payload 1 byte long", [T, hdr(), PX + b"\x00"]),
        ("jpeg header on raw topic", [T, hdr(enc="jpeg", size=100),
                                      bytes(100)]),
        ("topic only", [T]),
        ("no payload part", [T, hdr()]),
        ("one extra part", [T, hdr(), PX, b"extra"]),
        ("two extra parts", [T, hdr(), PX, b"x", b"y"]),
    ]
    return m


class GarbageXpub:
    """An XPUB bound on a fresh port, for a program to connect to."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        self.ep = free_ep()
        self.sock.bind(self.ep)

    def wait_subscribed(self, prefix, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sock.poll(100):
                msg = self.sock.recv()
                if msg == b"\x01" + prefix:
                    return
        pytest.fail("no subscription to %r reached %s" % (prefix, self.ep))

    def send_all(self, msgs):
        for _, parts in msgs:
            self.sock.send_multipart(parts)
            time.sleep(0.005)

    def close(self):
        self.sock.close(0)
        self.ctx.term()


def garbage_payloads():
    """Bytes from peers that do not speak ZeroMQ.  (Bytes that make
    libzmq give up on an endpoint for good are in
    test_input_reconnects_after_garbage_peer.)"""
    return [
        b"GET / HTTP/1.0\r\n\r\n",
        # A ZMTP 3 signature with a bogus version and mechanism.
        b"\xff" + bytes(8) + b"\x7f\x09\x09NOPE" + bytes(16) + b"\x01" * 31,
        b"",  # connect and hang up
        b"SSH-2.0-OpenSSH_9.2\r\n" + b"hello world\n" * 300,
    ]


class GarbageServer(threading.Thread):
    """Listens on a fresh port; every connection gets garbage bytes and is
    closed.  A program told to connect here must survive the reconnects."""

    def __init__(self):
        super().__init__(daemon=True)
        self.port = free_port()
        self.ep = "tcp://127.0.0.1:%d" % self.port
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(8)
        self.srv.settimeout(0.1)
        self.accepts = 0
        self.stop_ev = threading.Event()
        self.start()

    def run(self):
        payloads = garbage_payloads()
        while not self.stop_ev.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            try:
                c.settimeout(1)
                c.sendall(payloads[self.accepts % len(payloads)])
            except OSError:
                pass
            finally:
                c.close()
            self.accepts += 1

    def close(self):
        self.stop_ev.set()
        self.join(2)
        self.srv.close()


def spray_tcp(port, rounds=2):
    """Connects to a bound program port and sends garbage, a few times."""
    for _ in range(rounds):
        for p in garbage_payloads():
            try:
                with socket.create_connection(("127.0.0.1", port), 2) as s:
                    s.sendall(p)
                    time.sleep(0.01)
            except OSError:
                pass


@pytest.fixture
def xpub():
    x = GarbageXpub()
    yield x
    x.close()


@pytest.fixture
def tcp_garbage():
    g = GarbageServer()
    yield g
    g.close()


def send_control(xpub, dis):
    """Sends one valid frame of blank pixels to an idle stepped display,
    and sees it shown (its pixels do not verify: a mismatch), so that each
    bad message below is bad for its own fault.  Leaves the display idle."""
    xpub.send_all([("control", [T, hdr(), PX])])
    ev = dis.next_event()
    assert ev == ("waits", 7, "payload"), ev
    dis.step()
    st = dis.tick_after(time.monotonic())
    assert st["mismatch"] == 1 and st["bad"] == 0, st


def wait_bad(p, n, what):
    """Waits for p's bad counter to reach n, then one more tick to see it
    does not go past n."""
    p.wait_for(lambda q: q.value("bad") >= n, 15, "%s bad >= %d" % (what, n))
    k = len(p.ticks())
    p.wait_for(lambda q: len(q.ticks()) > k, 10, "one more tick")
    return p.latest()


def stepped_chain(procs, relay_inputs=(), display_inputs=()):
    """A stepped capture -> relay (-i also relay_inputs) -> stepped display
    (-i also display_inputs), the display waiting on its first frame."""
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = procs.capture(cap_ep, step=True)
    rel = procs.relay([cap_ep] + list(relay_inputs), rel_ep)
    dis = procs.display([rel_ep] + list(display_inputs), step=True)
    return cap, rel, dis


def test_display_survives_bad_input(procs, xpub, tcp_garbage):
    msgs = bad_messages()
    cap, _, dis = stepped_chain(procs, display_inputs=[xpub.ep,
                                                       tcp_garbage.ep])
    xpub.wait_subscribed(b"raw/")
    join(cap, [dis])
    dis.step()
    wait_until_accepts(tcp_garbage, 2)
    send_control(xpub, dis)
    xpub.send_all(msgs)
    st = wait_bad(dis, len(msgs), "display")
    assert st["bad"] == len(msgs), \
        "sent %d bad messages, display counted %d" % (len(msgs), st["bad"])
    lockstep(cap, [dis], 30, waiting=False)
    st = dis.tick_after(time.monotonic())
    assert st["mismatch"] == 1 and st["bad"] == len(msgs), st
    assert st["verified"] == st["frames"] - 1, st
    assert dis.alive()


def test_relay_survives_bad_input(procs, xpub, tcp_garbage):
    msgs = bad_messages()
    cap, rel, dis = stepped_chain(procs, relay_inputs=[xpub.ep,
                                                       tcp_garbage.ep])
    xpub.wait_subscribed(b"raw/")
    join(cap, [dis])
    dis.step()
    wait_until_accepts(tcp_garbage, 2)
    # Control: a valid frame on that input is forwarded (the display gets
    # it; its blank pixels do not verify).
    send_control(xpub, dis)
    # Garbage on the relay's own port, from peers that are not ZeroMQ.
    spray = threading.Thread(target=spray_tcp, args=(ep_port(rel.argv[
        rel.argv.index("-o") + 1]),))
    spray.start()
    xpub.send_all(msgs)
    spray.join(30)
    st = wait_bad(rel, len(msgs), "relay")
    assert st["bad"] == len(msgs), \
        "sent %d bad messages, relay counted %d" % (len(msgs), st["bad"])
    # It kept forwarding good frames, every one, and nothing bad.
    f0 = rel.value("frames")
    lockstep(cap, [dis], 30, waiting=False)
    rel.wait_for(lambda p: p.value("frames") >= f0 + 30, 15,
                 "30 more frames through the relay")
    st = dis.tick_after(time.monotonic())
    assert st["bad"] == 0, "the relay forwarded bad messages: %s" % st
    assert st["mismatch"] == 1, st
    assert st["verified"] == st["frames"] - 1, st
    assert rel.alive() and dis.alive()


def test_display_counts_undecodable_jpeg(procs, xpub):
    """JPEG frames with a valid header but a payload that is not a JPEG.
    They are sent before any real frame flows, each alone, so none is
    replaced by a newer frame before the display tries to decode it."""
    cap_ep = free_ep()
    dis = procs.display([cap_ep, xpub.ep], "--variant", "jpeg")
    xpub.wait_subscribed(b"jpg/")
    junk = [os.urandom(500), b"\xff\xd8\xff\xe0" + os.urandom(996),
            b"\xff\xd8" + bytes(2000)]
    for i, j in enumerate(junk):
        xpub.send_all([("bad jpeg %d" % i,
                        [b"jpg/junk/", hdr(enc="jpeg", size=len(j)), j])])
        # Judged when the display takes it: the next one only then, or it
        # would take its place in the one-frame mailbox.
        dis.wait_for(lambda p: p.value("bad") >= i + 1, 15,
                     "bad jpeg %d counted" % i)
    st = wait_bad(dis, len(junk), "display")
    assert st["bad"] == len(junk), st
    assert st["frames"] == 0 and st["mismatch"] == 0, st
    # Real frames after that are fine.
    procs.capture(cap_ep)
    dis.wait_for(lambda p: p.value("verified") >= 30, 15,
                 "30 verified frames")
    st = dis.latest()
    assert st["mismatch"] == 0 and st["bad"] == len(junk), st
    assert dis.alive()


# Bytes after which libzmq 4.3 by itself never reconnects the endpoint
# they came from: a first byte 0 (a ZMTP 1.0 frame of length 0), and a
# ZMTP 3 greeting with a mechanism the socket does not use (e.g. a CURVE
# peer); the programs' socket watch connects such endpoints again.  An
# HTTP request is the control: libzmq reconnects after it on its own.
GARBAGE = {
    "http-request": b"GET / HTTP/1.0\r\n\r\n",
    "zero-byte": b"\x00",
    "zmtp3-other-mechanism": b"\xff" + bytes(8) + b"\x7f\x03\x00CURVE" +
    bytes(15) + b"\x00" + bytes(31),
}
@pytest.mark.parametrize("prog,garbage", [
    ("display", "http-request"),
    ("display", "zero-byte"),
    ("relay", "zmtp3-other-mechanism"),
])
def test_input_reconnects_after_garbage_peer(procs, prog, garbage):
    """Something else briefly held the port an input connects to and sent
    bytes that are not ZeroMQ; then the real publisher starts there.  The
    input must connect to it by itself, like after any other restart."""
    port = free_port()
    cap_ep, rel_ep = "tcp://127.0.0.1:%d" % port, free_ep()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    srv.settimeout(10)
    try:
        if prog == "relay":
            procs.relay(cap_ep, rel_ep)
            dis = procs.display(rel_ep)
        else:
            dis = procs.display(cap_ep)
        c, _ = srv.accept()
        c.sendall(GARBAGE[garbage])
        # Our end of the stream: once the program has closed its end too
        # it has read every byte we sent.
        c.shutdown(socket.SHUT_WR)
        c.settimeout(15)
        try:
            while c.recv(4096):
                pass
        except ConnectionResetError:
            pass
        c.close()
    finally:
        srv.close()
    procs.capture(cap_ep)
    dis.wait_for(lambda p: p.value("verified") >= 10, 15,
                 "verified frames from the publisher started after the "
                 "garbage peer")


def wait_until_accepts(server, n, timeout=10):
    deadline = time.monotonic() + timeout
    while server.accepts < n:
        if time.monotonic() > deadline:
            pytest.fail("%d connection(s) to the garbage server %s in "
                        "%.0f s, expected %d" % (server.accepts, server.ep,
                                                 timeout, n))
        time.sleep(0.05)
