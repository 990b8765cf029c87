"""test_window.py -- the window sink, judged from a screenshot.

The display opens its window on a private Xvfb; the test grabs the real
window's pixels from the X server (xwd), crops them with ffmpeg and reads
the test: pattern back with vidpipe-patcheck.  The capture makes a frame
when the test says (capture_step) and the display, having shown it, waits
(display_step): the window then shows exactly that frame, and the test
knows which.  The screenshots are kept as PNG under tests/out/ for people
to look at.
"""

import ctypes
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import free_ep, join, lockstep, prog

W, H = 640, 360
STREAM = "e2ewin"


def window_geometry(display, name):
    """(x, y, w, h) of the viewable top-level window called name, or
    None."""
    r = subprocess.run(["xwininfo", "-display", display, "-name", name],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return None
    g = {}
    for key, pat in (("x", r"Absolute upper-left X:\s+(-?\d+)"),
                     ("y", r"Absolute upper-left Y:\s+(-?\d+)"),
                     ("w", r"Width:\s+(\d+)"), ("h", r"Height:\s+(\d+)"),
                     ("map", r"Map State:\s+(\w+)")):
        m = re.search(pat, r.stdout)
        if not m:
            return None
        g[key] = m.group(1)
    if g["map"] != "IsViewable":
        return None
    return int(g["x"]), int(g["y"]), int(g["w"]), int(g["h"])


def screenshot(display, geom, png=None, when=None):
    """Grabs the screen and returns the window's pixels as bgr24 bytes;
    also writes them to png if given.  when, a list, gets the monotonic
    times just before and after the grab."""
    x, y, w, h = geom
    with tempfile.TemporaryDirectory() as tmp:
        shot = os.path.join(tmp, "shot.xwd")
        with open(shot, "wb") as f:
            t0 = time.monotonic()
            xwd = subprocess.run(["xwd", "-root", "-display", display,
                                  "-silent"], stdout=f,
                                 stderr=subprocess.PIPE, timeout=20)
            if when is not None:
                when[:] = [t0, time.monotonic()]
        assert xwd.returncode == 0, xwd.stderr
        crop = "crop=%d:%d:%d:%d" % (w, h, x, y)
        ff = subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-i", shot, "-vf", crop,
             "-pix_fmt", "bgr24", "-f", "rawvideo", "-"],
            capture_output=True, timeout=30)
    assert ff.returncode == 0, ff.stderr
    assert len(ff.stdout) == w * h * 3, len(ff.stdout)
    if png:
        subprocess.run(
            ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo",
             "-pix_fmt", "bgr24", "-s", "%dx%d" % (w, h), "-i", "-", png],
            input=ff.stdout, capture_output=True, timeout=30, check=True)
    return ff.stdout


def patcheck(px, w, h):
    r = subprocess.run([prog("patcheck"), "--size", "%dx%d" % (w, h),
                        "--pix-fmt", "bgr24"], input=px,
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.decode().splitlines()[0])["seq"]


def press_key(display, geom, key):
    """Types key into the window through XTEST (libXtst, loaded at run
    time); False if that is not available here."""
    try:
        x11 = ctypes.CDLL("libX11.so.6")
        xtst = ctypes.CDLL("libXtst.so.6")
    except OSError:
        return False
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XStringToKeysym.restype = ctypes.c_ulong
    x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
    x11.XKeysymToKeycode.restype = ctypes.c_ubyte
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                          ctypes.c_int, ctypes.c_int,
                                          ctypes.c_ulong]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint,
                                       ctypes.c_int, ctypes.c_ulong]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return False
    try:
        code = x11.XKeysymToKeycode(dpy, x11.XStringToKeysym(key.encode()))
        x, y, w, h = geom
        # No window manager: keys go to the window under the pointer.
        xtst.XTestFakeMotionEvent(dpy, -1, x + w // 2, y + h // 2, 0)
        xtst.XTestFakeKeyEvent(dpy, code, 1, 0)
        xtst.XTestFakeKeyEvent(dpy, code, 0, 0)
        x11.XSync(dpy, 0)
    finally:
        x11.XCloseDisplay(dpy)
    return True


def overlay_corner(px, w, h, bw=300, bh=20):
    """Which corner of the window shows the overlay (light text on a black
    box), or None.  The pattern never has that in a corner: its band's
    quiet zone is grey, its ramp is black over a few columns only."""
    corners = {"top-left": (2, 2), "top-right": (w - bw - 2, 2),
               "bottom-left": (2, h - bh - 2),
               "bottom-right": (w - bw - 2, h - bh - 2)}
    for name, (x0, y0) in corners.items():
        black = bright = 0
        for y in range(y0, y0 + bh):
            g = px[(y * w + x0) * 3 + 1:(y * w + x0 + bw) * 3:3]
            black += sum(1 for v in g if v < 16)
            bright += sum(1 for v in g if v > 160)
        if black > bw * bh // 2 and bright > 50:
            return name
    return None


@pytest.fixture
def window(xvfb, procs, tmp_path):
    """A stepped capture and a stepped display -o window on the Xvfb, the
    display showing frame y and waiting; yields (display proc, capture
    proc, y, geometry)."""
    cap_ep = free_ep()
    rt = tmp_path / "xdg-runtime"
    rt.mkdir(mode=0o700)
    dis = procs.display(cap_ep, sink="window", transport="auto", step=True,
                        env={"DISPLAY": xvfb.display,
                             "XDG_RUNTIME_DIR": str(rt)})
    cap = procs.capture(cap_ep, size="%dx%d" % (W, H), stream=STREAM,
                        step=True)
    y = join(cap, [dis])
    deadline = time.monotonic() + 15
    geom = None
    while time.monotonic() < deadline:
        geom = window_geometry(xvfb.display, STREAM)
        if geom:
            break
        time.sleep(0.1)
    assert geom, "no viewable window named %r on %s" % (STREAM, xvfb.display)
    yield dis, cap, y, geom


def wait_shown(xvfb, geom, y, png=None, timeout=15):
    """Screenshots until the window shows frame y (the X server draws it
    when the display's toolkit gets to it): its pixels, failing if it
    shows a newer frame, or y not within timeout."""
    x, _, w, h = geom
    deadline = time.monotonic() + timeout
    while True:
        px = screenshot(xvfb.display, geom, png=png)
        seq = patcheck(px, w, h)
        if seq == y:
            return px
        assert seq is None or seq < y, "the window shows seq %d, the " \
            "display showed %d" % (seq, y)
        assert time.monotonic() < deadline, "the window shows seq %s, " \
            "not %d (see %s)" % (seq, y, png)
        time.sleep(0.05)


def test_window_shows_the_frame_it_took(window, xvfb, outdir):
    dis, cap, y, geom = window
    x, _, w, h = geom
    assert (w, h) == (W, H), "window is %dx%d, frames are %dx%d" % (
        w, h, W, H)
    for i in range(3):
        if i:
            y = lockstep(cap, [dis], 1)[0]
        wait_shown(xvfb, geom, y,
                   png=os.path.join(outdir, "window-overlay.png"))
    st = dis.tick_after(time.monotonic())
    assert st["mismatch"] == 0 and st["bad"] == 0 and st["torn"] == 0, st
    assert dis.alive() and cap.alive()


def test_window_overlay_toggles(window, xvfb, outdir):
    """Key 'o' hides the overlay (from the next frame drawn); the whole
    code band is then visible and still decodes."""
    dis, cap, y, geom = window
    x, _, w, h = geom
    px = wait_shown(xvfb, geom, y)
    corner = overlay_corner(px, w, h)
    assert corner, "the overlay is not shown by default (no corner of " \
        "the window holds text on a black box)"
    dis.step()  # idle: the window serves its keys
    if not press_key(xvfb.display, geom, "o"):
        pytest.skip("no libXtst to type into the window")
    # The key is served within the display's next loop; a frame drawn
    # before that still has the overlay.
    deadline = time.monotonic() + 15
    while True:
        y = lockstep(cap, [dis], 1, waiting=False)[0]
        px = wait_shown(xvfb, geom, y)
        if overlay_corner(px, w, h) is None:
            break
        assert time.monotonic() < deadline, \
            "the overlay is still shown 15 s after pressing 'o'"
        dis.step()
    screenshot(xvfb.display, geom,
               png=os.path.join(outdir, "window-no-overlay.png"))
    assert dis.alive()
