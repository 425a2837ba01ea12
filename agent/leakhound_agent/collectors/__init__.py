"""Choosing the collector named by LEAKHOUND_COLLECTOR.

Collectors are constructed as ``Collector(config)`` where ``config`` is a
``leakhound_agent.config.Config`` (interval, nframes, sample_bytes,
agent_dir), then started. "auto", "sampling" and unknown names try the native
sampling collector and fall back to tracemalloc; ``create`` says why in the
note it returns next to the collector.
"""


def _describe(error):
    text = "%s: %s" % (type(error).__name__, error)
    return text if len(text) <= 300 else text[:297] + "..."


def _tracemalloc_collector(config):
    # Imported only when used: tracemalloc.py pulls in pickle, linecache and tokenize.
    from .tracemalloc_collector import TracemallocCollector

    return TracemallocCollector(config)


def create(config):
    """(started collector, note on how it was chosen or None)."""
    wanted = config.collector
    if wanted == "tracemalloc":
        collector = _tracemalloc_collector(config)
        collector.start()
        return collector, None

    unknown = None if wanted in ("auto", "sampling") else "unknown collector %r" % (wanted,)
    try:
        from .sampling_collector import SamplingCollector

        collector = SamplingCollector(config)
        collector.start()
        return collector, (unknown + "; using sampling") if unknown else None
    except ImportError as error:
        reason = "sampling collector not available (%s)" % _describe(error)
    except Exception as error:
        reason = "sampling collector failed to start (%s)" % _describe(error)
    collector = _tracemalloc_collector(config)
    collector.start()
    return collector, "; ".join(r for r in (unknown, reason, "using tracemalloc") if r)
