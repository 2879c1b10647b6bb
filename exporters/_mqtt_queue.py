"""The offline queue of the MQTT publisher: sans-IO bookkeeping of messages in flight."""

from __future__ import annotations

import collections
from collections.abc import Iterator, Sequence

from ._mqtt_messages import MqttError, MqttMessage
from ._shown import shown

__all__ = ["MqttQueueFullError", "PublishQueue"]


class MqttQueueFullError(MqttError):
    """The offline queue is full; the message was refused (nothing queued is ever dropped)."""


class PublishQueue:
    """Messages waiting for the broker, and those handed over but not yet acknowledged.

    No threads, no clock: the adapter calls :meth:`offer` for new messages, :meth:`take`
    when it may hand messages to the client, :meth:`handed` with the message id the client
    gave, and :meth:`acknowledged` when the broker's PUBACK arrives (which may come before
    :meth:`handed` in a threaded client; that order is handled). QoS 0 messages count as
    acknowledged once handed over.

    >>> q = PublishQueue(max_queued=2)
    >>> q.offer(MqttMessage(topic="a", payload=b"1"))
    >>> q.offer(MqttMessage(topic="b", payload=b"2"))
    >>> [m.topic for m in q.take(1)], q.pending
    (['a'], 2)
    """

    def __init__(self, *, max_queued: int = 100_000, max_inflight: int = 20) -> None:
        if max_queued < 1 or max_inflight < 1:
            raise MqttError("queue limits must be >= 1", field="max_queued")
        self.max_queued = max_queued
        self.max_inflight = max_inflight
        self._queue: collections.deque[MqttMessage] = collections.deque()
        self._inflight: dict[int, MqttMessage] = {}
        self._taken = 0
        self._early_acks: set[int] = set()
        self.acknowledged_count = 0

    @property
    def queued(self) -> int:
        """Messages not yet handed to the client."""
        return len(self._queue)

    @property
    def inflight(self) -> int:
        """Messages handed over (or being handed over) and not yet acknowledged."""
        return len(self._inflight) + self._taken

    @property
    def pending(self) -> int:
        """Everything not yet acknowledged."""
        return self.queued + self.inflight

    def offer(self, message: MqttMessage) -> None:
        """Queue a message.

        Raises:
            MqttQueueFullError: ``max_queued`` messages are already waiting.
        """
        if len(self._queue) >= self.max_queued:
            raise MqttQueueFullError(
                f"{len(self._queue)} messages wait for the broker, the limit is "
                f"{self.max_queued}; message for {shown(message.topic)} refused",
                field="max_queued",
            )
        self._queue.append(message)

    def take(self, limit: int | None = None) -> list[MqttMessage]:
        """Messages the adapter may hand to the client now (respecting ``max_inflight``)."""
        room = self.max_inflight - self.inflight
        if limit is not None:
            room = min(room, limit)
        batch = []
        while room > 0 and self._queue:
            batch.append(self._queue.popleft())
            room -= 1
        self._taken += len(batch)
        return batch

    def handed(self, mid: int, message: MqttMessage) -> None:
        """The client accepted a taken message under message id ``mid``."""
        self._taken -= 1
        if message.qos == 0 or mid in self._early_acks:
            self._early_acks.discard(mid)
            self.acknowledged_count += 1
            return
        self._inflight[mid] = message

    def give_back(self, messages: Sequence[MqttMessage]) -> None:
        """Taken messages the client refused: back to the front of the queue, in order."""
        self._taken -= len(messages)
        self._queue.extendleft(reversed(messages))

    def acknowledged(self, mid: int) -> None:
        """The broker acknowledged message id ``mid``."""
        if self._inflight.pop(mid, None) is not None:
            self.acknowledged_count += 1
        elif self._taken:
            self._early_acks.add(mid)

    def __iter__(self) -> Iterator[MqttMessage]:
        yield from self._inflight.values()
        yield from self._queue
