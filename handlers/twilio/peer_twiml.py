"""TwiML as the peer reads it: a <Response> document parsed into verb values, with every URL
already resolved against the URL of the document it came from (as Twilio resolves them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin
from xml.etree import ElementTree as ET

from handlers.twilio.peer_parties import DTMF_KEYS


class TwimlError(ValueError):
    """The document is not TwiML the peer can run (Twilio: error 12100/12200)."""


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    language: str | None
    voice: str | None
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Play:
    url: str  # '' when the Play only sends digits
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Pause:
    length: float = 1.0


@dataclass(frozen=True, slots=True)
class Gather:
    action: str
    method: str
    timeout: float
    num_digits: int | None
    finish_on_key: str
    action_on_empty_result: bool
    input: str
    nested: tuple[Say | Play | Pause, ...]


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    method: str


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str  # rejected | busy


@dataclass(frozen=True, slots=True)
class DialTarget:
    kind: str  # number | sip | client
    target: str
    # The noun's url: TwiML run for the dialled party once they answer, before they are
    # connected (call screening, the "whisper"); `method` is how it is requested.
    url: str | None = None
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class Dial:
    targets: tuple[DialTarget, ...]
    action: str | None
    method: str
    timeout: float
    time_limit: float
    unsupported: tuple[str, ...]  # nouns Twilio knows but this peer cannot dial (Conference…)
    caller_id: str | None = None  # the From of the dialled leg; None: the call's own From


@dataclass(frozen=True, slots=True)
class Enqueue:
    queue: str
    action: str | None
    method: str
    wait_url: str | None
    wait_method: str


@dataclass(frozen=True, slots=True)
class Leave:
    pass


Verb = Say | Play | Pause | Gather | Redirect | Hangup | Reject | Dial | Enqueue | Leave


def parse_twiml(body: str | bytes, url: str) -> tuple[Verb, ...]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    return tuple(_parse_verb(child, url) for child in root)


def _parse_verb(el: ET.Element, base: str) -> Verb:
    parser = _PARSERS.get(str(el.tag))
    if parser is None:
        raise TwimlError(f"<{el.tag}> is not a verb this peer runs")
    return parser(el, base)


def _say(el: ET.Element, base: str) -> Say:
    # itertext: SSML children (<prosody>, <break/>, …) still speak their text.
    text = "".join(el.itertext()).strip()
    return Say(text, el.get("language"), el.get("voice"), _int(el, "loop", 1, minimum=0))


def _play(el: ET.Element, base: str) -> Play:
    ref = (el.text or "").strip()
    return Play(urljoin(base, ref) if ref else "", _int(el, "loop", 1, minimum=0))


def _pause(el: ET.Element, base: str) -> Pause:
    return Pause(_number(el, "length", 1.0, minimum=0.0))


def _gather(el: ET.Element, base: str) -> Gather:
    finish = el.get("finishOnKey", "#")
    if finish and (len(finish) != 1 or finish not in DTMF_KEYS):
        raise TwimlError(f"Gather finishOnKey={finish!r} is not one key of {DTMF_KEYS}")
    num_digits = el.get("numDigits")
    return Gather(
        action=urljoin(base, el.get("action", "")),  # default: the current document
        method=_method(el, "method"),
        timeout=_number(el, "timeout", 5.0, minimum=0.0),
        num_digits=None if num_digits is None else _int(el, "numDigits", 1, minimum=1),
        finish_on_key=finish,
        action_on_empty_result=_flag(el, "actionOnEmptyResult"),
        input=el.get("input", "dtmf"),
        nested=tuple(_nested_in_gather(child, base) for child in el),
    )


def _nested_in_gather(el: ET.Element, base: str) -> Say | Play | Pause:
    verb = _parse_verb(el, base)
    if not isinstance(verb, Say | Play | Pause):
        raise TwimlError(f"<{el.tag}> cannot be nested in <Gather>")
    return verb


def _redirect(el: ET.Element, base: str) -> Redirect:
    ref = (el.text or "").strip()
    if not ref:
        raise TwimlError("<Redirect> has no URL")
    return Redirect(urljoin(base, ref), _method(el, "method"))


def _hangup(el: ET.Element, base: str) -> Hangup:
    return Hangup()


def _reject(el: ET.Element, base: str) -> Reject:
    reason = el.get("reason", "rejected")
    if reason not in ("rejected", "busy"):
        raise TwimlError(f"Reject reason={reason!r} is not 'rejected' or 'busy'")
    return Reject(reason)


_DIAL_NOUNS = {"Number": "number", "Sip": "sip", "Client": "client"}


def _dial(el: ET.Element, base: str) -> Dial:
    bare = (el.text or "").strip()
    targets = [DialTarget("number", bare)] if bare else []
    targets += [_dial_noun(child, base) for child in el if child.tag in _DIAL_NOUNS]
    unsupported = tuple(str(child.tag) for child in el if child.tag not in _DIAL_NOUNS)
    if not targets and not unsupported:
        raise TwimlError("<Dial> has nobody to dial")
    return Dial(
        targets=tuple(targets),
        action=_url(el, "action", base),
        method=_method(el, "method"),
        timeout=_number(el, "timeout", 30.0, minimum=0.0),
        time_limit=_number(el, "timeLimit", 14400.0, minimum=0.0),
        unsupported=unsupported,
        caller_id=el.get("callerId"),
    )


def _dial_noun(el: ET.Element, base: str) -> DialTarget:
    identity = el.find("Identity")  # <Client><Identity>name</Identity></Client>
    text = identity.text if identity is not None else el.text
    kind = _DIAL_NOUNS[str(el.tag)]
    return DialTarget(kind, (text or "").strip(), _url(el, "url", base), _method(el, "method"))


def _enqueue(el: ET.Element, base: str) -> Enqueue:
    return Enqueue(
        queue=(el.text or "").strip(),
        action=_url(el, "action", base),
        method=_method(el, "method"),
        wait_url=_url(el, "waitUrl", base),
        wait_method=_method(el, "waitUrlMethod"),
    )


def _leave(el: ET.Element, base: str) -> Leave:
    return Leave()


_PARSERS: dict[str, Callable[[ET.Element, str], Verb]] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": _gather,
    "Redirect": _redirect,
    "Hangup": _hangup,
    "Reject": _reject,
    "Dial": _dial,
    "Enqueue": _enqueue,
    "Leave": _leave,
}


def _url(el: ET.Element, name: str, base: str) -> str | None:
    ref = el.get(name)
    return None if ref is None else urljoin(base, ref.strip())


def _method(el: ET.Element, name: str) -> str:
    method = el.get(name, "POST").upper()
    if method not in ("GET", "POST"):
        raise TwimlError(f"<{el.tag}> {name}={method!r} is not GET or POST")
    return method


def _flag(el: ET.Element, name: str) -> bool:
    value = el.get(name, "false").lower()
    if value not in ("true", "false"):
        raise TwimlError(f"<{el.tag}> {name}={value!r} is not true or false")
    return value == "true"


def _number(el: ET.Element, name: str, default: float, *, minimum: float) -> float:
    raw = el.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TwimlError(f"<{el.tag}> {name}={raw!r} is not a number") from None
    if value < minimum:
        raise TwimlError(f"<{el.tag}> {name}={raw!r} is below {minimum:g}")
    return value


def _int(el: ET.Element, name: str, default: int, *, minimum: int) -> int:
    value = _number(el, name, default, minimum=minimum)
    if value != int(value):
        raise TwimlError(f"<{el.tag}> {name}={el.get(name)!r} is not a whole number")
    return int(value)
