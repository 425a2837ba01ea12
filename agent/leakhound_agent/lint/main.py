"""Entry point: `python -m leakhound_agent.lint < request.json > answer.json`.

Request: {"files": [paths], "disable": [rule ids]}; `--rules` prints the rule table only.
`--stream`: the host hands out files one at a time (so every worker stays busy to the end): the first
line in is {"disable": [...]}, each next line one path as a JSON string; the first line out is
{"python", "rules"}, then one line per path, its file's answer as below, written as soon as it is done.
Answer: {"python": "3.11.7", "rules": [{id, title, help}], "files": [{"file", "lines",
"findings": [{rule, line, column, endLine, endColumn, message, fix, container}], "error",
"shrunk": names this file trims: `x.NAME.clear()`, `del NAME[k]`, ..., "made": the names its
functions that run per call call (classes made, functions run), "request:NAME" for what functions
that handle a request, event or message call ("request:kept:NAME" for the objects they make and do not drop at once), "public:NAME@WHERE" for the classes the file offers its users
(public.py), and "once:NAME", "ctor:NAME" and "ref:NAME" for how many objects of a class it makes
and "serves:" when it runs until it is stopped, "init:CLASS:NAME" for what a class's constructor makes
(facts.made_once), "ext:CLASS:BASE" for its classes' bases (facts.class_bases)}]}. A
finding with "needs" (alternatives, each a list of names) stands only if, for one alternative, every name
is in some file's "made", and every name written "!NAME" in none (the host decides); one with "weak" (why) is of low confidence by its nature. Lines and columns are 1-based; columns count characters.
"""
import ast
import gc
import io
import json
import sys
import tokenize
import warnings

from .facts import ModuleFacts
from .lifetime import bounded_by_framework, build_backend
from .public import api_made, public_names
from .rules import RULES
from .suppress import suppressed


def rule_table():
    return [{"id": r.ID, "title": r.TITLE, "help": r.HELP} for r in RULES]


def _column(lines, line, offset):
    """1-based character column of a UTF-8 byte offset on a 1-based line."""
    if 1 <= line <= len(lines):
        return len(lines[line - 1].encode("utf-8")[:offset].decode("utf-8", "replace")) + 1
    return offset + 1


def _source_lines(src):
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(src).readline)[0]
    except SyntaxError:
        encoding = "utf-8"
    return src.decode(encoding, "replace").splitlines()


def lint_source(src, filename, disabled=()):
    """(findings, shrunk names, classes made per call) for one file's bytes; raises SyntaxError/ValueError."""
    # The cyclic collector would scan the growing tree over and over while it is built and walked
    # (a fifth of the time); the tree holds no cycles, and the collector runs again between files.
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(src, filename)
        facts = ModuleFacts(tree, filename)
        # An Ansible module (a process per task), a migration (once per database), a build backend's
        # hooks (a process per hook): nothing to report (lifetime.py).
        found = [] if bounded_by_framework(filename) or build_backend(tree) else [
            (rule.ID, hit) for rule in RULES if rule.ID not in disabled for hit in rule.check(facts)]
        made = facts.called_per_call() | facts.called_per_request() | facts.made_once() | facts.class_bases() | facts.defined_names() | public_names(tree, filename) | api_made(facts, filename)
    finally:
        gc.enable()
    if not found:
        return [], facts.shrunk_attrs, made
    lines = _source_lines(src)  # only for suppression comments and character columns
    findings = []
    for rule_id, (node, message, fix, container, *extra) in found:
        needs = extra[0] if extra else None
        weak = extra[1] if len(extra) > 1 else None
        line = node.lineno
        # The comment may sit on any line of the flagged code (or on the `def` of a flagged decorator).
        marks = range(line, max(line, getattr(node, "end_lineno", None) or line, getattr(node, "def_line", 0)) + 1)
        if any(suppressed(lines[n - 1], rule_id) for n in marks if n <= len(lines)):
            continue
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None)
        findings.append({
            "rule": rule_id,
            "line": line,
            "column": _column(lines, line, node.col_offset),
            "endLine": end_line,
            "endColumn": _column(lines, end_line, end_col) if end_col is not None else None,
            "message": message[:1].upper() + message[1:],
            "fix": fix,
            "container": container,
        })
        if needs:
            findings[-1]["needs"] = needs
        if weak:
            findings[-1]["weak"] = weak
    findings.sort(key=lambda f: (f["line"], f["column"], f["rule"]))
    return findings, facts.shrunk_attrs, made


def lint_file(path, disabled):
    out = {"file": path, "lines": 0, "findings": [], "error": None, "shrunk": []}
    try:
        with open(path, "rb") as f:
            src = f.read()
    except OSError as e:
        out["error"] = "cannot read: %s" % (e.strerror or e)
        return out
    out["lines"] = src.count(b"\n")
    try:
        out["findings"], shrunk, made = lint_source(src, path, disabled)
    except SyntaxError as e:
        where = " on line %s" % e.lineno if e.lineno else ""  # a null byte has no line (3.11.4+)
        out["error"] = "syntax error%s: %s (not linted)" % (where, e.msg)
        return out
    except (ValueError, RecursionError, MemoryError) as e:
        out["error"] = "cannot parse: %s (not linted)" % (str(e) or type(e).__name__)
        return out
    out["shrunk"] = sorted(shrunk)
    out["made"] = sorted(made)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    version = "%d.%d.%d" % sys.version_info[:3]
    if "--rules" in argv:
        json.dump({"python": version, "rules": rule_table()}, sys.stdout)
        return 0
    if "--stream" in argv:
        return stream()
    request = json.load(sys.stdin)
    disabled = set(request.get("disable", []))
    results = [lint_file(path, disabled) for path in request.get("files", [])]
    json.dump({"python": version, "rules": rule_table(), "files": results}, sys.stdout)
    sys.stdout.write("\n")
    return 0


def stream():
    """One file per line in, one answer per line out, until the host closes stdin."""
    read, out = sys.stdin.buffer.readline, sys.stdout
    first = read()
    disabled = set(json.loads(first).get("disable", [])) if first.strip() else set()
    out.write(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "rules": rule_table()}) + "\n")
    out.flush()
    for line in iter(read, b""):
        if line.strip():
            out.write(json.dumps(lint_file(json.loads(line), disabled)) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
