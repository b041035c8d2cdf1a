"""Delivery through apprise: one apprise call per target, failures as :class:`DeliveryError`.

apprise reports all-or-nothing for a batch of targets, so a batched retry would re-send to targets
that already got a message: every call here carries exactly one target URL.

Secrets: a notify URL is shown only as :func:`mask_url` (apprise ``url(privacy=True)``). apprise's
logger is filtered: DEBUG records (which print whole webhook URLs) are dropped, and any secret of a
URL we send to is scrubbed from the records that remain and from captured error text.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import warnings
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import apprise

from alerts.render import Message
from newsmon.errors import DeliveryError

__all__ = ["mask_url", "scrub", "send_message", "target_key", "target_kind", "target_problem"]

log = logging.getLogger(__name__)

_LogCapture: Any = apprise.LogCapture  # untyped in apprise

# apprise loads its email plugin lazily; on import it touches the stdlib ``imghdr`` module, which
# warns (DeprecationWarning) on Python 3.11-3.12. Load it once here, with that one warning silenced.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*imghdr.*")
    import apprise.utils.pgp

# apprise appends every default to url(); these say nothing to a reader.
_NOISE_PARAMS = {"format", "overflow", "retry", "wait", "optional", "cto", "image", "footer", "timestamp",
                 "blocks", "method", "emojis", "discovery"}


# apprise logs the actual reason of an SMTP failure only at DEBUG ("Socket Exception: (451, …)"): keep
# those lines (scrubbed) so the error says why; drop every other DEBUG line (they print whole URLs).
_DEBUG_KEPT = ("Socket Exception",)


class _SecretFilter(logging.Filter):
    """Scrub known secrets from log records; on apprise's logger also drop DEBUG records.

    Installed on ``apprise`` and on ``urllib3.connectionpool`` (which logs the request line, i.e. a
    Slack webhook's whole token path, at DEBUG).
    """

    def __init__(self) -> None:
        super().__init__("newsmon-secrets")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, secrets: set[str]) -> None:
        with self._lock:
            self._secrets |= secrets

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "****")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.levelno < logging.INFO and record.name.startswith("apprise")
                and not str(record.msg).startswith(_DEBUG_KEPT)):
            return False
        record.msg = self.scrub(record.getMessage())
        record.args = None
        return True


def _install_filter() -> _SecretFilter:
    installed = [f for f in logging.getLogger("apprise").filters if isinstance(f, _SecretFilter)]
    secret_filter = installed[0] if installed else _SecretFilter()  # reused if the module is reloaded
    for name in ("apprise", "urllib3.connectionpool"):
        logger = logging.getLogger(name)
        if secret_filter not in logger.filters:
            logger.addFilter(secret_filter)
    return secret_filter


_FILTER = _install_filter()


def target_key(url: str) -> str:
    """The stable key of a target in the outbox (sha256 of the URL; the URL itself is never stored)."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()


def _instantiate(url: str) -> Any:
    """The apprise plugin for ``url``, or None when apprise cannot parse it."""
    with _LogCapture(level=logging.WARNING):  # apprise may log the raw URL when it cannot parse it
        return apprise.Apprise.instantiate(url.strip(), suppress_exceptions=True) or None


_MAIL_SCHEMES = ("mailto", "mailtos")


def target_problem(url: str) -> str | None:
    """What is wrong with a notify URL (None when apprise can send to it), without any secret of it.

    Checked when the config loads, so a bad target is refused up front instead of failing at every
    delivery attempt.
    """
    import apprise.manager_plugins

    manager: Any = apprise.manager_plugins.NotificationManager  # untyped in apprise; a singleton

    raw = url.strip()
    if "://" not in raw:
        return "expected an apprise URL such as mailto://… or slack://… (no '://' found)"
    scheme = raw.split("://", 1)[0].lower()
    if scheme not in manager():
        return f"{scheme[:20]!r} is not a notification service apprise knows (e.g. mailto, mailtos, slack, json)"
    if _instantiate(raw) is not None:
        return None
    if scheme in _MAIL_SCHEMES:
        query = dict(parse_qsl(urlsplit(raw).query))
        if not query.get("from") and "@" not in raw.split("://", 1)[1].split("?", 1)[0]:
            return (f"{scheme}:// needs a sender: add from=you@example.com (or give user:password@host, "
                    "whose address is the sender)")
        return f"apprise cannot use this {scheme}:// URL: check the host, the from= and to= addresses"
    return f"apprise cannot use this {scheme}:// URL: a required part (token, host, channel …) is missing or malformed"


def _shorten(masked: str) -> str:
    parts = urlsplit(masked)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _NOISE_PARAMS]
    return parts._replace(query=urlencode(query, safe="@*.:/")).geturl()


def mask_url(url: str) -> str:
    """The notify URL with every secret masked (apprise privacy mode); safe for logs and output."""
    plugin = _instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme[:20]}://**** (not a valid apprise URL)"
    return _shorten(str(plugin.url(privacy=True)))


def secret_fragments(url: str) -> set[str]:
    """Parts of the raw URL that do not survive masking: passwords, tokens, keys (len >= 4)."""
    masked = mask_url(url)
    pieces = {unquote(p) for p in re.split(r"[/:@?&=#,+]", url.split("://", 1)[-1]) if p}
    pieces |= {p for p in re.split(r"[/:@?&=#,+]", url.split("://", 1)[-1]) if p}
    return {p for p in pieces if len(p) >= 4 and p not in masked and unquote(p) not in unquote(masked)}


def scrub(text: str, url: str) -> str:
    """``text`` with every secret of ``url`` replaced by ``****``."""
    for secret in sorted(secret_fragments(url), key=len, reverse=True):
        text = text.replace(secret, "****")
    return _FILTER.scrub(text)


def target_kind(url: str) -> str:
    """``email``, ``slack``, ``html``, ``markdown`` or ``text``: which rendering the target reads."""
    plugin = _instantiate(url)
    if plugin is None:
        return "text"
    name = type(plugin).__name__.lower()
    if "email" in name:
        return "email"
    if "slack" in name:
        return "slack"
    fmt = str(getattr(plugin, "notify_format", "text")).lower()
    if "html" in fmt:
        return "html"
    if "markdown" in fmt:
        return "markdown"
    return "text"


def _body_for(kind: str, message: Message) -> tuple[str, str]:
    if kind in ("email", "html"):
        return message.html, apprise.NotifyFormat.HTML
    if kind == "slack":
        return message.slack, apprise.NotifyFormat.MARKDOWN
    return message.text, apprise.NotifyFormat.TEXT


def _reason(captured: str) -> str:
    lines = [ln.split(" - ", 2)[-1].strip() for ln in captured.splitlines() if ln.strip()]
    useful = [ln for ln in lines if ln]
    return "; ".join(useful[-3:])[:500] or "the target refused the message (no detail from apprise)"


def send_message(url: str, message: Message) -> None:
    """Send ``message`` to one target with one apprise call.

    Raises:
        DeliveryError: the target refused it or could not be reached (``target`` is masked, the
            reason scrubbed of secrets).
    """
    masked = mask_url(url)
    _FILTER.register(secret_fragments(url))
    notifier = apprise.Apprise()
    with _LogCapture(level=logging.WARNING) as captured:
        added = notifier.add(url.strip())
    if not added:
        raise DeliveryError(masked, "not a valid apprise URL")
    kind = target_kind(url)
    body, body_format = _body_for(kind, message)
    with _LogCapture(level=logging.DEBUG) as captured:  # DEBUG: only the lines _SecretFilter keeps
        ok = notifier.notify(body=body, title=message.subject, body_format=body_format)
        text = captured.getvalue()
    if not ok:
        raise DeliveryError(masked, scrub(_reason(text), url))
    log.info("delivered %r to %s", message.subject, masked)
