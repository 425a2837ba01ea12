"""A tiny order-pricing service, used by `make demo`.

It simulates an HTTP API: a dispatcher thread feeds requests to a pool of
worker threads, each request parses a JSON body, prices the order and renders
a response. Most memory is churn and a bounded cache; one bug leaks.

The bug: `_remember_session` keeps every request's session object in a
module-level dict keyed by a per-request token, "for debugging", and nothing
ever evicts it.
"""
import functools
import json
import os
import queue
import random
import threading
import time

RUN_SECONDS = float(os.environ.get("DEMO_SECONDS", "10"))

_SESSIONS = {}
_LOCK = threading.Lock()


class Session:
    def __init__(self, user_id, token):
        self.user_id = user_id
        self.token = token
        self.cart_snapshot = [{"sku": "SKU-%05d" % i, "qty": i % 3 + 1} for i in range(30)]
        self.audit = "user=%d token=%s " % (user_id, token) * 20


def _remember_session(session):
    with _LOCK:
        _SESSIONS[session.token] = session  # BUG: never evicted


@functools.lru_cache(maxsize=512)
def price_of(sku):
    return round(1.0 + (hash(sku) % 10000) / 100.0, 2)


def handle(body):
    order = json.loads(body)
    session = Session(order["user"], "%x" % random.getrandbits(64))
    _remember_session(session)
    total = sum(price_of(line["sku"]) * line["qty"] for line in order["lines"])
    return json.dumps({"user": order["user"], "total": round(total, 2), "items": len(order["lines"])})


def worker(requests, responses):
    while True:
        body = requests.get()
        if body is None:
            return
        responses.append(len(handle(body)))


def main():
    requests = queue.Queue(maxsize=64)
    responses = []
    workers = [threading.Thread(target=worker, args=(requests, responses), daemon=True) for _ in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + RUN_SECONDS
    served = 0
    while time.monotonic() < deadline:
        lines = [{"sku": "SKU-%05d" % random.randrange(2000), "qty": random.randint(1, 4)} for _ in range(random.randint(1, 12))]
        requests.put(json.dumps({"user": random.randrange(10000), "lines": lines}))
        served += 1
        if served % 5 == 0:
            del responses[:]
            time.sleep(0.01)
    for _ in workers:
        requests.put(None)
    for w in workers:
        w.join()
    print("served %d requests" % served)


if __name__ == "__main__":
    main()
