"""leakhound's pytest plugin: which test keeps memory, run by run.

`leakhound run` names this module in PYTEST_PLUGINS, so any pytest the target starts loads it;
nothing is installed in the user's environment. Without a running agent (an interpreter the agent
cannot serve, a host that went away) every hook does nothing.

- Each test run is measured from before its set-up to after its teardown and a collection
  (per_test.TestMeter); the figures go to the host as one `test` message.
- LEAKHOUND_PYTEST_REPEAT=N (``leakhound run --repeat N``) runs every test N times in a row, so
  memory kept on every run (a leak) is told from memory kept on the first run only (a cache fill).
- ``@pytest.mark.leakhound(max_retained="1 MiB")`` fails a test run that keeps more than that: its
  teardown report becomes a failure saying what was kept.

Must stay importable by any Python pytest runs on (no f-strings): pytest imports it everywhere.
"""

import os
import sys

import pytest

from .sizes import format_bytes

_MARKER = "leakhound"
_REPEAT_ENV = "LEAKHOUND_PYTEST_REPEAT"  # the contract's env.pytestRepeat

_meter = None
_limits = {}  # test id -> (bytes, as written) for marked tests


def _running_agent():
    module = sys.modules.get("leakhound_agent.agent")
    agent = getattr(module, "_agent", None) if module is not None else None
    if agent is None or not agent.enabled or agent.collector is None:
        return None
    return agent


def _repeat():
    try:
        n = int(os.environ.get(_REPEAT_ENV, "1"))
    except ValueError:
        return 1
    return max(1, min(n, 100000))


def pytest_configure(config):
    global _meter
    config.addinivalue_line(
        "markers",
        "leakhound(max_retained): fail the test when a run keeps more memory than max_retained after its "
        "teardown (bytes, or a string like \"1 MiB\"), measured by leakhound run",
    )
    agent = _running_agent()
    if agent is None:
        return
    try:
        from .per_test import TestMeter

        _meter = TestMeter(agent)
    except Exception:
        _meter = None


def pytest_collection_modifyitems(session, config, items):
    n = _repeat()
    if _meter is None or n <= 1:
        return
    # Each test N times in a row: pytest's runtestprotocol starts a fresh request per run.
    items[:] = [item for item in items for _ in range(n)]


class _ParentsOf(object):
    """Stands for "the next item" when a test runs again right after itself: its parents stay set
    up (module and session fixtures live on, as between two tests of one module) and the test's
    own function-scoped fixtures are torn down, as after any test."""

    def __init__(self, item):
        self._chain = item.listchain()[:-1]

    def listchain(self):
        return list(self._chain)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is item and _meter is not None:
        item.session._setupstate.teardown_exact(_ParentsOf(item))


def _limit_of(item):
    marker = item.get_closest_marker(_MARKER) if hasattr(item, "get_closest_marker") else None
    if marker is None:
        return None
    value = marker.kwargs.get("max_retained", marker.args[0] if marker.args else None)
    if value is None:
        return None
    from .per_test import parse_size

    return parse_size(value), value


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    meter = _meter
    if meter is not None:
        try:
            meter.start()
        except Exception:
            pass
    yield


def _outcome(item):
    reports = getattr(item, "_leakhound_reports", ())
    if any(r.failed for r in reports):
        return "failed"
    if any(r.skipped for r in reports):
        return "skipped"
    return "passed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    meter = _meter
    if meter is None:
        return
    report = outcome.get_result()
    if call.when == "setup":
        item._leakhound_reports = [report]
        return
    item.__dict__.setdefault("_leakhound_reports", []).append(report)
    if call.when != "teardown":
        return
    limit = None
    try:
        limit = _limit_of(item)
    except ValueError as error:
        if report.passed:
            report.outcome = "failed"
            report.longrepr = "leakhound: bad marker on %s: %s" % (item.nodeid, error)
        limit = None
    status = _outcome(item)
    item._leakhound_reports = []
    try:
        kept = meter.finish(item.nodeid, status, limit[0] if limit else None)
    except Exception:
        return
    if limit is None or kept is None or not report.passed or status != "passed":
        return
    # A sampled figure fails the test only when it is over the limit by two standard errors.
    error = meter.error(kept)
    if kept - 2 * error > limit[0]:
        report.outcome = "failed"
        report.longrepr = ("leakhound: %s kept %s%s after its teardown, more than max_retained=%s"
                           % (item.nodeid, format_bytes(kept), (" (±%s, sampled)" % format_bytes(error)) if error else "",
                              limit[1]))
