"""CPython's multiprocessing peers of bench/suites/queues.ts, the same patterns as threadkit's.

    python3 mp_queue.py queue N      the parent puts N ints on a multiprocessing.Queue, a child
                                     Process gets them: {"items": N, "seconds": s}
    python3 mp_queue.py pingpong N   two Processes hand two multiprocessing.Locks back and forth
                                     (binary semaphores) N rounds: {"handoffs": 2N, "seconds": s}
    python3 mp_queue.py uncontended N  acquire()+release() of a multiprocessing.Lock N times in a
                                     child Process: {"ops": N, "seconds": s}

Prints one JSON line. Times are taken from a point where every party is running (started and
past an Event), so process start-up is not counted, as in the threadkit suite.
"""
import json
import multiprocessing as mp
import sys
import time


def drain(q, n, ready, out):
    ready.set()
    total = 0
    for _ in range(n):
        total += q.get()
    out.put((time.monotonic(), total))


def run_queue(n):
    q = mp.Queue()
    out = mp.Queue()
    ready = mp.Event()
    child = mp.Process(target=drain, args=(q, n, ready, out))
    child.start()
    ready.wait()
    t0 = time.monotonic()
    for i in range(n):
        q.put(i)
    done_at, total = out.get()
    child.join()
    if total != n * (n - 1) // 2:
        raise SystemExit(f"wrong sum {total}")
    return {"items": n, "seconds": done_at - t0}


def ping_pong(role, ping, pong, barrier, rounds, out):
    barrier.wait()
    t0 = time.monotonic()
    for _ in range(rounds):
        if role == "ping":
            ping.release()
            pong.acquire()
        else:
            ping.acquire()
            pong.release()
    if role == "ping":
        out.put(time.monotonic() - t0)


def run_pingpong(rounds):
    ping, pong = mp.Lock(), mp.Lock()
    ping.acquire()
    pong.acquire()
    barrier = mp.Barrier(2)
    out = mp.Queue()
    procs = [mp.Process(target=ping_pong, args=(r, ping, pong, barrier, rounds, out)) for r in ("ping", "pong")]
    for p in procs:
        p.start()
    seconds = out.get()
    for p in procs:
        p.join()
    return {"handoffs": 2 * rounds, "seconds": seconds}


def uncontended(lock, n, out):
    for _ in range(n // 10):  # warm-up
        lock.acquire()
        lock.release()
    t0 = time.monotonic()
    for _ in range(n):
        lock.acquire()
        lock.release()
    out.put(time.monotonic() - t0)


def run_uncontended(n):
    out = mp.Queue()
    p = mp.Process(target=uncontended, args=(mp.Lock(), n, out))
    p.start()
    seconds = out.get()
    p.join()
    return {"ops": n, "seconds": seconds}


if __name__ == "__main__":
    mode, n = sys.argv[1], int(sys.argv[2])
    runs = {"queue": run_queue, "pingpong": run_pingpong, "uncontended": run_uncontended}
    print(json.dumps(runs[mode](n)))
