"""A logger named after a value that changes on every call (a job's, request's or
session's id, `id(obj)`, a fresh `uuid4()`): `logging.getLogger(name)` makes a new
Logger for each new name and keeps it in `logging.Logger.manager.loggerDict` for the
life of the process, with its handlers and filters; nothing ever frees it.

Precision first: a name made of the module's name, a class's name, a configured
component (a plugin, a worker, a device, a shard: a few of them), or a parameter of a
logger factory (`get_logger(name)`) is bounded by the code and is not reported. Only
names that carry an identifier of a per-call object are: an `id()` or a fresh
`uuid4()`/`time()`, an attribute such as `request.request_id`, or a parameter or
local whose name says it is one (`job_id`, `task_id`, `session_id`, `conn_id`, ...).
Like handler-per-call, a finding stands only with evidence that the function runs many
times (it handles a request or a message, or a function that runs per call calls it);
a logger per thread ident is of low confidence (idents are reused once a thread ends)."""
import ast

from .common import WEAK_THREAD_KEY, fn_label, keyed_by_thread, made_many, per_call_value

ID = "logger-per-value"
TITLE = "Logger named per value"
HELP = ("`logging.getLogger(f\"jobs.{job_id}\")` in a function that runs per job or request makes a new "
        "Logger for every id; the logging module keeps every Logger it ever made "
        "(`logging.Logger.manager.loggerDict`), with its handlers, for the life of the process.")

GET_LOGGER = ("logging.getLogger", "getLogger")
def _logger_name(call):
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "name"), None)


def _logging_get_logger(facts, name):
    """`logging.getLogger`, or a bare `getLogger` that is logging's (imported from it, or from nowhere
    the file says): not a `getLogger` of the program's own (`from .utils import getLogger`, which may
    name the logger after the object's class), nor one the module defines."""
    if name == "logging.getLogger":
        return True
    return facts.imported_from.get("getLogger", "logging") == "logging" and "getLogger" not in facts.defined


def check(facts):
    for fn in facts.functions:
        calls = [c for name, c in fn.calls if name in GET_LOGGER and _logging_get_logger(facts, name)]
        if not calls or facts.runs_once(fn):
            continue
        for call in calls:
            arg = _logger_name(call)
            if arg is None or isinstance(arg, ast.Constant):
                continue
            if not per_call_value(fn, arg):
                continue
            weak = WEAK_THREAD_KEY if keyed_by_thread(fn, arg) else None
            why = ("%s asks `logging.getLogger` for a logger named after a value that changes with each call; "
                   "the logging module keeps every logger it makes, so each new value adds one that is never "
                   "freed." % fn_label(fn))
            fix = ("Use one logger per module (`logging.getLogger(__name__)`) and put the id in the message, "
                   "in `extra={...}` or in a `logging.LoggerAdapter`; drop it from the logger's name.")
            needs = made_many(facts, fn)
            yield call, why, fix, None, (needs[0] if needs else None), weak
