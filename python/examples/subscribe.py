#!/usr/bin/python3
"""subscribe.py -- receive frames as numpy arrays; print fps and latency.

    vidpipe-capture -i test: --size 1280x720 &
    PYTHONPATH=python python/examples/subscribe.py -i tcp://127.0.0.1:5555

Once a second it prints the subscriber's status line (fps, latency from
capture to here, drops, how frames came: shm or tcp), or with
--stats-json the JSON line the C programs print, on stderr.  test:
frames are checked: their pixels must show their own seq (verified,
mismatch).  Stops at Ctrl-C, SIGTERM or after --frames N, with a summary.
"""

import argparse
import json
import signal
import sys

import vidpipe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-i", "--input", action="append",
                    help="publisher (repeatable; default "
                         "tcp://127.0.0.1:5556), or - for a frame stream "
                         "on stdin")
    ap.add_argument("-s", "--stream", help="only this stream")
    ap.add_argument("--variant", default="raw",
                    help="raw, jpeg or h264: what to ask the publisher for")
    ap.add_argument("--no-shm", action="store_true",
                    help="payloads over ZeroMQ, never shared memory")
    ap.add_argument("-n", "--frames", type=int, default=0,
                    help="stop after N frames")
    ap.add_argument("--stats-json", action="store_true",
                    help="a JSON stats line a second on stderr")
    a = ap.parse_args()

    # SIGTERM ends the loop like Ctrl-C does, so the summary is printed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    inputs = a.input or ["tcp://127.0.0.1:5556"]
    if inputs == ["-"]:
        sub = vidpipe.StreamReader(sys.stdin.buffer)
    else:
        sub = vidpipe.Subscriber(inputs, stream=a.stream, codec=a.variant,
                                 shm=not a.no_shm)
    counts = {"verified": 0, "mismatch": 0}

    def report(final=False):
        if a.stats_json:
            st = sub.stats(final=final)
            st.update(counts)
            print(json.dumps(st, separators=(",", ":")), file=sys.stderr,
                  flush=True)
        else:
            line = sub.stats_line(final=final)
            for k, v in counts.items():
                if v or final:
                    line += "  %s %d" % (k, v)
            print(line, file=sys.stderr, flush=True)

    n = 0
    try:
        while not a.frames or n < a.frames:
            try:
                f = sub.recv(timeout=0.1)
            except EOFError:
                break
            if f is not None:
                with f:
                    pixels = f.array
                    f.shown()  # in our hands: its latency counts to here
                    seq = vidpipe.pattern_seq(pixels)
                    # Pixels read in place count only if still the frame's.
                    if f.intact() and f.width >= 64 and f.height >= 48:
                        counts["verified" if seq == f.seq else
                               "mismatch"] += 1
                n += 1
            if sub.tick():
                report()
    except KeyboardInterrupt:
        pass
    report(final=True)
    sub.close()


if __name__ == "__main__":
    main()
