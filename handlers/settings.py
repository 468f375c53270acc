"""Settings of a running Hotline, from the command line and the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import structlog

log = structlog.get_logger(__name__)


def default_data_dir() -> Path:
    if os.environ.get("IVR_DATA_DIR"):
        return Path(os.environ["IVR_DATA_DIR"])
    # As root, pgserver runs PostgreSQL as its own user and opens the data dir's parents to it:
    # under /root that would expose root's home, so root's data lives where services keep theirs.
    if os.geteuid() == 0:
        return Path("/var/lib/hotline")
    return Path(platformdirs.user_data_dir("hotline"))


def default_sounds_dir(data_dir: Path | None = None) -> Path:
    """Where `ivr prompts build` writes the prompts' audio and the server reads it."""
    if os.environ.get("IVR_SOUNDS_DIR"):
        return Path(os.environ["IVR_SOUNDS_DIR"])
    return (data_dir or default_data_dir()) / "sounds"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    flows_dir: Path = Path("flows")
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None
    public_url: str | None = None  # the base URL Twilio uses, when behind a proxy
    twilio_auth_token: str = ""
    twilio_account_sid: str | None = None  # for the REST API (moving live calls, callbacks)
    twilio_api_base: str | None = None  # another address for the REST API (an edge, a fake)
    caller_id: str | None = None  # the number callbacks show; default: the hotline's first
    admin_token: str = ""
    max_body_bytes: int = 64 * 1024  # Twilio's webhooks are a few hundred bytes
    sounds_dir: Path | None = None  # the prompts' audio (ivr prompts build); None: DATA_DIR/sounds
    agi_host: str = "127.0.0.1"  # FastAGI: Asterisk's AGI(agi://HOST:PORT/FLOW)
    agi_port: int = 4573  # 0: no FastAGI server
    agi_max_sessions: int = 10_000  # FastAGI sessions at once (one per channel); more: refused
    ami_host: str = "127.0.0.1"  # Asterisk's manager interface, used when a username and
    ami_port: int = 5038  # secret are set (redirects for agents' flags, callbacks)
    ami_username: str | None = None
    ami_secret: str | None = None
    stale_call_minutes: float = 10.0  # a call in a menu or queue with no step this long: lost
    asterisk_trunk: str = "trunk"  # the PJSIP endpoint Asterisk callbacks dial customers through

    @property
    def base_url(self) -> str:
        """Where Twilio reaches this service: the public URL, else the address it listens on."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def sounds_root(self) -> Path:
        return self.sounds_dir or self.data_dir / "sounds"

    @classmethod
    def resolve(
        cls,
        data_dir: Path | None = None,
        flows_dir: Path | None = None,
        host: str | None = None,
        port: int | None = None,
        public_url: str | None = None,
        agi_host: str | None = None,
        agi_port: int | None = None,
    ) -> Settings:
        data_dir = data_dir or default_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            data_dir=data_dir,
            flows_dir=flows_dir or Path(os.environ.get("IVR_FLOWS_DIR", "flows")),
            host=host or os.environ.get("IVR_HOST", "127.0.0.1"),
            port=port or int(os.environ.get("IVR_PORT", "8080")),
            database_url=os.environ.get("DATABASE_URL") or None,
            public_url=public_url or os.environ.get("IVR_PUBLIC_URL") or None,
            sounds_dir=default_sounds_dir(data_dir),
            twilio_auth_token=secret(data_dir, "TWILIO_AUTH_TOKEN", "twilio_auth_token"),
            twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or None,
            twilio_api_base=os.environ.get("TWILIO_API_BASE") or None,
            caller_id=os.environ.get("IVR_CALLER_ID") or None,
            admin_token=secret(data_dir, "IVR_ADMIN_TOKEN", "admin_token"),
            agi_host=agi_host or os.environ.get("IVR_AGI_HOST", "127.0.0.1"),
            agi_port=int(os.environ.get("IVR_AGI_PORT", 4573)) if agi_port is None else agi_port,
            agi_max_sessions=int(os.environ.get("IVR_AGI_MAX_SESSIONS", "10000")),
            ami_host=os.environ.get("IVR_AMI_HOST", "127.0.0.1"),
            ami_port=int(os.environ.get("IVR_AMI_PORT", "5038")),
            ami_username=os.environ.get("IVR_AMI_USERNAME") or None,
            ami_secret=os.environ.get("IVR_AMI_SECRET") or None,
            stale_call_minutes=float(os.environ.get("IVR_STALE_CALL_MINUTES", "10")),
            asterisk_trunk=os.environ.get("IVR_ASTERISK_TRUNK") or "trunk",
        )


def secret(data_dir: Path, env: str, filename: str) -> str:
    """From the environment, else a token kept in the data dir (made on first use)."""
    if os.environ.get(env):
        return os.environ[env]
    path = data_dir / filename
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    log.info(f"no {env} set: created a local one", path=str(path))
    return token
