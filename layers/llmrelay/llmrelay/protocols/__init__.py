"""Client-facing dialects: each turns the gateway's stream (:mod:`llmrelay.protocols.base`)
into the bytes one kind of client expects. Pure code: no I/O, clocks injected."""

from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta, Terminal, Timings

__all__ = ["Heartbeat", "StreamItem", "StreamMeta", "Terminal", "Timings"]
