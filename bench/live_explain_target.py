"""Target for bench/live-explain-cost.mjs: fixed work (JSON round trips over
records) that also leaks every record into a module-level list, so leakhound
explains the leak while it runs. Prints its own in-process time as elapsed=S."""
import json
import os
import time

_KEPT = []


def main(rounds):
    started = time.perf_counter()
    for i in range(rounds):
        record = {"id": i, "name": "user-%d" % i, "tags": ["a", "b", str(i)], "score": i * 0.5}
        text = json.dumps(record)
        back = json.loads(text)
        _KEPT.append(back)
    print("elapsed=%.4f" % (time.perf_counter() - started))


main(int(os.environ.get("ROUNDS", "1500000")))
