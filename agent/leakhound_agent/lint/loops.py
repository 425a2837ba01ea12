"""Event loops: a `while` that turns once per event (at module level or in a function's own body) or
an `async for` over a stream. What such a loop calls runs once per event, not once per process."""
import ast

from .syntax import last_name


def module_loop_nodes(tree):
    """{id of each node inside a module-level event loop: that loop}. An event loop is a `while`
    statement at module level (also in a `__main__` block, a `try` or a `with` there) whose test is no
    comparison (`while True:`, `while running:`, `while not stop.is_set():`; not `while i < 10:`, a
    bounded loop), names nothing the loop drains (not `while items: items.pop()`), and does not work
    through a value until it is used up (see _steps_to_break). Function and class definitions inside
    it are left out (they run when called)."""
    out = {}
    files = None  # the module's opened files, found at its first `while`
    todo = list(tree.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.While):
            files = opened_files(tree.body) if files is None else files
            if not _event_test(stmt, files):
                continue
            inner = [stmt]
            while inner:
                n = inner.pop()
                out[id(n)] = stmt
                inner.extend(c for c in ast.iter_child_nodes(n)
                             if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)))
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(stmt, field, ()):
                    todo.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return out


def _event_test(loop, files=frozenset()):
    """The test of a loop that turns once per event: no comparison (`while i < 10:`, also one side of an
    `and`), and no name the loop drains (`while pending: x = pending.pop(0)`, a fixed list consumed at
    import) or steps through (`while args: ...; args = args[1:]`); nor a `while True:` that breaks once
    what it steps through is used up (_steps_to_break), nor one that reads a file the code opened
    (`files`: `f = open(conffile)`, then `while not done: line = f.readline()`), which ends with the
    file (not `sys.stdin`, a stream), nor one whose body does nothing (`while self.next_column(): pass`:
    its test does the work until it is used up, a parser's step or a wait, not a turn per event)."""
    if files and reads_file(loop, files) or _idle_body(loop):
        return False
    parts = loop.test.values if isinstance(loop.test, ast.BoolOp) and isinstance(loop.test.op, ast.And) else [loop.test]
    if any(isinstance(p, ast.Compare) for p in parts):
        return False  # `while i < 10:`, `while args and args[0] not in stops:`: bounded
    tested = {n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)}
    tested |= {n.attr for n in ast.walk(loop.test) if isinstance(n, ast.Attribute)}
    for n in ast.walk(loop):
        # `args = args[1:]`, `node = node.next`: the loop steps through what it tests (not
        # `running = False`, a flag that stops an event loop).
        if isinstance(n, (ast.Assign, ast.AugAssign)) and n.value is not None:
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            names = {x.id for t in targets for x in ast.walk(t) if isinstance(x, ast.Name)} & tested
            if names and (isinstance(n, ast.AugAssign) or any(isinstance(x, ast.Name) and x.id in names for x in ast.walk(n.value))):
                return False
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in DRAINS:
            holder = n.func.value
            if isinstance(holder, ast.Name) and holder.id in tested or isinstance(holder, ast.Attribute) and holder.attr in tested:
                return False
        if isinstance(n, ast.Delete) and any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in tested
                                             for t in n.targets):
            return False
    return not _steps_to_break(loop)


def _idle_body(loop):
    """The loop's body only passes (`pass`, `...`, `continue`)."""
    return all(isinstance(s, (ast.Pass, ast.Continue)) or isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
               for s in loop.body)


def _steps_to_break(loop):
    """A `while True:` that works through a value until it is used up, and then breaks: the loop
    re-binds a name from itself (`string = re.sub(P, uuid, string, count=1)`, `node = node.next`), and
    an `if` of its own body leaves (`break`, `return`) on a test of that name or of one the loop
    derives from it (`match = re.search(P, string)` then `if not match: break`): a bounded loop."""
    stepped = set()
    derived = {}
    for n in ast.walk(loop):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            name = n.targets[0].id
            read = {x.id for x in ast.walk(n.value) if isinstance(x, ast.Name)}
            if name in read:
                stepped.add(name)
            derived.setdefault(name, set()).update(read)
    if not stepped:
        return False
    bounded = stepped | {name for name, read in derived.items() if read & stepped}
    for stmt in loop.body:
        if isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], (ast.Break, ast.Return)):
            if {x.id for x in ast.walk(stmt.test) if isinstance(x, ast.Name)} & bounded:
                return True
    return False


DRAINS = frozenset(("pop", "popleft", "popitem", "remove", "clear"))
# Methods of a file object that read it.
FILE_READS = frozenset(("read", "readline", "readlines", "read1", "readinto"))


def reads_file(loop, files):
    """The loop calls a read method (`FILE_READS`) of one of the files named `files`: `f.readline()`."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in FILE_READS
               and isinstance(n.func.value, ast.Name) and n.func.value.id in files for n in ast.walk(loop))


def opened_files(body):
    """The names the statements (not nested definitions) bind to a file they open: `f = open(path)`,
    `with open(path, "rb") as f:`."""
    files, todo = set(), list(body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(n, (ast.With, ast.AsyncWith)):
            files.update(i.optional_vars.id for i in n.items if isinstance(i.context_expr, ast.Call)
                         and last_name(i.context_expr.func) == "open" and isinstance(i.optional_vars, ast.Name))
        elif isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and last_name(n.value.func) == "open":
            files.update(t.id for t in n.targets if isinstance(t, ast.Name))
        todo.extend(ast.iter_child_nodes(n))
    return files


def function_loop(fn, node):
    """The event loop of the function's own body (`while True:`, `while running:`; not one in a
    function defined inside it) that holds the node, or None: what it holds runs once per event.
    Not what leaves the loop once done (`return Daemon()`, `conn = connect(); break`: a retry loop)."""
    loops = getattr(fn, "_loops", None)
    if loops is None:
        loops = {}
        files = opened_files(fn.node.body)
        # (node, the event loop that holds it or None, whether a `break` there leaves that loop)
        todo = [(c, None, False) for c in ast.iter_child_nodes(fn.node)]
        while todo:
            n, loop, breaks = todo.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if loop is None and isinstance(n, ast.While) and _event_test(n, files):
                loop, breaks = n, True
            elif loop is not None and isinstance(n, ast.Return):
                continue
            if loop is None:
                todo.extend((c, None, False) for c in ast.iter_child_nodes(n))
                continue
            loops[id(n)] = loop
            inner = breaks and not (n is not loop and isinstance(n, (ast.For, ast.AsyncFor, ast.While)))
            in_blocks = set()
            for field in ("body", "orelse", "finalbody"):
                block = getattr(n, field, None)
                if not isinstance(block, list):
                    continue
                in_blocks.update(id(b) for b in block)
                if n is loop and field == "orelse":  # runs once, when the loop ends
                    todo.extend((b, None, False) for b in block)
                    continue
                # The statements before a `return` (or a `break` of this loop) of the same block run
                # once, then leave.
                last = next((i for i, b in enumerate(block) if isinstance(b, ast.Return) or inner and isinstance(b, ast.Break)), None)
                todo.extend((b, loop if last is None or i > last else None, inner) for i, b in enumerate(block))
            todo.extend((c, loop, inner) for c in ast.iter_child_nodes(n) if id(c) not in in_blocks)
        fn._loops = loops
    return loops.get(id(node))


def event_loop_call(fn, call, replays=frozenset()):
    """The call is made on each turn of the function's own event loop: a `while True:` (see
    function_loop) or an `async for` over a stream (`async for event in listener:`), not over one of
    the module's async generators that only replays what it is handed (`replays`, see replays_input)."""
    if function_loop(fn, call) is not None:
        return True
    streams = getattr(fn, "_streams", None)
    if streams is None:
        streams = set()
        todo = list(ast.iter_child_nodes(fn.node))
        while todo:
            n = todo.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(n, ast.AsyncFor) and not (isinstance(n.iter, ast.Call) and last_name(n.iter) in replays):
                streams.update(id(c) for b in n.body for c in ast.walk(b))
            todo.extend(ast.iter_child_nodes(n))
        fn._streams = streams
    return id(call) in streams


# Calls that only walk what they are given: a `for` over one of them walks a parameter's items.
_OVER_ITEMS = frozenset(("range", "enumerate", "zip", "reversed", "sorted", "list", "tuple"))


def replays_input(fn):
    """An async generator that yields only the items of what it is handed, maybe paced
    (`for request in input_requests: yield request; await asyncio.sleep(interval)`, a load test's
    request source): a finite stream, not a source of events. Every `yield` sits in a `for` over a
    parameter (or `range(n)`, `enumerate(param)`), and the generator has no `while` or `async for`."""
    if not isinstance(fn.node, ast.AsyncFunctionDef):
        return False
    params = set(fn.params) - {"self", "cls"}
    covered, yields = set(), []
    todo = list(fn.node.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(n, (ast.While, ast.AsyncFor)):
            return False
        if isinstance(n, ast.Yield):
            yields.append(id(n))
        if isinstance(n, ast.For) and _over_params(n.iter, params):
            covered.update(id(c) for b in n.body for c in ast.walk(b))
        todo.extend(ast.iter_child_nodes(n))
    return bool(yields) and all(y in covered for y in yields)


def _over_params(it, params):
    if isinstance(it, ast.Name):
        return it.id in params
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id in _OVER_ITEMS and it.args:
        return all(isinstance(a, ast.Constant) or _over_params(a, params) for a in it.args)
    return False
