"""Publish-subscribe with topics: one publisher, two subscribers each listening to one topic.

A subscriber only sees messages whose first frame starts with a topic it subscribed to.  The
publisher keeps publishing until both subscribers have had enough (subscriptions take a moment to
reach a publisher, so a real publisher just keeps publishing).  Run: python examples/pubsub.py
"""

import threading
import time

import zmtp as zmq


def subscriber(ctx: zmq.Context, endpoint: str, topic: str, wanted: int, done: threading.Event) -> None:
    with ctx.socket(zmq.SUB) as sub:
        sub.rcvtimeo = 5000
        sub.connect(endpoint)
        sub.subscribe(topic)
        for _ in range(wanted):
            topic_frame, body = sub.recv_multipart()
            assert topic_frame.decode().startswith(topic)
            print(f"[{topic} subscriber] {topic_frame.decode()}: {body.decode()}")
    done.set()


def main() -> None:
    with zmq.Context() as ctx:
        pub = ctx.socket(zmq.PUB)
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        endpoint = f"tcp://127.0.0.1:{port}"

        finished = [threading.Event(), threading.Event()]
        threads = [
            threading.Thread(target=subscriber, args=(ctx, endpoint, "weather", 3, finished[0])),
            threading.Thread(target=subscriber, args=(ctx, endpoint, "sport", 3, finished[1])),
        ]
        for t in threads:
            t.start()

        i = 0
        deadline = time.monotonic() + 10
        while not all(e.is_set() for e in finished) and time.monotonic() < deadline:
            pub.send_multipart([b"weather.paris", b"sunny, %d C" % (20 + i % 5)])
            pub.send_multipart([b"sport.football", b"score %d-0" % (i % 3)])
            pub.send_multipart([b"politics", b"nobody subscribed to this"])
            i += 1
            time.sleep(0.01)
        for t in threads:
            t.join()
        pub.close()


if __name__ == "__main__":
    main()
