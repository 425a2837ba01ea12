"""``leakhound attach PID``: the entry point the host injects into a running process.

The host (src/host/attach.ts) makes the target run, with the GIL held, at a point
where CPython itself may run Python code (a pending call or a signal check):

    leakhound_agent.attach.start(socket_path, settings_json)

which starts the agent with the host's settings (never from the environment: the
process was started without leakhound) and connects to the host's socket. The
agent then runs as under ``leakhound run`` until the host sends ``detach``
(Agent._detach): a last sample and retainer search, then everything is undone
and the program runs on as before. A later attach starts a fresh agent.

Nothing here may raise into the target: the injected snippet swallows errors too.
"""

import os

# The reason an attach is refused because an agent already runs in this process;
# the host (src/host/attach.ts) recognizes it by this prefix.
ALREADY_WATCHED = "already watched by leakhound"


def start(socket_path, settings_json):
    """Start an agent for an attach; returns it, or None when it was refused."""
    from . import agent as agent_module, protocol, supported
    from .config import Config

    python = "%d.%d.%d" % __import__("sys").version_info[:3]
    reason = supported()
    current = agent_module._agent
    if reason is None and current is not None and current.enabled:
        reason = "%s (its agent is running in process %d)" % (ALREADY_WATCHED, os.getpid())
    if reason is not None:
        _refuse(socket_path, python, reason, protocol)
        return None
    try:
        settings = protocol.loads(settings_json)
    except ValueError:
        settings = None
    config = Config.from_settings(socket_path, settings if type(settings) is dict else {})
    if config.collector != "tracemalloc":
        from .native import load_if_built

        # Never build the sampler inside a running program (it would run the compiler from
        # it): the host builds it ahead; when this process cannot find it, tracemalloc.
        if load_if_built() is None:
            config.collector = "tracemalloc"
    # threading must first be imported by the main thread (which runs this): imported first by
    # the sampling thread (the retainer search imports queue), 3.8's threading would take that
    # thread for the main one, and fail an assertion at the program's exit.
    import threading  # noqa: F401

    agent = agent_module.Agent(config)
    agent.attached = True
    agent.attached_after_sec = process_age()
    agent_module._agent = agent
    agent.start()
    return agent


def _refuse(socket_path, python, reason, protocol):
    from .connection import Connection

    conn = Connection(socket_path)
    try:
        conn.send(protocol.unsupported(os.getpid(), python, reason))
    finally:
        conn.close()


def process_age():
    """Seconds this process has run (from its start time in /proc/self/stat), or None."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        # Fields after the command name (which may hold spaces and parentheses).
        fields = stat[stat.rindex(b")") + 2:].split()
        start_ticks = int(fields[19])  # field 22: starttime, in clock ticks after boot
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, round(uptime - start_ticks / float(os.sysconf("SC_CLK_TCK")), 3))
    except Exception:
        return None

