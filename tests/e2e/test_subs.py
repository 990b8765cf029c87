"""test_subs.py -- a publisher's subscriptions are bounded per client and
in all, and what passes a bound is refused for that client alone (docs/
GATEWAY.md, "Subscriptions").

A live capture goes through a relay to displays that verify every frame,
while raw ZeroMQ subscribers (Python's zmq: cheap, and exactly what a
stranger on the network can send) wait for 120 absent streams and one
of them subscribes to 10,000 junk prefixes.  The test waits for the
relay's counters to show each step done, never for a time.
"""

import re
import urllib.request

import zmq

from conftest import free_ep, free_port

JUNK = 10000
PER_CLIENT = 500
WAITERS = 120


def verifying(dis, more, timeout=20):
    """Waits until dis has verified `more` frames past what it had, with
    every frame it got verified; returns that stats line."""
    base = dis.value("verified")
    return dis.wait_for(
        lambda p: (p.latest() if p.value("verified") >= base + more and
                   p.value("verified") == p.value("frames") else None),
        timeout, "%d more verified frames, all it got" % more)


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        body = r.read().decode()
    m = re.search(r"^%s (\d+)$" % name, body, re.M)
    assert m, "%s not in /metrics" % name
    return int(m.group(1))


def test_junk_and_waiting_subscribers_lock_nobody_out(procs):
    cap_ep, rel_ep, http = free_ep(), free_ep(), free_port()
    cap = procs.capture(cap_ep)
    rel = procs.relay(cap_ep, rel_ep, "--max-subs", 2000,
                      "--max-subs-per-client", PER_CLIENT,
                      "--http", "127.0.0.1:%d" % http)
    before = procs.display(rel_ep)
    verifying(before, 30)
    held = rel.value("subs_added") - rel.value("subs_removed")

    ctx = zmq.Context()
    socks = []
    try:
        # (a) A wall of viewers waiting for cameras not up yet.
        for i in range(WAITERS):
            s = ctx.socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(rel_ep)
            s.setsockopt(zmq.SUBSCRIBE, b"%s/absent%d/" % (
                b"shm" if i % 2 else b"raw", i))
            socks.append(s)
        rel.wait_for(lambda p: p.value("subs_added") -
                     p.value("subs_removed") >= held + WAITERS, 15,
                     "%d entries for the waiting viewers" % WAITERS)
        verifying(before, 30)

        # (b) One client with 10,000 junk subscriptions: it gets its
        # share, the rest is refused for it alone.
        junk = ctx.socket(zmq.SUB)
        junk.setsockopt(zmq.LINGER, 0)
        # libzmq drops subscriptions past a SUB's send HWM (1000 by
        # default): unbounded, all 10,000 reach the relay.
        junk.setsockopt(zmq.SNDHWM, 0)
        junk.connect(rel_ep)
        socks.append(junk)
        for i in range(JUNK):
            junk.setsockopt(zmq.SUBSCRIBE, b"junk/%d/" % i)
        st = rel.wait_for(
            lambda p: p.latest() if p.value("subs_refused") >= JUNK -
            PER_CLIENT else None, 30, "the junk refused")
        assert st["subs_refused"] == JUNK - PER_CLIENT, rel.describe()
        assert st["subs_added"] - st["subs_removed"] == (
            held + WAITERS + PER_CLIENT), rel.describe()
        assert rel.matches(re.compile(r"refused a subscription of junk/"
                                      r"\d+/: .*--max-subs-per-client"))
        # The junk it kept selects no topic, so it goes no further: once a
        # marker subscribed after it reaches the capture, the capture has
        # seen none of the junk (a few waiters may still be on their way;
        # the junk would be PER_CLIENT more).
        assert st["subs_not_passed"] == PER_CLIENT, rel.describe()
        added = cap.wait_for(lambda p: p.latest() if p.value(
            "subs_added") >= WAITERS else None, 15, "the waiters passed up"
        )["subs_added"]
        marker = ctx.socket(zmq.SUB)
        marker.setsockopt(zmq.LINGER, 0)
        marker.connect(rel_ep)
        socks.append(marker)
        marker.setsockopt(zmq.SUBSCRIBE, b"raw/marker/")
        cap.wait_for(lambda p: p.value("subs_added") >= added + 1, 15,
                     "the marker passed up")
        assert cap.value("subs_added") < added + 1 + WAITERS // 4, \
            cap.describe()
        assert cap.value("subs_refused") == 0, cap.describe()

        # The viewer that was there keeps its frames; one that comes
        # after the flood is served too.
        verifying(before, 60)
        after = procs.display(rel_ep)
        verifying(after, 30)
        verifying(before, 30)
        assert rel.value("subs_refused") == JUNK - PER_CLIENT

        # /metrics shows the same.
        assert metric(http, "vidpipe_relay_subs_refused_total") == (
            JUNK - PER_CLIENT)

        # The junk goes with its client.
        now = rel.value("subs_added") - rel.value("subs_removed")
        junk.close()
        socks.remove(junk)
        rel.wait_for(lambda p: p.value("subs_added") -
                     p.value("subs_removed") == now - PER_CLIENT, 15,
                     "the junk client's entries gone")
        verifying(after, 30)
    finally:
        for s in socks:
            s.close()
        ctx.term()
