"""Choosing the collector named by LEAKHOUND_COLLECTOR.

Collectors are constructed as ``Collector(config, note=None)`` where
``config`` is a ``leakhound_agent.config.Config`` (interval, nframes,
sample_bytes, agent_dir) and ``note`` is an optional hello note. "auto",
"sampling" and unknown names try the native sampling collector and fall back
to tracemalloc, saying why in the note.
"""


def _describe(error):
    text = "%s: %s" % (type(error).__name__, error)
    return text if len(text) <= 300 else text[:297] + "..."


def create(config):
    """A started collector for ``config``."""
    from .tracemalloc_collector import TracemallocCollector

    wanted = config.collector
    if wanted == "tracemalloc":
        collector = TracemallocCollector(config)
        collector.start()
        return collector

    if wanted in ("auto", "sampling"):
        prefix = ""
    else:
        prefix = "unknown collector %r; " % (wanted,)
    try:
        from .sampling_collector import SamplingCollector

        collector = SamplingCollector(config)
        collector.start()
        return collector
    except ImportError as error:
        reason = "sampling collector not available (%s)" % _describe(error)
    except Exception as error:
        reason = "sampling collector failed to start (%s)" % _describe(error)
    collector = TracemallocCollector(config, note=prefix + reason + "; using tracemalloc")
    collector.start()
    return collector
