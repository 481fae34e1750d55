"""Request-reply: a REP server answers a REQ client.

Plain pyzmq code; only the import differs.  Run: python examples/reqrep.py
"""

import threading

import zmtp as zmq


def server(ctx: zmq.Context, endpoint: str, n: int) -> None:
    with ctx.socket(zmq.REP) as sock:
        sock.bind(endpoint)
        for _ in range(n):
            request = sock.recv_string()
            sock.send_string(f"Hello, {request}!")


def main() -> None:
    n = 5
    with zmq.Context() as ctx:
        endpoint = "inproc://greeter"  # a tcp:// or ipc:// address works the same way
        t = threading.Thread(target=server, args=(ctx, endpoint, n))
        t.start()

        with ctx.socket(zmq.REQ) as client:
            client.rcvtimeo = 5000  # fail instead of waiting forever
            client.connect(endpoint)  # connecting before the bind is fine
            for i in range(n):
                client.send_string(f"client #{i}")
                print("got:", client.recv_string())
        t.join()


if __name__ == "__main__":
    main()
