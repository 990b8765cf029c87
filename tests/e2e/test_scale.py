"""test_scale.py -- a relay with hundreds of inputs (issue 24).

A gateway's relay connects to every camera it knows of, most of which
may not be up yet.  Here one relay gets 256 -i endpoints, of which 40 are
live: vidpipe.Publisher objects in this test's own process, each bound
to its own port, sending small test: frames (64x48, 10 fps).  Displays
on the relay's output, over TCP and over shared memory, verify the
frames of streams far beyond the 16th by their pixels (each frame shows
its own seq; one display asks for H.264, which the publisher then
makes), and the relay reports how many streams it carries.  A
relay whose --max-streams is reached refuses the streams past it with
one warning line naming the flag and a counter, and the streams it
carries keep flowing.
"""

import re
import urllib.request

from conftest import free_ep, free_port, import_vidpipe

import_vidpipe()  # skips this module where the package is not built
REFUSED_LINE = re.compile(r"warning: stream (cam\d+): .*refused; raise "
                          r"--max-streams \((\d+)\)")


def verify(dis, n=20):
    """Waits for n frames verified by their pixels, none mismatched."""
    dis.wait_for(lambda p: p.value("verified") >= n, 30,
                 "%d verified frames" % n)
    assert dis.value("mismatch") == 0, dis.describe()


def test_relay_carries_hundreds_of_inputs(procs, cameras):
    cams = cameras(40)
    cams.start(40)
    absent = [free_ep() for _ in range(216)]  # cameras not up yet
    inputs = absent[:100] + cams.eps + absent[100:]
    assert len(inputs) == 256
    out, port = free_ep(), free_port()
    rel = procs.relay(inputs, out, "--http", "127.0.0.1:%d" % port)
    # A viewer of every stream makes the relay carry all 40.
    every = procs.display(out, transport="auto")
    rel.wait_for(lambda p: p.value("streams") == 40, 30, "40 streams")
    # Streams far beyond the 16th, over TCP and over shared memory.
    views = [procs.display(out, "-s", "cam%02d" % i, transport=t)
             for i, t in ((17, "tcp"), (39, "tcp"), (25, "auto"),
                          (38, "auto"))]
    # H.264 made upstream on demand, keyframe requests passed through.
    views.append(procs.display(out, "-s", "cam33", "--variant", "h264"))
    for v in views:
        verify(v)
    assert [v.value("path") for v in views] == ["tcp", "tcp", "shm", "shm",
                                                "tcp"]
    verify(every, 100)
    assert rel.value("streams") == 40
    assert rel.value("stream_frames_refused") == 0
    metrics = urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    assert "# TYPE vidpipe_relay_streams gauge" in metrics, metrics
    assert re.search(r"^vidpipe_relay_streams 40$", metrics, re.M), metrics
    assert re.search(r"^vidpipe_relay_stream_frames_refused_total 0$",
                     metrics, re.M), metrics
    assert not [l for l in rel.log() if "error" in l], rel.describe(20)
    cams.check()


def test_max_streams_refuses_the_rest(procs, cameras):
    cams = cameras(8)
    out = free_ep()
    rel = procs.relay(cams.eps, out, "--max-streams", 4)
    every = procs.display(out, transport="auto")
    cams.start(4)  # these four come first and are carried
    rel.wait_for(lambda p: p.value("streams") == 4, 30, "4 streams")
    cams.start(8)
    rel.wait_for(lambda p: p.value("stream_frames_refused") > 0, 30,
                 "refused frames")
    first = [procs.display(out, "-s", "cam%02d" % i, transport=t)
             for i, t in ((0, "tcp"), (3, "auto"))]
    for d in first:
        verify(d)
    verify(every, 40)
    # Refusals go on; the count grows, the line is said once.
    seen = rel.value("stream_frames_refused")
    rel.wait_for(lambda p: p.value("stream_frames_refused") > seen + 20, 30,
                 "more refused frames")
    lines = rel.matches(REFUSED_LINE)
    assert len(lines) == 1, rel.describe(20)
    assert lines[0].group(1) in cams.names[4:] and lines[0].group(2) == "4"
    assert rel.value("streams") == 4
    assert rel.alive()
    cams.check()
