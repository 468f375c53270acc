"""Callbacks: durable jobs to call customers back, claimed by any instance's worker."""
