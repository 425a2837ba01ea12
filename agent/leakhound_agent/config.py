"""Agent settings, read once from the LEAKHOUND_* environment the host sets."""

import os

DEFAULT_INTERVAL = 0.5
DEFAULT_NFRAMES = 16
DEFAULT_SAMPLE_BYTES = 32 * 1024  # see bench/README-sampler.md: ~1.04x, a 4 MB site within ~9% (1 sigma)


def _number(environ, name, default, convert, low, high):
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = convert(raw)
    except ValueError:
        return default
    if not (low <= value <= high):  # also rejects NaN
        return default
    return value


class Config(object):
    __slots__ = ("socket_path", "collector", "interval", "nframes", "sample_bytes", "agent_dir")

    def __init__(self, socket_path, collector="auto", interval=DEFAULT_INTERVAL, nframes=DEFAULT_NFRAMES,
                 sample_bytes=DEFAULT_SAMPLE_BYTES, agent_dir=None):
        self.socket_path = socket_path
        self.collector = collector
        self.interval = interval
        self.nframes = nframes
        self.sample_bytes = sample_bytes
        # The directory holding sitecustomize.py and leakhound_agent/: frames in it are ours.
        self.agent_dir = agent_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def own_prefixes(self):
        """Path prefixes of the agent's files (as given and with symlinks resolved)."""
        prefixes = set()
        for d in (os.path.abspath(self.agent_dir), os.path.realpath(self.agent_dir)):
            prefixes.add(d.rstrip(os.sep) + os.sep)
        return tuple(sorted(prefixes))

    @classmethod
    def from_env(cls, environ=None):
        environ = os.environ if environ is None else environ
        return cls(
            socket_path=environ.get("LEAKHOUND_SOCKET") or None,
            collector=(environ.get("LEAKHOUND_COLLECTOR") or "auto").strip().lower(),
            interval=_number(environ, "LEAKHOUND_INTERVAL", DEFAULT_INTERVAL, float, 0.01, 3600.0),
            nframes=_number(environ, "LEAKHOUND_NFRAMES", DEFAULT_NFRAMES, int, 1, 1000),
            sample_bytes=_number(environ, "LEAKHOUND_SAMPLE_BYTES", DEFAULT_SAMPLE_BYTES, int, 1, 1 << 40),
        )
