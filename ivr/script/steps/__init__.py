"""The step kinds; importing this package registers each one with the engine."""

from ivr.script.steps import ending, menu, routing, say, survey

__all__ = ["ending", "menu", "routing", "say", "survey"]
