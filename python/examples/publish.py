#!/usr/bin/python3
"""publish.py -- a numpy source: the test: pattern, made in loaned buffers.

    PYTHONPATH=python python/examples/publish.py -o tcp://127.0.0.1:5555 &
    vidpipe-display -i tcp://127.0.0.1:5555

Each frame is drawn straight into the next shared-memory ring slot (or
payload buffer) that Publisher.loan() lends, then committed: no copy.
A buffer lent again is updated, not drawn anew (pattern_update).
The pattern carries the frame's seq, so any vidpipe-display verifies
it.  -o - writes a frame stream on stdout instead.
"""

import argparse
import json
import signal
import sys
import time

import vidpipe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default="tcp://127.0.0.1:5555",
                    help="endpoint to bind, or - for a frame stream on "
                         "stdout")
    ap.add_argument("-s", "--stream", default="cam0")
    ap.add_argument("--size", default="1280x720", help="WxH")
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--gray", action="store_true", help="gray, not bgr24")
    ap.add_argument("--ring", type=int, default=8, help="shm ring slots")
    ap.add_argument("-n", "--frames", type=int, default=0,
                    help="stop after N frames")
    ap.add_argument("--stats-json", action="store_true",
                    help="a JSON stats line a second on stderr")
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.split("x"))

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if a.output == "-":
        pub = vidpipe.StreamWriter(sys.stdout.buffer, stream=a.stream)
    else:
        pub = vidpipe.Publisher(a.output, stream=a.stream, ring=a.ring)

    def report(final=False):
        if a.stats_json:
            print(json.dumps(pub.stats(final=final), separators=(",", ":")),
                  file=sys.stderr, flush=True)
        else:
            print(pub.stats_line(final=final), file=sys.stderr, flush=True)

    period = int(1e9 / a.fps) if a.fps > 0 else 0
    t = time.monotonic_ns()
    seq = 0
    try:
        while not a.frames or seq < a.frames:
            try:
                buf = pub.loan(h, w, 1 if a.gray else 3)
            except BlockingIOError:  # every buffer in flight: dropped
                buf = None
            if buf is not None:
                # A buffer lent before still holds the picture drawn
                # there: only what changes is written.
                vidpipe.pattern_update(buf, seq)
                del buf  # the loan's memory is the publisher's
                pub.commit(seq)
            seq += 1
            if pub.tick():
                report()
            if period:
                t += period
                now = time.monotonic_ns()
                if now - t > 2 * period:
                    t = now  # fell behind: go on from now, no burst
                pub.wait_until(t)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    report(final=True)
    pub.close()


if __name__ == "__main__":
    main()
