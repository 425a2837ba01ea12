"""The host/agent contract, generated from contract.json by scripts/gen-contract.mjs: do not edit.

test/unit/contract.test.ts fails when this module, the agent or the host strays from contract.json.
"""

PROTOCOL_VERSION = 1
AGENT_MESSAGES = ("hello", "unsupported", "stacks", "sample", "log", "exiting", "shutdown", "retainers", "test")
HOST_MESSAGES = ("find-retainers", "done", "detach")
ENV = {"socket": "LEAKHOUND_SOCKET", "collector": "LEAKHOUND_COLLECTOR", "interval": "LEAKHOUND_INTERVAL", "nframes": "LEAKHOUND_NFRAMES", "sampleBytes": "LEAKHOUND_SAMPLE_BYTES", "native": "LEAKHOUND_NATIVE", "pytestRepeat": "LEAKHOUND_PYTEST_REPEAT"}
COLLECTORS = ("auto", "sampling", "tracemalloc")
DEFAULTS = {"collector": "auto", "intervalSec": 0.5, "nframes": 16, "sampleBytes": 32768, "retainerObjects": 200, "retainerTimeoutSec": 8}
LIMITS = {"intervalSec": (0.01, 3600), "nframes": (1, 1000), "sampleBytes": (1, 1099511627776), "retainerObjects": (0, 1000000), "retainerTimeoutSec": (0, 600), "pytestRepeat": (1, 100000)}
