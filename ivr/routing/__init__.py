"""Routing: which agent rings for a waiting caller — the case owner first, then longest idle."""
