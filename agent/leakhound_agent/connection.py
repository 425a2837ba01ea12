"""The agent's end of the host socket: NDJSON lines over AF_UNIX.

Any failure means the host is gone: the caller turns the agent off. Writes
are serialized by one lock so lines never interleave.
"""

import _socket  # not socket.py: it would pull in selectors, enum and friends
import _thread
import os
import time

from . import protocol

# A host that has not taken a line for this long is gone (the thread blocks in
# the background; the exit path lowers it to keep the target's exit prompt).
SEND_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
_NOSIGNAL = getattr(_socket, "MSG_NOSIGNAL", 0)  # a dead host must not SIGPIPE the target
_MAX_LINE = 1 << 20


class HostGone(Exception):
    pass


class Connection(object):
    def __init__(self, path):
        # The bare C socket type: non-inheritable (close-on-exec) like socket.socket.
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.send_timeout = SEND_TIMEOUT
        self._lock = _thread.allocate_lock()
        self._buffer = b""
        self.pid = os.getpid()

    def send(self, *messages):
        data = b"".join(protocol.encode(m) for m in messages)
        if not self._lock.acquire(True, self.send_timeout):
            raise HostGone("send lock busy")
        try:
            sock = self._sock
            if sock is None:
                raise HostGone("closed")
            sock.settimeout(self.send_timeout)
            sock.sendall(data, _NOSIGNAL)
        except HostGone:
            raise
        except Exception as error:
            self._close_locked()
            raise HostGone(str(error))
        finally:
            self._lock.release()

    def read_message(self, timeout):
        """The next host message we understand, or None at EOF/timeout."""
        deadline = time.monotonic() + timeout
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
            if remaining <= 0 or len(self._buffer) > _MAX_LINE:
                return None
            try:
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
            except Exception:
                return None
            if not chunk:
                return None
            self._buffer += chunk

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
