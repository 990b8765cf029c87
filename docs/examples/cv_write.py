#!/usr/bin/python3
"""cv_write.py -- OpenCV writes a vidpipe stream, through GStreamer.

    ... raw bgr24 frames ... | GST_PLUGIN_PATH=build/gstreamer-1.0 \
        python3 cv_write.py WxH [ENDPOINT [FPS]]

Reads raw bgr24 frames of WxH from stdin (any program's: ffmpeg -f
rawvideo -, vidpipe-display -o raw:-, a camera) and writes each with
cv2.VideoWriter through vidpipesink, which publishes them on ENDPOINT
(default tcp://127.0.0.1:5555) as vidpipe-capture does: shared memory for
subscribers on this host, raw, JPEG or H.264 for the others.  Frames go
out at FPS (default 30); the first waits up to 5 s for a subscriber.  No
vidpipe code: only OpenCV and the vidpipe GStreamer plugin.
"""
import sys

import cv2
import numpy

if len(sys.argv) < 2:
    sys.exit(__doc__)
w, h = (int(v) for v in sys.argv[1].split("x"))
url = sys.argv[2] if len(sys.argv) > 2 else "tcp://127.0.0.1:5555"
fps = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0

out = cv2.VideoWriter(
    "appsrc ! videoconvert ! vidpipesink endpoint=%s wait-subscriber=5000"
    % url, cv2.CAP_GSTREAMER, 0, fps, (w, h))
if not out.isOpened():
    sys.exit("cv_write: cannot open %s" % url)
size = w * h * 3
n = 0
while True:
    buf = sys.stdin.buffer.read(size)
    if len(buf) < size:
        break
    out.write(numpy.frombuffer(buf, numpy.uint8).reshape(h, w, 3))
    n += 1
out.release()  # EOS: every frame written has been published
print("cv_write: %d frames" % n, file=sys.stderr)
