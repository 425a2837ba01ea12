"""Builders for the agent -> host messages of src/protocol/messages.ts.

One function per message type, with the same field names as the TypeScript
interfaces; ``encode`` frames a message as one NDJSON line.

This module must stay importable by Python 2.7 and 3.6 (no f-strings, no
annotations): the bootstrap uses ``unsupported`` on interpreters the agent
cannot serve.
"""

import json

PROTOCOL_VERSION = 1


def encode(message):
    """One message as one UTF-8 NDJSON line (bytes)."""
    # ensure_ascii keeps the line pure ASCII whatever the file names contain.
    line = json.dumps(message, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return (line + "\n").encode("ascii")


def collector_info(name, interval_sec, nframes, sample_bytes, note=None):
    info = {
        "name": name,
        "intervalSec": float(interval_sec),
        "nframes": int(nframes),
        "sampleBytes": int(sample_bytes),
    }
    if note:
        info["note"] = note
    return info


def hello(pid, ppid, python, implementation, executable, argv, cwd, started_at, collector):
    return {
        "type": "hello",
        "v": PROTOCOL_VERSION,
        "pid": pid,
        "ppid": ppid,
        "python": python,
        "implementation": implementation,
        "executable": executable,
        "argv": list(argv),
        "cwd": cwd,
        "startedAt": started_at,
        "collector": collector,
    }


def unsupported(pid, python, reason):
    return {"type": "unsupported", "v": PROTOCOL_VERSION, "pid": pid, "python": python, "reason": reason}


def frame(file, line, function):
    return {"file": file, "line": line, "function": function}


def stacks(definitions):
    """definitions: [(id, [frame dict, ...]), ...], frames innermost first."""
    return {"type": "stacks", "stacks": [{"id": i, "frames": f} for i, f in definitions]}


def sample(seq, t, rss, heap, overhead, gc_enabled, sites, other_bytes, other_count, active, cost, native=None):
    message = {
        "type": "sample",
        "seq": seq,
        "t": t,
        "rss": rss,
        "heap": heap,
        "overhead": overhead,
        "gcEnabled": bool(gc_enabled),
        "sites": sites,
        "otherBytes": other_bytes,
        "otherCount": other_count,
        "active": active,
        "cost": cost,
    }
    if native is not None:
        message["native"] = native
    return message


def log(level, message):
    return {"type": "log", "level": level, "message": message}


def exiting(reason):
    return {"type": "exiting", "reason": reason}


def retainer_result(stack_id, found, sampled, unreachable, paths, note=None):
    result = {
        "stackId": stack_id,
        "found": found,
        "sampled": sampled,
        "unreachable": bool(unreachable),
        "paths": paths,
    }
    if note:
        result["note"] = note
    return result


def retainers(results, visited, elapsed_sec, truncated):
    return {
        "type": "retainers",
        "results": results,
        "visited": visited,
        "elapsedSec": elapsed_sec,
        "truncated": bool(truncated),
    }


def decode_host_line(line):
    """Parse one host -> agent line; None when it is not a message we know."""
    try:
        message = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
    except ValueError:
        return None
    if type(message) is not dict or message.get("type") not in ("find-retainers", "done"):
        return None
    return message
