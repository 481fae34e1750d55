"""``PUBHandler``: a :mod:`logging` handler that publishes records on a PUB socket (pyzmq's
``zmq.log.handlers``), and ``TopicLogger``, whose methods take a topic before the message.

Each record goes out as two frames, ``[topic, formatted message]``.  The topic is
``root_topic.LEVELNAME[.subtopic]``: a message logged as ``"sub.topic::text"`` gets ``sub.topic`` as
its subtopic, so subscribers can filter by level and subsystem (SUB prefix matching).
"""

from __future__ import annotations

import logging
from copy import copy
from typing import Any, Dict, Optional, Union

from ..constants import SocketType
from ..context import Context
from ..socket import Socket

#: Separates a subtopic from the message text in a log call (``log.info("db.write::done")``).
TOPIC_DELIM = "::"


class PUBHandler(logging.Handler):
    """Publish log records on a PUB socket: one given, or one made and bound to ``interface``."""

    socket: Socket[Any]
    ctx: Context[Any]

    def __init__(self, interface_or_socket: Union[str, Socket[Any]], context: Optional[Context[Any]] = None,
                 root_topic: str = "") -> None:
        logging.Handler.__init__(self)
        self.root_topic = root_topic
        self.formatters: Dict[int, Optional[logging.Formatter]] = {
            logging.DEBUG: logging.Formatter("%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"),
            logging.INFO: logging.Formatter("%(message)s\n"),
            logging.WARN: logging.Formatter("%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"),
            logging.ERROR: logging.Formatter("%(levelname)s %(filename)s:%(lineno)d - %(message)s - %(exc_info)s\n"),
            logging.CRITICAL: logging.Formatter("%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"),
        }
        if isinstance(interface_or_socket, Socket):
            self.socket = interface_or_socket
            self.ctx = self.socket.context  # type: ignore[assignment]
        else:
            self.ctx = context or Context()
            self.socket = self.ctx.socket(SocketType.PUB)
            self.socket.bind(interface_or_socket)

    @property
    def root_topic(self) -> str:
        """Prepended to every topic ('' by default: topics then start with the level name)."""
        return self._root_topic

    @root_topic.setter
    def root_topic(self, value: Union[str, bytes]) -> None:
        self.setRootTopic(value)

    def setRootTopic(self, root_topic: Union[str, bytes]) -> None:
        """Set :attr:`root_topic` (bytes are decoded as UTF-8)."""
        if isinstance(root_topic, bytes):
            root_topic = root_topic.decode("utf8")
        self._root_topic = root_topic

    def setFormatter(self, fmt: Optional[logging.Formatter], level: int = logging.NOTSET) -> None:
        """Use ``fmt`` for records of ``level`` (NOTSET: for every level)."""
        if level == logging.NOTSET:
            for lvl in self.formatters:
                self.formatters[lvl] = fmt
        else:
            self.formatters[level] = fmt

    def format(self, record: logging.LogRecord) -> str:
        """Format with the formatter of the record's level."""
        fmt = self.formatters.get(record.levelno) or self.formatter or logging.Formatter()
        return fmt.format(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Publish ``[topic, message]``."""
        try:
            topic, msg = str(record.msg).split(TOPIC_DELIM, 1)
        except ValueError:
            topic = ""
        else:
            record = copy(record)
            record.msg = msg
        try:
            bmsg = self.format(record).encode("utf8")
        except Exception:
            self.handleError(record)
            return
        parts = [self.root_topic] if self.root_topic else []
        parts.append(record.levelname)
        if topic:
            parts.append(topic)
        self.socket.send_multipart([".".join(parts).encode("utf8", "replace"), bmsg])


class TopicLogger(logging.Logger):
    """A logger whose methods take a topic first: ``logger.debug("db.write", "done %s", x)``."""

    def log(self, level: int, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Log ``msg % args`` at ``level`` under ``topic``."""
        logging.Logger.log(self, level, f"{topic}{TOPIC_DELIM}{msg}", *args, **kwargs)


def _topic_method(name: str) -> Any:
    method = getattr(logging.Logger, name)

    def log_with_topic(self: TopicLogger, topic: str, msg: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("stacklevel", 2)
        return method(self, f"{topic}{TOPIC_DELIM}{msg}", *args, **kwargs)

    log_with_topic.__name__ = name
    log_with_topic.__doc__ = f"``{name}(topic, msg, *args)``: as logging's, under ``topic``."
    return log_with_topic


for _name in ("debug", "info", "warn", "warning", "error", "exception", "critical", "fatal"):
    if hasattr(logging.Logger, _name):
        setattr(TopicLogger, _name, _topic_method(_name))

__all__ = ["PUBHandler", "TopicLogger", "TOPIC_DELIM"]
