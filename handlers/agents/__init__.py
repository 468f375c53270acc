"""The agent console: its page, its JSON API and live pushes over WebSocket."""
