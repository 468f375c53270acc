"""Prompt audio: the flows' text rendered to sound files, and where those files live."""
