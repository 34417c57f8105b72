"""Loopback WebSocket bridge in front of the embedded engine, for tests and benchmarks only."""

from .bridge import LABEL, Bridge, BridgeStats, Fault, Faults

__all__ = ["LABEL", "Bridge", "BridgeStats", "Fault", "Faults"]
