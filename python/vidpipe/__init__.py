"""vidpipe -- live video into and out of numpy arrays.

A thin binding of libvidpipe (schema/vidpipe.h): on one host a received
frame's .array is a read-only view of the producer's shared-memory ring
slot, no copy; across hosts it is a view of the received message.  A
subscriber always gets the newest frame; frames it had no time for are
skipped and counted, never queued.

    import vidpipe
    with vidpipe.Subscriber("tcp://127.0.0.1:5555") as sub:
        for f in sub:
            print(f.seq, f.array.shape, f.latency_us)
            f.release()

docs/PYTHON.md has the API, the lifetime rules of views, threads and
examples.
"""

import os

from . import _vidpipe
from ._vidpipe import Frame, pattern_draw, pattern_seq, pattern_update, \
    set_log

__all__ = ["Subscriber", "Publisher", "StreamReader", "StreamWriter",
           "Frame", "pattern_seq", "pattern_draw", "pattern_update",
           "set_log", "version"]

version = _vidpipe.version
__version__ = _vidpipe.version()


def _paths(v):
    """None, one path or a list of paths, as str."""
    if v is None:
        return None
    if isinstance(v, (str, bytes, os.PathLike)):
        return os.fsdecode(v)
    return [os.fsdecode(x) for x in v]


def _fd(fileobj):
    """The descriptor of a file object (flushed first) or of an int."""
    if isinstance(fileobj, int):
        return fileobj
    flush = getattr(fileobj, "flush", None)
    if flush is not None:
        flush()
    return fileobj.fileno()


class Subscriber(_vidpipe.Sub):
    """Subscribes to one publisher or several (url: one or a list) and
    hands out the newest frame.

    recv(timeout=None) returns a Frame, or None when timeout seconds
    pass without one; iterating yields frames for ever.  stream: only
    this stream; codec: "raw" or "jpeg" (payloads across hosts); shm:
    use shared memory when the ring is on this host.  CURVE: the
    publisher's .pub file(s) and this subscriber's .key file; for urls
    it binds ("bind:tcp://..."), which publishers dial, curve_allow: a
    directory of the .pub files of those let in.
    """

    def __init__(self, url="tcp://127.0.0.1:5556", stream=None, codec="raw",
                 shm=True, curve_server_key=None, curve_secret=None,
                 curve_allow=None):
        urls = [url] if isinstance(url, str) else list(url)
        super().__init__(urls, stream=stream, codec=codec, shm=bool(shm),
                         curve_secret=_paths(curve_secret),
                         curve_server_keys=_paths(curve_server_key),
                         curve_allow=_paths(curve_allow))

    def __repr__(self):
        return "<vidpipe.Subscriber%s>" % (" closed" if self.closed else "")


class Publisher(_vidpipe.Pub):
    """Binds url and publishes frames of one stream: send(array) with one
    copy, or loan() a writable array that is the next ring slot or
    payload buffer itself and commit() it.

    ring: shm ring slots (2..64); shm False: payloads only; quality: JPEG
    quality for subscribers that ask for JPEG.  CURVE: this publisher's
    .key file and a directory of the .pub files of the subscribers let
    in; or, dialling a subscriber ("connect:tcp://..."), that
    subscriber's .pub file as curve_server_key.
    """

    def __init__(self, url="tcp://127.0.0.1:5555", stream="cam0", ring=8,
                 shm=True, quality=80, curve_secret=None, curve_allow=None,
                 curve_server_key=None):
        super().__init__(url, stream=stream, ring=ring, shm=bool(shm),
                         quality=quality, curve_secret=_paths(curve_secret),
                         curve_allow=_paths(curve_allow),
                         curve_server_key=_paths(curve_server_key))

    def __repr__(self):
        return "<vidpipe.Publisher%s>" % (" closed" if self.closed else "")


class StreamReader(_vidpipe.Sub):
    """Frames from a vidpipe frame stream (the "-" endpoint: a shell
    pipe, a recording) on fileobj's descriptor, e.g. sys.stdin.buffer.
    Iteration ends at the end of the stream; recv() then raises EOFError.
    Read the file only through this reader (bytes Python has buffered
    are not seen)."""

    def __init__(self, fileobj):
        self._file = fileobj  # kept open while read
        super().__init__(["-"], fd=_fd(fileobj))

    def __repr__(self):
        return "<vidpipe.StreamReader%s>" % (" closed" if self.closed
                                             else "")


class StreamWriter(_vidpipe.Pub):
    """Writes a vidpipe frame stream on fileobj's descriptor (e.g.
    sys.stdout.buffer, flushed first): send(array) or loan()/commit() as
    a Publisher, and write(frame) to pass a received frame through.
    codec "jpeg" writes JPEG frames of that quality."""

    def __init__(self, fileobj, stream="cam0", codec="raw", quality=80):
        self._file = fileobj
        fd = _fd(fileobj)
        self._dup = None
        if fd == 0:  # the library reads fd 0 as "stdout, the default"
            fd = self._dup = os.dup(fd)
        super().__init__("-", stream=stream, codec=codec, quality=quality,
                         fd=fd)

    def write(self, frame):
        """Writes a received frame as it is (seq, stream and times kept);
        a shm frame is copied and checked intact first (OSError ESTALE
        if it was overwritten)."""
        self._forward(frame)

    def close(self):
        super().close()
        if self._dup is not None:
            os.close(self._dup)
            self._dup = None

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<vidpipe.StreamWriter%s>" % (" closed" if self.closed
                                             else "")
