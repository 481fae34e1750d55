"""Pipeline (divide and conquer): a ventilator PUSHes tasks to workers, which PUSH results to a sink.

PUSH spreads messages round-robin over the connected workers; PULL fair-queues what comes in.
Run: python examples/pipeline.py
"""

import threading

import zmtp as zmq


def worker(ctx: zmq.Context, tasks_ep: str, results_ep: str, name: str) -> None:
    with ctx.socket(zmq.PULL) as tasks, ctx.socket(zmq.PUSH) as results:
        tasks.connect(tasks_ep)
        results.connect(results_ep)
        while True:
            task = tasks.recv_json()
            if task is None:  # the ventilator's "no more work"
                break
            results.send_json({"worker": name, "n": task, "square": task * task})


def main() -> None:
    n_workers, n_tasks = 3, 30
    with zmq.Context() as ctx:
        ventilator = ctx.socket(zmq.PUSH)
        sink = ctx.socket(zmq.PULL)
        sink.rcvtimeo = 5000
        tasks_ep = f"tcp://127.0.0.1:{ventilator.bind_to_random_port('tcp://127.0.0.1')}"
        results_ep = f"tcp://127.0.0.1:{sink.bind_to_random_port('tcp://127.0.0.1')}"

        workers = [threading.Thread(target=worker, args=(ctx, tasks_ep, results_ep, f"w{i}"))
                   for i in range(n_workers)]
        for t in workers:
            t.start()

        for n in range(n_tasks):
            ventilator.send_json(n)

        total, per_worker = 0, {}
        for _ in range(n_tasks):
            result = sink.recv_json()
            total += result["square"]
            per_worker[result["worker"]] = per_worker.get(result["worker"], 0) + 1
        print("sum of squares:", total, "(expected", sum(n * n for n in range(n_tasks)), ")")
        print("tasks per worker:", dict(sorted(per_worker.items())))

        # Stop the workers: round-robin may hand two stop messages to one worker if another has
        # not connected yet, so keep sending until every worker has left (a closed worker's pipe
        # leaves the rotation).
        ventilator.sndtimeo = 100
        while any(t.is_alive() for t in workers):
            try:
                ventilator.send_json(None)
            except zmq.Again:
                pass
            for t in workers:
                t.join(0.02)
        ventilator.close()
        sink.close()


if __name__ == "__main__":
    main()
