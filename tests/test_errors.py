"""newsmon's errors cross process boundaries intact (extraction runs in worker processes)."""

from __future__ import annotations

import pickle

import pytest

from newsmon import errors

SAMPLES: list[errors.NewsmonError] = [
    errors.ConfigError("/etc/newsmon.toml", "fetch.timeout", "a number of seconds > 0"),
    errors.FetchError("https://example.com/a", "connection refused"),
    errors.FetchTimeout("https://example.com/a", "no answer within 5 s"),
    errors.HTTPStatusFailure("https://example.com/a", 503),
    errors.ResponseTooLarge("https://example.com/a", 1024),
    errors.BlockedAddress("https://example.com/a", "resolves to 10.0.0.1"),
    errors.TooManyRedirects("https://example.com/a", "more than 5 redirects"),
    errors.UnsupportedContent("https://example.com/a", "image/png is not a web page"),
    errors.FeedParseError("https://example.com/feed", "not a feed"),
    errors.ExtractError("https://example.com/a", "no article text found"),
    errors.DeliveryError("mailto://***@example.com", "SMTP refused"),
    errors.StorageError("database is locked"),
    errors.HostBackingOff("https://example.com/a", "example.com asked us to wait until 2026-12-01T18:00:00+00:00"),
    errors.InvalidURL("http://a:99999/x", "not a valid URL: Port out of range 0-65535"),
]


def test_every_error_class_is_sampled() -> None:
    assert {type(e).__name__ for e in SAMPLES} == set(errors.__all__) - {"NewsmonError"}


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_errors_pickle_as_themselves(error: errors.NewsmonError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__
    assert getattr(copy, "transient", None) == getattr(error, "transient", None)
