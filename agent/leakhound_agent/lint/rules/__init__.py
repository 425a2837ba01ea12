"""The rules, in the order they are listed and run. Each module has ID, TITLE,
HELP (what the rule finds and why it leaks, for SARIF and --help) and
check(facts) yielding (node, message, fix, container name or None), then optionally the evidence
the finding needs (see main.py; None: none) and, for a finding of low confidence by its nature, why
(WEAK_* in common.py: shown only with `leakhound lint --confidence low`, and where a run's leak confirms it)."""
from . import (
    global_container_growth,
    singleton_container_growth,
    unbounded_cache,
    cleanup_skipped,
    function_cache,
    method_cache,
    mutable_default_memo,
    handler_per_call,
    stdlib_table_growth,
    pyplot_figure_kept,
    logger_per_value,
    listener_never_removed,
    weak_key_kept,
    thread_local_growth,
    stored_exception,
    gc_disabled,
)

RULES = [
    global_container_growth,
    singleton_container_growth,
    unbounded_cache,
    cleanup_skipped,
    function_cache,
    method_cache,
    mutable_default_memo,
    handler_per_call,
    stdlib_table_growth,
    pyplot_figure_kept,
    logger_per_value,
    listener_never_removed,
    weak_key_kept,
    thread_local_growth,
    stored_exception,
    gc_disabled,
]
