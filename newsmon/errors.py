"""One error tree for newsmon.

::

    NewsmonError
    ├── ConfigError(path, key, expected)      bad config file / environment: exit code 2
    ├── FetchError(url, reason)               one URL could not be fetched
    │   ├── FetchTimeout
    │   ├── HTTPStatusFailure(status)
    │   ├── HostBackingOff(until)             the host asked us to wait (429/503 Retry-After)
    │   ├── ResponseTooLarge(limit)
    │   ├── BlockedAddress                    resolves to a private/loopback address
    │   ├── TooManyRedirects
    │   └── UnsupportedContent                binary / non-HTML content
    ├── FeedParseError(url, reason)           a feed body that holds no feed
    ├── InvalidURL(url, reason)               a link that cannot be parsed (bad port, broken IPv6 literal)
    ├── ExtractError(url, reason)             a page with no article text
    ├── DeliveryError(target, reason)         an alert target refused a message (target is masked)
    └── StorageError(reason)                  the database cannot be reached or migrated

A failure of one feed, page or delivery is *data*: callers catch ``NewsmonError`` per item,
record it and go on. Anything else is a bug and propagates. Only the CLI maps errors to exit codes.
"""

from __future__ import annotations

__all__ = [
    "BlockedAddress",
    "ConfigError",
    "DeliveryError",
    "ExtractError",
    "FeedParseError",
    "FetchError",
    "FetchTimeout",
    "HTTPStatusFailure",
    "HostBackingOff",
    "InvalidURL",
    "NewsmonError",
    "ResponseTooLarge",
    "StorageError",
    "TooManyRedirects",
    "UnsupportedContent",
]


class NewsmonError(Exception):
    """Base class of every error newsmon raises on purpose.

    Every subclass pickles and unpickles as itself, whatever its ``__init__`` takes: errors raised
    in an extraction worker process cross back to the parent by pickle, and an error that cannot
    be rebuilt there breaks the whole worker pool.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(cls: type[NewsmonError], args: tuple[object, ...],
                   state: dict[str, object]) -> NewsmonError:
    """Unpickle a :class:`NewsmonError` without calling its ``__init__`` (see ``__reduce__``)."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(NewsmonError):
    """The configuration is invalid. Names the file, the key and what was expected."""

    def __init__(self, path: str, key: str, expected: str) -> None:
        self.path = path
        self.key = key
        self.expected = expected
        where = f"{path}: " if path else ""
        keypart = f"key '{key}': " if key else ""
        super().__init__(f"{where}{keypart}{expected}")


class FetchError(NewsmonError):
    """A URL could not be fetched. ``reason`` is short and user-readable."""

    transient = False

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class FetchTimeout(FetchError):
    """The server did not answer within ``[fetch] timeout``."""

    transient = True


class HTTPStatusFailure(FetchError):
    """The server answered with an error status."""

    def __init__(self, url: str, status: int) -> None:
        self.status = status
        super().__init__(url, f"HTTP {status}")
        self.transient = status == 429 or status >= 500


class HostBackingOff(FetchError):
    """Not fetched: the host answered 429/503 with ``Retry-After`` and that time has not passed yet."""

    transient = True


class ResponseTooLarge(FetchError):
    """The body is larger than ``[fetch] max_bytes``; it was cut off and not used."""

    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(url, f"response larger than max_bytes={limit}; cut off and skipped")


class BlockedAddress(FetchError):
    """The URL resolves to a loopback, private or link-local address and the config forbids it."""


class TooManyRedirects(FetchError):
    """More redirects than the limit."""


class UnsupportedContent(FetchError):
    """The response is not HTML/XML text (an image, a PDF, a binary)."""


class FeedParseError(NewsmonError):
    """A feed body that holds no usable feed."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class InvalidURL(NewsmonError, ValueError):
    """A URL that cannot be parsed or used (port out of range, broken IPv6 literal, no host, too long).

    Also a :class:`ValueError`, so callers that guard URL parsing with ``except ValueError`` keep working.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url[:300]}: {reason}")


class ExtractError(NewsmonError):
    """A page from which no article could be extracted."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class DeliveryError(NewsmonError):
    """An alert target refused or failed a message. ``target`` is always the masked URL."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: {reason}")


class StorageError(NewsmonError):
    """The database cannot be reached, created or migrated."""
