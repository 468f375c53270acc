"""Asterisk: the FastAGI server that runs the flows on a PBX's calls, and the AMI client."""

from handlers.asterisk.server import DEFAULT_PORT, AgiServer, agi_server

__all__ = ["DEFAULT_PORT", "AgiServer", "agi_server"]
