"""test_h264web.py -- H.264 from the relay to browsers and players (issue 25).

A capture's test: pattern goes through a relay started with --http, which
serves its H.264 variant as /stream/NAME.h264 (Annex B) and .mp4
(fragmented MP4), with no encoding of its own.  ffmpeg reads both; the
viewer page plays it in headless Chromium through WebCodecs on loopback
(a secure context) and through MSE over plain HTTP on a LAN address (a
browser in a network namespace of the test's own); every picture judged
is read back from the canvas's pixels by vidpipe-patcheck.  The slow
viewer sits behind a 2 Mbit/s tbf link.
"""

import base64
import json
import re
import subprocess
import time
import urllib.request

import pytest

from conftest import free_ep, free_port, wait_until
from test_http import (CHROMIUM, CHROMEDRIVER, browser, get,
                       metrics, need, one, secured, seqs_of_image,
                       seqs_of_raw, slow_host, start, wait_stream)

W, H = 640, 360

# One script, so the seq and the pixels are of the same drawn frame.
SHOT = """
const c = document.getElementById('c'), v = window.vidpipeView;
return v && v.frames ? Object.assign({}, v, {
    canvas_seq: parseInt(c.dataset.seq),
    shown: document.getElementById('transport').textContent,
    png: c.toDataURL('image/png')}) : null;
"""


def shot(d, after=0):
    """The page's figures once it drew a frame past seq after."""
    return wait_until(lambda: (lambda r: r if r and r["seq"] > after
                               else None)(d.execute_script(SHOT)),
                      20, "a frame drawn past seq %d" % after)


def verify(r, w=W, h=H):
    """The canvas shows the frame the page says it drew."""
    png = base64.b64decode(r["png"].split(",", 1)[1])
    assert seqs_of_image(png, w, h) == [r["canvas_seq"]], r["canvas_seq"]


def ffmpeg_frames(url, n, timeout=30, tls=False):
    """n frames of url decoded by ffmpeg, as their pattern seqs."""
    r = subprocess.run(["ffmpeg", "-loglevel", "error"] +
                       (["-tls_verify", "0"] if tls else []) + ["-i", url,
                        "-frames:v", str(n), "-f", "rawvideo", "-pix_fmt",
                        "bgr24", "-"], capture_output=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return seqs_of_raw(r.stdout, W, H)


def figure(base, name, **labels):
    """A figure of /metrics, 0 while it is not there yet."""
    try:
        return one(metrics(base), name, **labels)
    except KeyError:
        return 0


def h264_viewers(base):
    m = metrics(base)
    return {l["peer"]: (v, one(m, "vidpipe_h264_viewer_skipped_total",
                               peer=l["peer"]))
            for l, v in m.get("vidpipe_h264_viewer_frames_total", [])}


# --- players -----------------------------------------------------------------

def test_ffmpeg_reads_h264_and_mp4(procs):
    need("ffmpeg", "ffprobe")
    cap, rel, base, _ = start(procs, "--http-max-clients", "2")
    wait_stream(base)
    for ext in ("h264", "mp4"):
        seqs = ffmpeg_frames(base + "/stream/cam0." + ext, 45)
        # Every frame decodes, in order, from the first (a keyframe).
        assert len(seqs) == 45 and None not in seqs, (ext, seqs)
        assert seqs == list(range(seqs[0], seqs[0] + 45)), (ext, seqs)
    # Each Annex B access unit says its seq and capture time in an SEI.
    r = subprocess.run(["curl", "-s", "-m", "2", base + "/stream/cam0.h264"],
                       capture_output=True)
    sei = re.findall(rb"vidpipe-t-real-1seq=(\d+) t_real_us=(\d+)\x80",
                     r.stdout)
    assert len(sei) > 30, len(sei)
    assert [int(a) + 1 for a, _ in sei[:-1]] == [int(a) for a, _ in sei[1:]]
    assert abs(int(sei[-1][1]) / 1e6 - time.time()) < 10, sei[-1]
    assert r.stdout.startswith(b"\0\0\0\1\x67"), r.stdout[:8]  # an SPS
    # The fragments' decode times are the frames' capture times.
    r = subprocess.run(["curl", "-s", "-m", "2", base + "/stream/cam0.mp4"],
                       capture_output=True)
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "packet=dts_time,flags", "-of", "json", "-"],
                       input=r.stdout, capture_output=True, timeout=20)
    pk = json.loads(p.stdout)["packets"]
    assert pk and pk[0]["flags"].startswith("K"), pk[:2]
    assert abs(float(pk[0]["dts_time"]) - time.time()) < 10, pk[0]
    # One encode a frame, in the capture, for all of them.
    t = cap.latest()
    assert t["h264_encodes"] <= t["frames"] and t["jpeg_encodes"] == 0, t
    m = metrics(base)
    assert one(m, "vidpipe_h264_keyframe_requests_total", stream="cam0") >= 3
    assert one(m, "vidpipe_h264_sent_frames_total", stream="cam0") >= 90

    # HEAD, bad names, other methods; the client limit covers H.264.
    req = urllib.request.Request(base + "/stream/cam0.mp4", method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "video/mp4"
    for path in ("/stream/.h264", "/stream/a%2Fb.mp4", "/stream/cam0.h265",
                 "/stream/" + "x" * 300 + ".h264"):
        assert 400 <= get(base + path)[0] < 500, path
    req = urllib.request.Request(base + "/stream/cam0.h264", data=b"x",
                                 method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert 400 <= e.value.code < 500
    held = [subprocess.Popen(["curl", "-s", "-N", "-o", "/dev/null",
                              base + "/stream/cam0." + x])
            for x in ("h264", "mp4")]
    try:
        wait_until(lambda: figure(base, "vidpipe_h264_viewers") == 2,
                   10, "two H.264 viewers")
        assert get(base + "/stream/cam0.h264")[0] == 503
        assert get(base + "/stream/cam0.mjpg")[0] == 503
    finally:
        for c in held:
            c.kill()
            c.wait()
    assert rel.alive()


def test_h264_behind_basic_auth_and_https(procs, tmp_path):
    need("openssl", "ffmpeg")
    cap, rel, base, ctx = secured(procs, tmp_path)
    wait_stream(base, auth="alice:s3cret", context=ctx)
    for ext in ("h264", "mp4"):
        url = base + "/stream/cam0." + ext
        assert get(url, context=ctx)[0] == 401
        assert get(url, auth="alice:wrong", context=ctx)[0] == 401
        seqs = ffmpeg_frames(url.replace("https://", "https://alice:s3cret@"),
                             30, tls=True)
        assert seqs == list(range(seqs[0], seqs[0] + 30)), (ext, seqs)
    assert rel.alive()


# --- WebCodecs on loopback ---------------------------------------------------

def test_webcodecs_page_and_a_join_mid_gop(procs, browser):
    """Keyframes only every 1000 frames: a page that joins while another
    viewer watches starts at once, at a keyframe asked for it."""
    need("ffmpeg")
    cap_ep, rel_ep, port = free_ep(), free_ep(), free_port()
    cap = procs.capture(cap_ep, "--gop", 1000, size="%dx%d" % (W, H), fps=30)
    rel = procs.relay(cap_ep, rel_ep, "--http", "127.0.0.1:%d" % port)
    base = "http://127.0.0.1:%d" % port
    wait_stream(base)
    first = subprocess.Popen(["curl", "-s", "-N", "-o", "/dev/null",
                              base + "/stream/cam0.h264"])
    try:
        wait_until(lambda: figure(base, "vidpipe_h264_sent_frames_total",
                                  stream="cam0") > 45, 10, "a first viewer")
        m = metrics(base)
        asks = one(m, "vidpipe_h264_keyframe_requests_total", stream="cam0")
        t0 = time.monotonic()
        browser.get(base + "/view/cam0")
        a = shot(browser)
        joined = time.monotonic() - t0
        m = metrics(base)
        assert a["transport"] == "webcodecs" and a["shown"] == "webcodecs", a
        assert joined < 5, joined
        # One keyframe request brought it, not the GOP.
        assert one(m, "vidpipe_h264_keyframe_requests_total",
                   stream="cam0") == asks + 1
        verify(a)
        b = shot(browser, a["seq"] + 45)
        verify(b)
        print("\nwebcodecs: first picture %.0f ms after the page opened; "
              "p50 %.1f ms p99 %.1f ms" % (joined * 1000, b["lat_p50_ms"],
                                           b["lat_p99_ms"]))
        assert b["drops"] == 0 and b["skipped"] == 0, b
        assert 0 <= b["lat_p50_ms"] < 500 and b["bytes"] > 0, b
        assert b["codec"].startswith("avc1."), b
        # ?codec=mjpeg forces MJPEG.
        browser.get(base + "/view/cam0?codec=mjpeg")
        c = shot(browser)
        assert c["transport"] == "mjpeg", c
        verify(c)
    finally:
        first.kill()
        first.wait()


# --- a browser on another host: MSE ------------------------------------------

class NsBrowser:
    """Chromium in the slow host's namespace, driven from here: its
    chromedriver listens on the namespace's address."""

    def __init__(self, host, tmp):
        from selenium import webdriver
        self.port = free_port()
        self.drv = host.popen([CHROMEDRIVER, "--port=%d" % self.port,
                               "--allowed-ips=" + host.here,
                               "--allowed-origins=*"])
        url = "http://%s:%d" % (host.there, self.port)
        wait_until(lambda: self._up(url), 10, "chromedriver in the netns")
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        for a in ("--headless", "--no-sandbox", "--disable-gpu",
                  "--no-first-run", "--disable-background-networking",
                  "--autoplay-policy=no-user-gesture-required",
                  "--user-data-dir=%s" % tmp, "--window-size=1400,1000"):
            o.add_argument(a)
        self.d = webdriver.Remote(command_executor=url, options=o)

    @staticmethod
    def _up(url):
        try:
            with urllib.request.urlopen(url + "/status", timeout=1) as r:
                return json.loads(r.read())["value"]["ready"]
        except OSError:
            return False

    def quit(self):
        try:
            self.d.quit()
        finally:
            self.drv.kill()
            self.drv.wait()


@pytest.fixture
def ns_browser(slow_host, tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed")
    b = NsBrowser(slow_host, tmp_path / "chromium")
    yield b.d
    b.quit()


def test_mse_page_on_a_lan_address(procs, slow_host, ns_browser):
    port = free_port()
    cap, rel, base, _ = start(procs, size="%dx%d" % (W, H),
                              http=slow_host.here, port=port)
    wait_stream(base)
    ns_browser.get(base + "/view/cam0")
    a = shot(ns_browser)
    # Plain HTTP on a LAN address is no secure context: no WebCodecs.
    assert a["transport"] == "mse" and a["shown"] == "mse", a
    verify(a)
    b = shot(ns_browser, a["seq"] + 60)
    verify(b)
    print("\nmse: p50 %.1f ms p99 %.1f ms, drops %d" % (
        b["lat_p50_ms"], b["lat_p99_ms"], b["drops"]))
    assert b["lat_p50_ms"] < 1000, b
    assert b["frames"] >= 60 and b["drops"] <= 5, b


# --- a slow viewer among full-rate ones --------------------------------------

def make_testsrc2(tmp_path, size="1920x1080", secs=4):
    """A file of ffmpeg's testsrc2: real content, 4 Mbit/s at 1080p."""
    f = tmp_path / "testsrc2.mkv"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=%s:rate=30" % size, "-t", str(secs),
                    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "18",
                    str(f)], check=True, timeout=60)
    return f


@pytest.mark.slow
def test_slow_viewer_skips_to_keyframes_others_keep_full_rate(
        procs, slow_host, ns_browser, tmp_path):
    need("ffmpeg", "curl")
    src = make_testsrc2(tmp_path)
    cap_ep, rel_ep, port = free_ep(), free_ep(), free_port()
    cap = procs.start("capture", "-i", str(src), "--loop", "-o", cap_ep)
    rel = procs.relay(cap_ep, rel_ep, "--http",
                      "%s:%d" % (slow_host.here, port), "--http-timeout", "30")
    base = "http://%s:%d" % (slow_host.here, port)
    wait_stream(base)
    url = base + "/stream/cam0.mp4"
    curls = [subprocess.Popen(["curl", "-s", "-N", "-o", "/dev/null", url])
             for _ in range(10)]
    try:
        # The browser behind 2 Mbit/s: MSE, as on any LAN address.
        ns_browser.get(base + "/view/cam0")
        a = shot(ns_browser)
        assert a["transport"] == "mse", a
        wait_until(lambda: len(h264_viewers(base)) == 11, 10, "11 viewers")
        m0, v0, t0 = metrics(base), h264_viewers(base), time.monotonic()
        time.sleep(6)
        m1, v1, t1 = metrics(base), h264_viewers(base), time.monotonic()
        b = ns_browser.execute_script("return window.vidpipeView")
        secs = t1 - t0
        rate = (one(m1, "vidpipe_h264_bytes_total", stream="cam0") -
                one(m0, "vidpipe_h264_bytes_total", stream="cam0")) * 8 / secs
        fps = (one(m1, "vidpipe_h264_frames_total", stream="cam0") -
               one(m0, "vidpipe_h264_frames_total", stream="cam0")) / secs
        slow = [p for p in v1 if p.startswith(slow_host.there)]
        fast = [p for p in v1 if p not in slow]
        print("\nstream %.2f Mbit/s %.1f fps; slow page: %d frames, p50 %.0f "
              "ms p99 %.0f ms, relay skipped %d for it; others %.1f-%.1f fps"
              % (rate / 1e6, fps, b["frames"], b["lat_p50_ms"],
                 b["lat_p99_ms"], v1[slow[0]][1],
                 min((v1[p][0] - v0[p][0]) / secs for p in fast),
                 max((v1[p][0] - v0[p][0]) / secs for p in fast)))
        assert rate > 3e6 and fps > 25, (rate, fps)
        assert len(slow) == 1 and len(fast) == 10, v1
        # Ten viewers at full rate, nothing skipped.
        for p in fast:
            assert v1[p][1] == 0, (p, v1[p])
            assert (v1[p][0] - v0[p][0]) / secs > 0.9 * fps, (p, v0, v1)
        # The slow one skips to keyframes, with a bounded latency.
        assert v1[slow[0]][1] > v0[slow[0]][1] > 0, v1[slow[0]]
        assert b["frames"] > a["frames"], b
        assert b["lat_p50_ms"] < 2500 and b["lat_p99_ms"] < 4000, b
        assert sum("behind by more than --http-h264-buffer (256 KiB)" in l
                   for l in rel.log()) == 1
        assert rel.alive() and cap.alive()
    finally:
        for c in curls:
            c.kill()
            c.wait()
