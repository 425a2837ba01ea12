"""Agent settings, read once from the LEAKHOUND_* environment the host sets (names,
defaults and limits from the host/agent contract)."""

import os

from .contract import DEFAULTS, ENV, LIMITS

DEFAULT_INTERVAL = DEFAULTS["intervalSec"]
DEFAULT_NFRAMES = DEFAULTS["nframes"]
DEFAULT_SAMPLE_BYTES = DEFAULTS["sampleBytes"]  # BENCHMARKS.md: slowdown and accuracy at this interval


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

    def __init__(self, socket_path, collector=DEFAULTS["collector"], interval=DEFAULT_INTERVAL, nframes=DEFAULT_NFRAMES,
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
    def from_settings(cls, socket_path, settings):
        """The settings ``leakhound attach`` sends in its injected call (contract names: collector,
        intervalSec, nframes, sampleBytes); out-of-range or missing values take the defaults."""
        def number(name, default, convert):
            value = settings.get(name)
            if type(value) not in (int, float):
                return default
            return _number({name: value}, name, default, convert, *LIMITS[name])

        collector = settings.get("collector")
        return cls(
            socket_path=socket_path,
            collector=collector.strip().lower() if type(collector) is str and collector else DEFAULTS["collector"],
            interval=number("intervalSec", DEFAULT_INTERVAL, float),
            nframes=number("nframes", DEFAULT_NFRAMES, int),
            sample_bytes=number("sampleBytes", DEFAULT_SAMPLE_BYTES, int),
        )

    @classmethod
    def from_env(cls, environ=None):
        environ = os.environ if environ is None else environ
        return cls(
            socket_path=environ.get(ENV["socket"]) or None,
            # An unknown name is kept: collectors.create() falls back and says so in its note.
            collector=(environ.get(ENV["collector"]) or DEFAULTS["collector"]).strip().lower(),
            interval=_number(environ, ENV["interval"], DEFAULT_INTERVAL, float, *LIMITS["intervalSec"]),
            nframes=_number(environ, ENV["nframes"], DEFAULT_NFRAMES, int, *LIMITS["nframes"]),
            sample_bytes=_number(environ, ENV["sampleBytes"], DEFAULT_SAMPLE_BYTES, int, *LIMITS["sampleBytes"]),
        )
