"""Builders for the agent -> host messages of src/protocol/messages.ts.

One function per message type, with the same field names as the TypeScript
interfaces; ``encode`` frames a message as one NDJSON line. JSON is written
and read here without the json package (see ``dumps`` and ``loads``), which
would cost the target its memory and, read at exit, its exit status.

This module must stay importable by Python 2.7 and 3.6 (no f-strings, no
annotations): the bootstrap uses ``unsupported`` on interpreters the agent
cannot serve.
"""

import sys

from .contract import HOST_MESSAGES, PROTOCOL_VERSION

# The agent encodes its own messages: importing json (and the modules it pulls
# in) would cost the target more memory than the whole encoder. Messages are
# dicts, lists/tuples, str, int, float, bool and None, as json.dumps sees them.
_FAST = sys.version_info >= (3, 7)  # str.isascii
# Deeper than any message of ours: a cycle or a runaway structure is a ValueError, like json's.
_MAX_DEPTH = 100
_ESCAPES = dict((i, u"\\u%04x" % i) for i in list(range(32)) + [127])
_ESCAPES.update({ord(u'"'): u'\\"', ord(u"\\"): u"\\\\", ord(u"\n"): u"\\n", ord(u"\r"): u"\\r",
                 ord(u"\t"): u"\\t", ord(u"\b"): u"\\b", ord(u"\f"): u"\\f"})


def _non_ascii(ch):
    n = ord(ch)
    if n < 0x80:
        return ch
    if n < 0x10000:
        return "\\u%04x" % n  # lone surrogates too, as json.dumps writes them
    n -= 0x10000
    return "\\u%04x\\u%04x" % (0xD800 | (n >> 10), 0xDC00 | (n & 0x3FF))


def _string(s):
    """A JSON string literal of pure ASCII (json.dumps(s, ensure_ascii=True))."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'  # the usual case, some 8x faster than translating
    s = str.translate(s, _ESCAPES)
    if not s.isascii():
        s = "".join(map(_non_ascii, s))
    return '"' + s + '"'


def _float(x):
    if x != x or x in (_INF, -_INF):
        raise ValueError("Out of range float values are not JSON compliant: %r" % (x,))
    return float.__repr__(x)


_INF = float("inf")


def _write(obj, out, depth):
    t = type(obj)
    if t is str:
        out.append(_string(obj))
    elif t is int:
        out.append(int.__repr__(obj))
    elif t is list or t is tuple:
        _sequence(obj, out, depth)
    elif t is dict:
        _mapping(obj, out, depth)
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif t is float:
        out.append(_float(obj))
    # Subclasses are read through the base type's own C methods, never their overrides.
    elif isinstance(obj, str):
        out.append(_string(str.__str__(obj)))
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(_float(obj))
    elif isinstance(obj, list):
        _sequence(list(list.__iter__(obj)), out, depth)
    elif isinstance(obj, tuple):
        _sequence(tuple(tuple.__iter__(obj)), out, depth)
    elif isinstance(obj, dict):
        _mapping(dict(dict.items(obj)), out, depth)
    else:
        raise TypeError("Object of type %s is not JSON serializable" % (t.__name__,))


def _sequence(items, out, depth):
    if depth >= _MAX_DEPTH:
        raise ValueError("message nested too deeply (or circular)")
    if not items:
        out.append("[]")
        return
    depth += 1
    out.append("[")
    for item in items:
        t = type(item)
        if t is int:
            out.append(int.__repr__(item))
        elif t is str:
            out.append(_string(item))
        else:
            _write(item, out, depth)
        out.append(",")
    out[-1] = "]"


def _key(key):
    t = type(key)
    if t is str:
        return _string(key)
    if isinstance(key, str):
        return _string(str.__str__(key))
    if key is None:
        return '"null"'
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if isinstance(key, int):
        return '"' + int.__repr__(key) + '"'
    if isinstance(key, float):
        return '"' + _float(key) + '"'
    raise TypeError("keys must be str, int, float, bool or None, not %s" % (t.__name__,))


def _mapping(items, out, depth):
    if depth >= _MAX_DEPTH:
        raise ValueError("message nested too deeply (or circular)")
    if not items:
        out.append("{}")
        return
    depth += 1
    out.append("{")
    for key, value in dict.items(items):
        out.append(_key(key))
        out.append(":")
        t = type(value)
        if t is int:
            out.append(int.__repr__(value))
        elif t is str:
            out.append(_string(value))
        else:
            _write(value, out, depth)
        out.append(",")
    out[-1] = "}"


def dumps(message):
    """``message`` as compact ASCII JSON; TypeError/ValueError like json.dumps(allow_nan=False)."""
    if not _FAST:
        import json

        return json.dumps(message, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    out = []
    _write(message, out, 0)
    return "".join(out)


def encode(message):
    """One message as one UTF-8 NDJSON line (bytes)."""
    # ASCII-only (ensure_ascii) whatever the file names contain.
    return (dumps(message) + "\n").encode("ascii")


def collector_info(name, interval_sec, nframes, sample_bytes, note=None, fine_bytes=None, native_sampling=None):
    info = {
        "name": name,
        "intervalSec": float(interval_sec),
        "nframes": int(nframes),
        "sampleBytes": int(sample_bytes),
    }
    if note:
        info["note"] = note
    if fine_bytes:
        info["fineBytes"] = int(fine_bytes)
    if native_sampling is not None:
        info["nativeSampling"] = bool(native_sampling)
    return info


def hello(pid, ppid, python, implementation, executable, argv, cwd, started_at, collector, attached=False,
          attached_after_sec=None):
    """attached: the agent was attached to a running process, which had run attached_after_sec (or unknown)."""
    message = {
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
    if attached:
        message["attached"] = {"afterSec": attached_after_sec}
    return message


def unsupported(pid, python, reason):
    return {"type": "unsupported", "v": PROTOCOL_VERSION, "pid": pid, "python": python, "reason": reason}


def frame(file, line, function, qualify=False):
    """qualify: ``function`` is a bare code-object name the host is to qualify from the source."""
    if qualify:
        return {"file": file, "line": line, "function": function, "qualify": True}
    return {"file": file, "line": line, "function": function}


def stacks(definitions):
    """definitions: [(id, [(file, line, function), ...], qualify), ...], frames innermost first."""
    return {"type": "stacks",
            "stacks": [{"id": i, "frames": [frame(f[0], f[1], f[2], q) for f in fs]} for i, fs, q in definitions]}


def sample(seq, t, rss, heap, overhead, gc_enabled, sites, other_bytes, other_count, active, cost, native=None,
           threads=None):
    """sites: [[id, bytes, count]] or, for a site some of whose memory went onto CPython's free
    lists, [id, bytes, count, free_list_bytes, free_list_kinds] (FREE_LIST bits of messages.ts).
    threads: the process's thread count (None where it cannot be read)."""
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
    if threads is not None:
        message["threads"] = threads
    return message


def log(level, message):
    return {"type": "log", "level": level, "message": message}


def exiting(reason):
    return {"type": "exiting", "reason": reason}


def shutdown(t, what, search):
    """The program stopped working and began to shut down at ``t`` (the samples' clock): ``what``
    marked it ("main-end", "threads-end", "atexit"); ``search``: the agent waits for the host's
    answer (a retainer search before the cleanup, or ``done``)."""
    return {"type": "shutdown", "t": t, "what": what, "search": bool(search)}


def retainer_path(root_kind, root, steps, objects, nbytes, estimate=None):
    """One RetainerPath. ``objects``/``nbytes``: the explained (sampled) objects on it and their bytes.

    ``estimate``, when known: (estObjects, estBytes, errObjects, errBytes, exact), the live objects and
    bytes kept along the path, estimated from every sampled object of the stack (each weighted by its
    own sampling probability) with their standard errors, or counted (exact, errors 0).
    """
    path = {"rootKind": root_kind, "root": root, "steps": list(steps), "objects": objects, "bytes": nbytes}
    if estimate is not None:
        path.update(retainer_estimate(*estimate))
    return path


def retainer_estimate(est_objects, est_bytes, err_objects, err_bytes, exact):
    """The estimate fields of a RetainerPath (see retainer_path)."""
    return {"estObjects": est_objects, "estBytes": est_bytes, "errObjects": err_objects, "errBytes": err_bytes,
            "exact": bool(exact)}


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


def retainers(results, visited, elapsed_sec, truncated, request_id=None, t=None, live=False):
    message = {
        "type": "retainers",
        "results": results,
        "visited": visited,
        "elapsedSec": elapsed_sec,
        "truncated": bool(truncated),
    }
    if request_id is not None:
        message["requestId"] = request_id
    if t is not None:
        message["t"] = t
    if live:
        message["live"] = True
    return message


def test(test_id, run, t, outcome, retained, sites, runner, duration_sec, limit=None, total_only=False):
    """One run of one test (the pytest plugin): what it kept after its teardown and a collection."""
    message = {
        "type": "test",
        "id": test_id,
        "run": run,
        "t": t,
        "outcome": outcome,
        "retained": retained,
        "sites": sites,
        "runner": runner,
        "durationSec": duration_sec,
    }
    if limit is not None:
        message["limit"] = limit
    if total_only:
        message["totalOnly"] = True
    return message


def decode_host_line(line):
    """Parse one host -> agent line; None when it is not a message we know."""
    try:
        message = loads(line.decode("utf-8") if isinstance(line, bytes) else line)
    except ValueError:  # UnicodeDecodeError too
        return None
    if type(message) is not dict or message.get("type") not in HOST_MESSAGES:
        return None
    return message


# A JSON decoder for the host's replies. Not json.loads: that reply is read at exit,
# and importing json then (it eval()s namedtuple code through re -> functools)
# would clear the interpreter's "ended by an unhandled KeyboardInterrupt" flag on
# 3.8-3.12, so the target would exit with status 1 instead of being killed by SIGINT.
_WHITESPACE = " \t\n\r"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"
_UNESCAPE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def loads(text):
    """json.loads for standard JSON text; ValueError when it is not JSON."""
    try:
        value, end = _value(text, 0, 0)
        end = _skip(text, end)
    except (IndexError, RecursionError):
        raise ValueError("not JSON")
    if end != len(text):
        raise ValueError("extra data at %d" % end)
    return value


def _skip(s, i):
    n = len(s)
    while i < n and s[i] in _WHITESPACE:
        i += 1
    return i


def _value(s, i, depth):
    i = _skip(s, i)
    c = s[i]
    if c == '"':
        return _string_at(s, i + 1)
    if c == "{" or c == "[":
        if depth >= _MAX_DEPTH:
            raise ValueError("nested too deeply")
        return (_object_at if c == "{" else _array_at)(s, i + 1, depth + 1)
    for word, value in (("true", True), ("false", False), ("null", None)):
        if s.startswith(word, i):
            return value, i + len(word)
    return _number_at(s, i)


def _object_at(s, i, depth):
    result = {}
    i = _skip(s, i)
    if s[i] == "}":
        return result, i + 1
    while True:
        i = _skip(s, i)
        if s[i] != '"':
            raise ValueError("expected a key at %d" % i)
        key, i = _string_at(s, i + 1)
        i = _skip(s, i)
        if s[i] != ":":
            raise ValueError("expected ':' at %d" % i)
        result[key], i = _value(s, i + 1, depth)
        i = _skip(s, i)
        if s[i] == "}":
            return result, i + 1
        if s[i] != ",":
            raise ValueError("expected ',' or '}' at %d" % i)
        i += 1


def _array_at(s, i, depth):
    result = []
    i = _skip(s, i)
    if s[i] == "]":
        return result, i + 1
    while True:
        value, i = _value(s, i, depth)
        result.append(value)
        i = _skip(s, i)
        if s[i] == "]":
            return result, i + 1
        if s[i] != ",":
            raise ValueError("expected ',' or ']' at %d" % i)
        i += 1


def _hex4(s, i):
    digits = s[i:i + 4]
    if len(digits) != 4 or not all(c in _HEX for c in digits):
        raise ValueError("bad \\u escape at %d" % i)
    return int(digits, 16)


def _string_at(s, i):
    """The string whose body starts at i (after the quote), and the index after its closing quote."""
    parts = []
    while True:
        quote = s.find('"', i)
        if quote < 0:
            raise ValueError("unterminated string")
        backslash = s.find("\\", i, quote)
        if backslash < 0:
            parts.append(s[i:quote])
            return "".join(parts), quote + 1
        parts.append(s[i:backslash])
        escape = s[backslash + 1]
        if escape == "u":
            code = _hex4(s, backslash + 2)
            i = backslash + 6
            if 0xD800 <= code <= 0xDBFF and s.startswith("\\u", i):
                low = _hex4(s, i + 2)
                if 0xDC00 <= low <= 0xDFFF:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
            parts.append(chr(code))
        elif escape in _UNESCAPE:
            parts.append(_UNESCAPE[escape])
            i = backslash + 2
        else:
            raise ValueError("bad escape at %d" % backslash)


def _digits(s, i):
    n = len(s)
    while i < n and s[i] in _DIGITS:
        i += 1
    return i


def _number_at(s, i):
    start = i
    if s.startswith("-", i):
        i += 1
    if s.startswith("0", i):
        i += 1
    elif i < len(s) and s[i] in _DIGITS:
        i = _digits(s, i)
    else:
        raise ValueError("unexpected character at %d" % start)
    fraction = s.startswith(".", i)
    if fraction:
        end = _digits(s, i + 1)
        if end == i + 1:
            raise ValueError("bad number at %d" % start)
        i = end
    exponent = i < len(s) and s[i] in "eE"
    if exponent:
        i += 1
        if i < len(s) and s[i] in "+-":
            i += 1
        end = _digits(s, i)
        if end == i:
            raise ValueError("bad number at %d" % start)
        i = end
    text = s[start:i]
    return (float(text) if fraction or exponent else int(text)), i
