"""URL canonicalisation: one key per article whatever the tracking, fragment or AMP variant."""

from __future__ import annotations

import pytest

from extractors.urls import canonical_url, unfollowable_reason


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("https://www.example.com/news/chips.html", "https://www.example.com/news/chips.html"),
        ("HTTPS://WWW.Example.com:443/news/chips.html#comments", "https://www.example.com/news/chips.html"),
        ("https://www.example.com/news/chips.html?utm_source=rss&utm_medium=feed&fbclid=abc",
         "https://www.example.com/news/chips.html"),
        ("https://www.example.com/story?id=7&utm_campaign=x&page=2", "https://www.example.com/story?id=7&page=2"),
        ("https://www.example.com/story?page=2&id=7", "https://www.example.com/story?id=7&page=2"),
        ("https://www.example.com/news/chips/amp", "https://www.example.com/news/chips"),
        ("https://www.example.com/news/chips/amp/", "https://www.example.com/news/chips"),
        ("https://www.example.com/amp/news/chips", "https://www.example.com/news/chips"),
        ("https://www.example.com/news/chips.amp.html", "https://www.example.com/news/chips.html"),
        ("https://www.example.com/news/chips?outputType=amp", "https://www.example.com/news/chips"),
        ("https://amp.example.com/news/chips", "https://www.example.com/news/chips"),
        ("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/chips",
         "https://www.example.com/news/chips"),
        ("https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&url=https%3a%2f%2fwww.example.com%2fnews%2fchips%3futm_source%3dbing&c=1",
         "https://www.example.com/news/chips"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/%7Euser/a%2Fb", "https://example.com/~user/a%2Fb"),
    ],
)
def test_canonical_url(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical


def test_canonical_url_is_idempotent() -> None:
    url = "https://amp.example.com/a/amp?b=1&utm_source=x#f"
    assert canonical_url(canonical_url(url)) == canonical_url(url)


@pytest.mark.parametrize(
    ("url", "unfollowable"),
    [
        ("https://news.google.com/rss/articles/CBMiWkFVX3lxTE1abc?oc=5", True),
        ("https://news.google.com/articles/CBMiWkFVX3lxTE1abc", True),
        ("https://news.google.com/rss/search?q=chips", False),  # a feed, not an item link
        ("https://www.example.com/rss/articles/chips", False),
    ],
)
def test_unfollowable_links_are_named(url: str, unfollowable: bool) -> None:
    reason = unfollowable_reason(canonical_url(url))
    assert (reason is not None) == unfollowable
    if unfollowable:
        assert reason is not None and "Google News" in reason and "publisher's feed" in reason
