"""A request-reply broker: clients (REQ) -> ROUTER | proxy | DEALER -> workers (REP).

``zmq.proxy`` shuttles messages both ways; the ROUTER adds the client's routing id on the way in and
uses it to route the reply back.  Terminating the context stops the proxy with ContextTerminated.
Run: python examples/broker.py
"""

import threading

import zmtp as zmq


def broker(frontend: zmq.Socket, backend: zmq.Socket) -> None:
    try:
        zmq.proxy(frontend, backend)
    except zmq.ContextTerminated:
        pass  # ctx.term() was called: time to go
    frontend.close(linger=0)
    backend.close(linger=0)


def worker(ctx: zmq.Context, endpoint: str, name: str) -> None:
    with ctx.socket(zmq.REP) as sock:
        sock.connect(endpoint)
        while True:
            try:
                request = sock.recv_string()
            except zmq.ContextTerminated:
                return
            sock.send_string(f"{request} handled by {name}")


def client(ctx: zmq.Context, endpoint: str, name: str, n: int) -> None:
    with ctx.socket(zmq.REQ) as sock:
        sock.rcvtimeo = 5000
        sock.connect(endpoint)
        for i in range(n):
            sock.send_string(f"{name} request {i}")
            print(sock.recv_string())


def main() -> None:
    ctx = zmq.Context()
    frontend = ctx.socket(zmq.ROUTER)
    backend = ctx.socket(zmq.DEALER)
    front_ep = f"tcp://127.0.0.1:{frontend.bind_to_random_port('tcp://127.0.0.1')}"
    back_ep = f"tcp://127.0.0.1:{backend.bind_to_random_port('tcp://127.0.0.1')}"

    threads = [threading.Thread(target=broker, args=(frontend, backend))]
    threads += [threading.Thread(target=worker, args=(ctx, back_ep, f"worker-{i}")) for i in range(2)]
    for t in threads:
        t.start()

    clients = [threading.Thread(target=client, args=(ctx, front_ep, f"client-{i}", 3)) for i in range(3)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()

    ctx.term()  # wakes the proxy and the workers with ContextTerminated; returns once they closed
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
