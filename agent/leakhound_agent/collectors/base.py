"""The one interface every collector implements.

The agent's sampling thread calls ``snapshot()`` once per interval and the
retainer search calls ``stack_key_of(obj)`` to map a live object back to the
stack that allocated it. Collectors never call user code.

A *stack key* is any hashable value the collector uses for one allocation
stack; the agent interns keys into protocol stack ids and asks the collector
for their frames with ``frames_of(key)`` (innermost first, as
``(filename, lineno, function)`` tuples).
"""


class Snapshot(object):
    __slots__ = ("sites", "heap", "overhead", "other_bytes", "other_count")

    def __init__(self, sites, heap, overhead, other_bytes=0, other_count=0):
        # sites: {stack_key: (live_bytes, live_count)}; live figures may be
        # estimates (sampling collectors scale their samples).
        self.sites = sites
        self.heap = heap
        self.overhead = overhead
        self.other_bytes = other_bytes
        self.other_count = other_count


class Collector(object):
    """Subclasses declare what they can do by overriding these attributes; nothing
    asks a collector with getattr/hasattr what it can do."""

    #: protocol name: "sampling" or "tracemalloc"
    name = "base"
    #: Figures come from sampled blocks: an object not found was not sampled, not absent.
    sampled = False
    # sampled_blocks(stack keys) -> [(address, size, stack key)]: the blocks behind the collector's
    # figures, when it knows their addresses (the sampling collector does; tracemalloc does not).
    sampled_blocks = None
    #: Every block is traced by tracemalloc (its traces can be read by address).
    traces_every_block = False
    #: frames_of gives qualified function names (else the host qualifies bare names).
    names_qualified = True
    #: Optional lookups, None when the collector cannot answer:
    #: stack_key_of_address(ptr) -> key; size_of(obj) -> bytes; sample_of(obj) -> (key, size, probability).
    stack_key_of_address = None
    size_of = None
    sample_of = None

    def take_notes(self):
        """[(level, text)] to log since the last call."""
        return []

    def info(self):
        """CollectorInfo for the protocol hello: name, intervalSec, nframes, sampleBytes, note."""
        raise NotImplementedError

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def snapshot(self):
        """Return a Snapshot of live memory by allocation stack."""
        raise NotImplementedError

    #: live_sites() is cheap enough to read before and after every test (else live_total() is read).
    sites_per_test = True

    def live_total(self):
        """Live bytes in all, the collector's own included (cheap)."""
        return self.snapshot().heap

    def live_sites(self):
        """{stack_key: (live_bytes, live_count)} now, the collector's own stacks left out, without
        changing how it samples (the pytest plugin reads this before and after each test)."""
        return self.snapshot().sites

    def frames_of(self, key):
        """Frames of a stack key, innermost first: [(filename, lineno, function), ...]."""
        raise NotImplementedError

    def stack_key_of(self, obj):
        """The stack key that allocated ``obj``, or None when unknown/untracked."""
        raise NotImplementedError

    def count_free_listed(self, keys):
        """For the next retainer search (until called again with []): the stack keys whose memory
        reused from CPython's free lists counts as theirs (a leak that is such memory: the objects made
        elsewhere from it show where it went). Otherwise an object in such memory is not the stack's.
        Collectors that cannot tell free-listed memory apart ignore it."""
        pass

    def after_fork_in_child(self):
        """Reset per-process state in a forked child (its own collector state)."""
        pass
