"""Thousands of retainer paths collapse into a few shapes, each with a count.

Two paths have the same shape when their root and their steps match once
list indices and non-string dict keys are read as [*]. String keys stay
(['body'] and ['tags'] are different fields) unless one position holds many
different strings, as a cache keyed by URL does; then that position is [*]
too. Item counts of the containers along a shape are shown as a range.
"""

from ..protocol import retainer_path

# More distinct string keys than this at one position make it a [*].
MAX_DISTINCT_KEYS = 3
# Containers up to this size keep the index or key of a lone sample ("[0]", "['id']").
SMALL = 8


class Sample(object):
    __slots__ = ("kind", "root", "steps", "size", "weight", "leaf", "parent")

    def __init__(self, kind, root, steps, size, weight=None, leaf=None, parent=None):
        self.kind = kind
        self.root = root
        self.steps = steps
        self.size = size
        # (id of its exact type, 1/p, (1-p)/p^2, size) for the estimates (estimate.py), or None.
        self.weight = weight
        # The object, and the container it sits in (None when not a container's item).
        self.leaf = leaf
        self.parent = parent


def cluster(samples, top=5, estimate=None):
    """Paths (protocol RetainerPath dicts) for samples, most objects first.

    ``estimate(groups)``, given the samples of every path ([[Sample]]), returns per
    path a dict of fields to add (estObjects, estBytes, ...); the paths are then
    ordered by estObjects.
    """
    groups = {}
    for sample in samples:
        key = (sample.kind, sample.root, tuple((_coarse(step.norm), _coarse_desc(step)) for step in sample.steps))
        groups.setdefault(key, []).append(sample)
    paths = []
    by_key, groups = groups, []
    for key, members in by_key.items():
        width = len(key[2])
        keep = [len(set(m.steps[pos].norm for m in members)) <= MAX_DISTINCT_KEYS for pos in range(width)]
        shapes = {}
        for m in members:
            signature = tuple(m.steps[pos].norm if keep[pos] else key[2][pos][0] for pos in range(width))
            shapes.setdefault(signature, []).append(m)
        for signature, same in shapes.items():
            paths.append(_render(key[0], key[1], signature, same))
            groups.append(same)
    if estimate is not None and paths:
        for path, extra in zip(paths, estimate(groups)):
            path.update(extra)
    paths.sort(key=lambda path: (-path.get("estObjects", path["objects"]), -path.get("estBytes", path["bytes"]),
                                 -path["objects"], path["root"]))
    return paths[:top]


def _few_items(container):
    """A tuple's fields or a small container's items are worth naming one by one."""
    if container is None:
        return True
    return container.desc == "tuple" or (container.count is not None and container.count <= SMALL)


def _coarse(norm):
    if norm.startswith("['") or norm.startswith('["'):
        return "[*]"
    return norm


def _coarse_desc(step):
    """Classes made per call and kept as items of one table are one kind of item, whatever their names."""
    if step.desc.startswith("class ") and (_coarse(step.norm) in ("[*]", "member") or step.norm.startswith("value of")):
        return "class"
    return step.desc


def _render(kind, root, signature, members):
    steps = []
    for pos, norm in enumerate(signature):
        labels = set(m.steps[pos].label for m in members)
        label = labels.pop() if len(labels) == 1 else norm
        first = members[0].steps[pos]
        desc = first.desc
        descs = sorted(set(m.steps[pos].desc for m in members))
        if len(descs) > 1:  # classes of many names (_coarse_desc)
            desc = "classes " + ", ".join(d[6:] for d in descs[:2]) + (", \u2026" if len(descs) > 2 else "")
        if label != norm and norm == "[*]" and not _few_items(members[0].steps[pos - 1] if pos else None):
            label = norm  # one sample's index in a big container says nothing about the others
        counts = [m.steps[pos].count for m in members if m.steps[pos].count is not None]
        if counts:
            low, high = min(counts), max(counts)
            amount = "{:,}".format(low) if low == high else "{:,}\u2013{:,}".format(low, high)
            unit = first.unit[:-1] if amount == "1" and first.unit.endswith("s") else first.unit
            steps.append("%s (%s, %s %s)" % (label, desc, amount, unit))
        else:
            steps.append("%s (%s)" % (label, desc))
    path = retainer_path(kind, root, steps, len(members), sum(m.size for m in members))
    # The first container on the path that holds at most so many items: the host tells growth into
    # it (it levels off when full) from a leak.
    for pos in range(len(signature)):
        bounds = [m.steps[pos].bound for m in members if m.steps[pos].bound is not None]
        if bounds:
            path["bound"] = {"limit": bounds[0][0], "size": max(b[1] for b in bounds), "step": pos}
            break
    return path
