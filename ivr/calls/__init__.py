"""Calls: running the engine for one call at a time, with its state and events in the store."""
