#!/usr/bin/python3
"""cv_read.py -- OpenCV reads a vidpipe stream, through GStreamer.

    GST_PLUGIN_PATH=build/gstreamer-1.0 python3 cv_read.py \
        [ENDPOINT [FRAMES]] > frames.bgr

Opens vidpipesrc with cv2.CAP_GSTREAMER, reads FRAMES frames (default
100) as BGR arrays, writes their pixels to stdout (raw bgr24, which
vidpipe-patcheck reads) and their shape to stderr.  No vidpipe code: only
OpenCV and the vidpipe GStreamer plugin.  Exits 0 once FRAMES came, 1 if
the stream could not be opened or ended first.
"""
import sys

import cv2

url = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5556"
frames = int(sys.argv[2]) if len(sys.argv) > 2 else 100

# appsink keeps only the newest frame, as vidpipe does: a slow reader
# skips frames rather than reading old ones.
cap = cv2.VideoCapture(
    "vidpipesrc endpoint=%s ! videoconvert ! video/x-raw,format=BGR ! "
    "appsink max-buffers=1 drop=true sync=false" % url, cv2.CAP_GSTREAMER)
if not cap.isOpened():
    sys.exit("cv_read: cannot open %s" % url)
for n in range(frames):
    ok, img = cap.read()
    if not ok:
        sys.exit("cv_read: the stream ended after %d frames" % n)
    if n == 0:
        print("cv_read: %dx%d, %d channels" % (img.shape[1], img.shape[0],
                                               img.shape[2]), file=sys.stderr)
    sys.stdout.buffer.write(img.tobytes())
cap.release()
