"""leakhound lint: find memory-leak causes in Python source before it runs.

Stdlib only, CPython 3.8+. Nothing here imports the agent's runtime (no threads,
no sockets): `python -m leakhound_agent.lint` reads a JSON request on stdin and
writes one JSON answer on stdout (see main.py).
"""
