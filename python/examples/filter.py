#!/usr/bin/python3
"""filter.py -- an OpenCV node: subscribes, draws edges, publishes.

    vidpipe-capture -i test: -o tcp://127.0.0.1:5555 &
    PYTHONPATH=python python/examples/filter.py -i tcp://127.0.0.1:5555 \\
        -o tcp://127.0.0.1:5557 &
    vidpipe-relay -i tcp://127.0.0.1:5557 -o tcp://127.0.0.1:5556 &
    vidpipe-display -i tcp://127.0.0.1:5556 -s edges

or in a shell pipeline:

    vidpipe-capture -o - | python/examples/filter.py -i - -o - |
        vidpipe-display -i -

Each frame is copied once, from its ring slot into the publisher's next
loaned slot; the edges (cv2.Canny) of the lower half of the picture are
painted over it there in green, and the frame is committed as a frame of
the stream "edges" with the same seq.  The upper part, where a test:
frame carries its seq, is left alone, so displays downstream still
verify every frame.  A frame overwritten in its ring while copied is
dropped, not published.
"""

import argparse
import json
import signal
import sys

import cv2

import vidpipe


def edges_over(img):
    """Paints the Canny edges of img's lower half green, in place."""
    low = img[img.shape[0] // 2:]
    gray = low if low.ndim == 2 else cv2.cvtColor(low, cv2.COLOR_BGR2GRAY)
    mask = cv2.dilate(cv2.Canny(gray, 80, 160), None) > 0  # 3 px wide
    low[mask] = 255 if low.ndim == 2 else (0, 255, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-i", "--input", default="tcp://127.0.0.1:5555",
                    help="publisher to subscribe to, or - for stdin")
    ap.add_argument("-o", "--output", default="tcp://127.0.0.1:5557",
                    help="endpoint to bind, or - for stdout")
    ap.add_argument("--in-stream", help="only this input stream")
    ap.add_argument("-s", "--stream", default="edges",
                    help="the stream published (default edges)")
    ap.add_argument("--no-shm", action="store_true",
                    help="payloads only, in and out")
    ap.add_argument("-n", "--frames", type=int, default=0,
                    help="stop after N frames")
    ap.add_argument("--stats-json", action="store_true",
                    help="a JSON stats line a second on stderr")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if a.input == "-":
        sub = vidpipe.StreamReader(sys.stdin.buffer)
    else:
        sub = vidpipe.Subscriber(a.input, stream=a.in_stream,
                                 shm=not a.no_shm)
    if a.output == "-":
        pub = vidpipe.StreamWriter(sys.stdout.buffer, stream=a.stream)
    else:
        pub = vidpipe.Publisher(a.output, stream=a.stream, shm=not a.no_shm)

    def report(final=False):
        st = pub.stats(final=final)
        st["torn"] = sub.stats(final=final)["torn"]
        if a.stats_json:
            print(json.dumps(st, separators=(",", ":")), file=sys.stderr,
                  flush=True)
        else:
            print(pub.stats_line(final=final), file=sys.stderr, flush=True)

    n = 0
    try:
        for f in sub:
            with f:
                src = f.array
                try:
                    out = pub.loan(f.height, f.width, 3 if src.ndim == 3 else 1)
                except BlockingIOError:
                    continue  # every buffer still in flight: dropped
                out[:] = src
                del src
                if not f.intact():
                    pub.cancel()  # overwritten while copied
                    continue
                edges_over(out)
                del out
                pub.commit(f.seq)
            n += 1
            if pub.tick():
                report()
            if a.frames and n >= a.frames:
                break
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    report(final=True)
    pub.close()
    sub.close()


if __name__ == "__main__":
    main()
