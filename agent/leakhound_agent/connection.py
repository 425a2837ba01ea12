"""The agent's end of the host socket: NDJSON lines over AF_UNIX.

Any failure means the host is gone: the caller turns the agent off. Writes
are serialized by one lock so lines never interleave.

The socket is the native sampler's (``unix_connect``/``send_all``/``recv`` on
a plain fd) when its extension is already built, else ``_socket``'s (not
socket.py: it would pull in selectors, enum and friends). ``_socket`` costs
the target ~180 KB of resident memory (its module and shared object), the
extension nothing more: it is loaded anyway.
"""

import _thread
import os
import time

from . import protocol

# A host that has not taken a line for this long is gone (the thread blocks in
# the background; the exit path lowers it to keep the target's exit prompt).
SEND_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
_MAX_LINE = 1 << 20
_RECV_BYTES = 4096  # host messages are short: no 64 KB buffer per read


class _FdSocket(object):
    """The native extension's socket calls on a plain fd, with _socket's method names."""

    __slots__ = ("_ext", "_fd", "_timeout")

    def __init__(self, ext, path, timeout):
        self._ext = ext
        self._timeout = timeout
        self._fd = ext.unix_connect(path, timeout)

    def settimeout(self, timeout):
        self._timeout = timeout

    def sendall(self, data, _flags=0):
        self._ext.send_all(self._fd, data, self._timeout)

    def recv(self, n):
        return self._ext.recv(self._fd, n, self._timeout)

    def close(self):
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _open(path, native):
    if native is not None and hasattr(native, "unix_connect"):
        return _FdSocket(native, path, CONNECT_TIMEOUT), 0
    import _socket

    # The bare C socket type: non-inheritable (close-on-exec) like socket.socket.
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock, getattr(_socket, "MSG_NOSIGNAL", 0)  # a dead host must not SIGPIPE the target


class HostGone(Exception):
    pass


class Connection(object):
    def __init__(self, path, native=None):
        """Connect to the host at ``path``; ``native``: the loaded _lhsampler module, if any."""
        self._sock, self._nosignal = _open(path, native)
        self.send_timeout = SEND_TIMEOUT
        self._lock = _thread.allocate_lock()
        self._buffer = b""
        self.pid = os.getpid()

    def send(self, *messages):
        """Send messages in order, each encoded just before it goes (no joined copy of them all).

        A message that cannot be encoded raises its own error (the ones before it are sent).
        """
        if not self._lock.acquire(True, self.send_timeout):
            raise HostGone("send lock busy")
        try:
            for message in messages:
                data = protocol.encode(message)
                try:
                    sock = self._sock
                    if sock is None:
                        raise HostGone("closed")
                    sock.settimeout(self.send_timeout)
                    sock.sendall(data, self._nosignal)
                except HostGone:
                    raise
                except Exception as error:
                    self._close_locked()
                    raise HostGone(str(error))
                del data
        finally:
            self._lock.release()

    def read_message(self, timeout):
        """The next host message we understand, or None at EOF/timeout."""
        return self._read(time.monotonic() + timeout, False)

    def poll_message(self):
        """A host message that has already arrived, or None; never waits.

        Takes the send lock (without waiting for it), so a poll never changes the
        socket's timeout under a send in another thread.
        """
        if self._sock is None or not self._lock.acquire(False):
            return None
        try:
            return self._read(time.monotonic(), True)
        finally:
            self._lock.release()

    def _read(self, deadline, poll):
        sock = self._sock
        if sock is None:
            return None
        while True:
            newline = self._buffer.find(b"\n")
            while newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1:]
                message = protocol.decode_host_line(line)
                if message is not None:
                    return message
                newline = self._buffer.find(b"\n")
            remaining = deadline - time.monotonic()
            if (remaining <= 0 and not poll) or len(self._buffer) > _MAX_LINE:
                return None
            try:
                sock.settimeout(max(0.0, remaining))
                chunk = sock.recv(_RECV_BYTES)
            except Exception:
                return None
            if not chunk:
                return None
            self._buffer += chunk
            poll = False  # one read without waiting, then only what is buffered

    def _close_locked(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass

    def close(self):
        """Close our socket. Never shuts the connection down, so a fork's copy is harmless to the parent."""
        self._close_locked()
