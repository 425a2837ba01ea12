"""Bytes in words, the agent's one way to print a size ("256 KiB", "1.5 MiB"); the host prints its own
(src/report/units.ts) with the same units."""


def format_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" or n == int(n) else ("%.1f %s" % (n, unit))
        n /= 1024.0
    return "%d" % n
