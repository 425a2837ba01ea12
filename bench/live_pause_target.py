"""Target for bench/live-pause.mjs: a heap of about two million objects, a leak
that grows steadily (so leakhound explains it while the program runs), and a
ticker thread that measures how long it is kept from running.

The ticker sleeps 1 ms in a loop and records every gap between its wake-ups.
Any thread holding the GIL delays it: the main thread (up to the 5 ms switch
interval), and the agent's live retainer search. At SIGINT it writes the gaps
above 2 ms, with when they happened, as JSON to the path in PAUSE_OUT.
"""
import json
import os
import signal
import threading
import time

OBJECTS = int(os.environ.get("PAUSE_OBJECTS", "2000000"))
# A dict, a list and an int per item: three objects.
HEAP = [{"id": i + 1000, "tags": [i]} for i in range(OBJECTS // 3)]
_LEAK = []
_stop = False
_gaps = []
_started = time.monotonic()


def ticker():
    last = time.perf_counter()
    while not _stop:
        time.sleep(0.001)
        now = time.perf_counter()
        gap = now - last
        if gap > 0.002:
            _gaps.append([round(time.monotonic() - _started, 3), round(gap * 1000, 2)])
        last = now


def on_interrupt(signum, frame):
    global _stop
    _stop = True
    with open(os.environ["PAUSE_OUT"], "w") as out:
        json.dump({"objects": OBJECTS, "gaps": _gaps, "seconds": time.monotonic() - _started}, out)
    os._exit(0)


signal.signal(signal.SIGINT, on_interrupt)
threading.Thread(target=ticker, daemon=True).start()
while True:
    for _ in range(50):
        _LEAK.append({"payload": "p" * 300})
    time.sleep(0.01)
