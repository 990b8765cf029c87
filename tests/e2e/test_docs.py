"""test_docs.py -- docs/STATS.md names every key the programs report.

Two sources of keys, both checked against STATS.md's tables: what the
real programs print with --stats-json (a capture with raw, JPEG and H.264
subscribers, a relay forwarding descriptors, displays of each codec),
and every name the sources give vp_stats_add() plus the fixed keys of
stats.c, so that a counter only some runs show (a display of H.264 that
lost a frame) is caught too.
"""

import os
import re
import signal

from conftest import free_ep

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STATS_MD = os.path.join(ROOT, "docs", "STATS.md")
# Where a program or the library adds counters.
SOURCES = ["capture", "display", "relay", "rtsp", "schema", "python/src",
           "docs/examples", "gst"]


def documented():
    """The keys in STATS.md's tables: each `key` of a row's first cell."""
    keys = set()
    with open(STATS_MD) as f:
        for line in f:
            if line.startswith("|") and not line.startswith("| ---"):
                keys.update(re.findall(r"`(\w+)`", line.split("|")[1]))
    return keys


def c_files():
    for top in SOURCES:
        for d, _, names in os.walk(os.path.join(ROOT, top)):
            for n in names:
                if n.endswith(".c"):
                    yield os.path.join(d, n)


def source_keys():
    """{key: where} for every name given to vp_stats_add() or
    vp_stats_add_gauge() (a literal, or
    the literals of the array, or array of {name, counter}, a call
    indexes) and every fixed key of
    stats.c's report; fails on a name it cannot read."""
    keys = {}
    for path in c_files():
        with open(path) as f:
            src = f.read()
        rel = os.path.relpath(path, ROOT)
        for m in re.finditer(
                r"\b(?:vp|cli)_stats_add(?:_gauge)?\s*\(([^;]*?)\)\s*;", src):
            call = m.group(1)
            if re.match(r"\s*vp_stats\s*\*", call):
                continue  # a definition
            arg = [a.strip() for a in call.split(",")][1]
            if arg == "name":
                continue  # a wrapper passing its caller's name on
            lit = re.fullmatch(r'"(\w+)"', arg)
            arr = re.fullmatch(r"(\w+)\[\w+\](?:\.name)?", arg)
            if lit:
                names = [lit.group(1)]
            elif arr:
                d = re.search(r"\b%s\s*\[\]\s*=\s*\{(.*?)\}\s*;" %
                              arr.group(1), src, re.S)
                assert d, "%s: where are %s's names?" % (rel, arg)
                names = re.findall(r'"(\w+)"', d.group(1))
            else:
                raise AssertionError("%s: vp_stats_add(..., %s): a name "
                                     "this test cannot read" % (rel, arg))
            for n in names:
                keys.setdefault(n, rel)
    stats_c = os.path.join(ROOT, "schema", "api", "stats.c")
    with open(stats_c) as f:
        src = f.read()
    fixed = re.findall(r'\{"(\w+)",\s*VP_STAT_\w+\}', src)
    fixed += re.findall(r'\\"(\w+)\\":\\"%s\\"', src)  # prog, event
    assert {"frames", "t", "stalled", "prog", "event"} <= set(fixed), fixed
    for n in fixed:
        keys.setdefault(n, "schema/api/stats.c")
    return keys


def test_every_source_key_documented():
    keys = source_keys()
    # Keys STATS.md once lacked, and a program's own: the scan finds them.
    assert {"h264_encodes", "keyframes", "keyframe_requests",
            "waiting_keyframe", "send_bounds_raised",
            "late_skips", "verified"} <= set(keys), sorted(keys)
    missing = {k: w for k, w in keys.items() if k not in documented()}
    assert not missing, "keys not in docs/STATS.md: %s" % missing


def test_documented_keys_exist():
    """A key STATS.md lists that no source names any more is stale."""
    stale = documented() - set(source_keys())
    assert not stale, "docs/STATS.md lists keys nobody reports: %s" % stale


def test_every_printed_key_documented(procs):
    cap_ep, rel_ep = free_ep(), free_ep()
    cap = procs.capture(cap_ep)
    rel = procs.relay(cap_ep, rel_ep)
    shown = [procs.display(cap_ep),  # raw payloads over TCP
             procs.display(cap_ep, "--variant", "jpeg"),
             procs.display(cap_ep, "--variant", "h264"),
             procs.display(rel_ep, transport="auto")]  # via the relay's ring
    for d in shown:
        d.wait_for(lambda p: any(t["frames"] > 0 for t in p.ticks()), 15,
                   "a tick with frames")
    cap.wait_for(lambda p: any(t.get("h264_encodes", 0) > 0 and
                               t.get("jpeg_encodes", 0) > 0
                               for t in p.ticks()), 10,
                 "a tick with JPEG and H.264 encodes")
    everyone = [cap, rel] + shown
    for p in everyone:
        p.kill(signal.SIGINT)  # each prints its exit line
    for p in everyone:
        p.wait()
    printed = {}
    for p in everyone:
        assert p.exit_stats(), p.describe()
        for obj in p.stats:
            for k in obj:
                if k != "_rx":  # the test's own: when it read the line
                    printed.setdefault(k, p.name)
    # The run showed what it is meant to: each program's own keys.
    assert {"late_skips", "h264_encodes", "verified", "waiting_keyframe",
            "shm_forwarded", "received"} <= set(printed), sorted(printed)
    missing = {k: w for k, w in printed.items() if k not in documented()}
    assert not missing, "keys not in docs/STATS.md: %s" % missing
