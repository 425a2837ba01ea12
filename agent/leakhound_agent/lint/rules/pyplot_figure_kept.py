"""A pyplot figure made in a function that runs per call and never closed: `matplotlib.pyplot`
keeps every figure it makes (`plt.figure()`, `plt.subplots()`, `plt.subplot_mosaic()`) in its figure
manager until `plt.close()` takes it out, whatever the backend, so a view that renders a chart per
request keeps one more figure (its canvas, axes, artists and data) each time.

Not reported: a figure made under a fixed number or label (`plt.figure(1)`, `num="report"`: made
again, the same one comes back), a function that closes or clears what it makes (`plt.close(fig)`,
`plt.close("all")`, `plt.clf()`, `fig.clf()`), shows it (`plt.show()`: the window takes it out of
pyplot when it is closed) or hands it back to its caller (alone, in a tuple or in a list it returns,
or an axes made on it),
a figure made only when a flag says so (`if plot:`, `if self.debug:`), a module that closes figures
anywhere or turns on interactive mode (`plt.ion()`: its figures are windows the user closes), and figures made without pyplot (`matplotlib.figure.Figure()`, which
nothing keeps). As for handler-per-call, a finding needs evidence that the function runs many times:
of high confidence when a request's handler runs it."""
import ast

from ..syntax import dotted
from ..percall import clicked
from .common import fn_label, runs_per_call
from .guards import parents

ID = "pyplot-figure-kept"
TITLE = "pyplot figure never closed"
HELP = ("`matplotlib.pyplot` keeps every figure it makes until `plt.close()`: a function that makes a "
        "figure with `plt.figure()` or `plt.subplots()` on every call and never closes it keeps them all.")

WEAK_CLICKED = ("a desktop program's callback makes it on a click or a menu pick: one figure, shown in a window the "
                "person closes, per thing they ask for")

MAKERS = ("figure", "subplots", "subplot_mosaic")
# `plt.show()` hands the figure to a window, which takes it out of pyplot when it is closed.
CLOSERS = ("close", "clf", "show")
PYPLOT = ("matplotlib.pyplot", "pylab")


def _aliases(tree):
    """The names pyplot is bound to anywhere in the module (`import matplotlib.pyplot as plt`,
    `from matplotlib import pyplot`), also in a function."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out.update(a.asname or a.name for a in n.names if a.name in PYPLOT)  # `matplotlib.pyplot.figure()` too
        elif isinstance(n, ast.ImportFrom) and n.module == "matplotlib":
            out.update(a.asname or a.name for a in n.names if a.name == "pyplot")
    return out


def _pyplot_call(call, aliases, names):
    """`plt.figure(...)` and the like, also through `matplotlib.pyplot.figure(...)`."""
    if not isinstance(call.func, ast.Attribute) or call.func.attr not in names:
        return False
    owner = dotted(call.func.value)
    return owner in aliases or owner in PYPLOT


def _numbered(call):
    """`plt.figure(1)`, `plt.figure("report")`, `plt.subplots(num=2)`: a fixed figure, made once and
    then made current again."""
    if call.func.attr == "figure" and call.args:
        return True
    return any(k.arg == "num" and not (isinstance(k.value, ast.Constant) and k.value.value is None) for k in call.keywords)


def _targets(fn, call):
    """The names the function binds what the call returns to (`fig = ...`, `fig, ax = ...`)."""
    for n in ast.walk(fn.node):
        if isinstance(n, ast.Assign) and n.value is call:
            for t in n.targets:
                for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(e, ast.Name):
                        yield e.id


def _parts(fn, names):
    """The names the function binds to what it takes from the figure (`ax = fig.add_subplot(111)`,
    `canvas = fig.canvas`): handing back an axes hands back its figure (`ax.figure`)."""
    out = set()
    for n in ast.walk(fn.node):
        if isinstance(n, ast.Assign):
            v = n.value.func if isinstance(n.value, ast.Call) else n.value
            if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id in names:
                out.update(e.id for t in n.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t]) if isinstance(e, ast.Name))
    return out


def _collected(fn, names):
    """The local lists the figures are appended to (`figs.append(fig)`): handing those back hands back
    the figures."""
    return {n.func.value.id for n in ast.walk(fn.node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
            and isinstance(n.func.value, ast.Name) and any(isinstance(a, ast.Name) and a.id in names for a in n.args)}


def _option(fn, call):
    """The figure is made only when a flag the caller passes says so (`if plot:`, `if self.debug:`): a
    debugging aid, off as a rule."""
    up = parents(fn.node)
    cur = up.get(id(call))
    while cur is not None and cur is not fn.node:
        if isinstance(cur, ast.If) and (isinstance(cur.test, ast.Name) and cur.test.id in fn.params
                                        or isinstance(cur.test, ast.Attribute) and isinstance(cur.test.value, ast.Name)
                                        and cur.test.value.id == "self"):
            return True
        cur = up.get(id(cur))
    return False


def _handed_back(fn, names, aliases):
    """The function returns (or yields) the figure itself, alone or in a tuple (`return fig`, `return
    fig, ax`, `return plt.gcf()`): its caller has it, and may close it. Not what a call made of it
    (`return encode(fig)`)."""
    def figure(e):
        return isinstance(e, ast.Name) and (e.id in names or e.id in aliases) or \
            isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "gcf"
    for n in ast.walk(fn.node):
        if isinstance(n, (ast.Return, ast.Yield)) and n.value is not None:
            if figure(n.value) or isinstance(n.value, (ast.Tuple, ast.List)) and any(figure(e) for e in n.value.elts):
                return True
    return False


def _clears(fn, aliases):
    """The function closes or clears a figure: `plt.close(...)`, `plt.clf()`, `fig.clf()`, `fig.clear()`."""
    for n in ast.walk(fn.node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            if _pyplot_call(n, aliases, CLOSERS) or n.func.attr in ("clf", "clear") and isinstance(n.func.value, ast.Name):
                return True
    return False


def check(facts):
    aliases = _aliases(facts.tree)
    if not aliases:
        return
    # A module that closes figures somewhere manages them (a helper that renders and closes, a
    # `finally` in the view that calls this one): not reported.
    if any(_pyplot_call(call, aliases, ("close",)) for f in facts.functions for _, call in f.calls):
        return
    # A module that turns on interactive mode (`plt.ion()`, `plt.interactive(True)`) shows what it
    # makes in windows, which take their figures out of pyplot when the user closes them (as `show`).
    calls = [call for f in facts.functions for _, call in f.calls] + [call for _, call in facts.toplevel_calls]
    if any(_pyplot_call(call, aliases, ("ion", "interactive")) for call in calls):
        return
    for fn in facts.functions:
        if facts.runs_once(fn):
            continue
        for _, call in fn.calls:
            if not _pyplot_call(call, aliases, MAKERS) or _numbered(call):
                continue
            if _option(fn, call):
                continue
            made = set(_targets(fn, call))
            made |= _parts(fn, made)
            if _clears(fn, aliases) or _handed_back(fn, made | _collected(fn, made), aliases):
                break
            why = ("%s makes a pyplot figure on every call and never closes it; pyplot keeps every figure "
                   "(with its canvas, axes and data) until `plt.close()`." % fn_label(fn))
            fix = ("Close it once it is drawn: `plt.close(fig)` after `savefig` (in a `finally`), or make it "
                   "with `matplotlib.figure.Figure()`, which pyplot does not keep.")
            if clicked(fn):  # a window per click, which the person closes: as many as they ask for
                yield call, why, fix, None, None, WEAK_CLICKED
            else:
                yield (call, why, fix, None) + runs_per_call(facts, fn)
            break
