"""URL canonicalisation: the dedup key of an article.

Two links to the same article must give the same key: tracking parameters, fragments and AMP
variants are dropped, news-aggregator redirect links are unwrapped, host and scheme are lower-cased,
default ports removed and the remaining query parameters sorted. IPv6 literals keep their brackets.
A link that cannot be parsed (port out of range, broken IPv6 literal, no host) raises
:class:`~newsmon.errors.InvalidURL` naming the link, never a bare ``ValueError`` from ``urllib``.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from newsmon.errors import InvalidURL

__all__ = ["MAX_URL_LENGTH", "canonical_url", "join_url", "split_url", "unfollowable_reason", "unwrap_redirector"]

MAX_URL_LENGTH = 2048  # the dedup key column (articles.url) holds this many characters

_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "yclid", "msclkid", "mc_cid", "mc_eid",
        "igshid", "ocid", "cmpid", "cmp", "smid", "smtyp", "taid", "guccounter", "guce_referrer",
        "guce_referrer_sig", "_ga", "_gl", "mkt_tok", "ref", "ref_src", "ref_url", "referrer",
        "src", "source", "share", "sharetype", "sr_share", "spm", "feature", "rss", "from",
        "outputtype", "amp", "amp_js_v", "usqp", "s_cid", "wt.mc_id", "ito", "itm_source",
        "itm_medium", "itm_campaign", "int_source", "partner", "tpcc", "leadsource", "sref",
        "cid_source", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
        "at_custom4", "xtor", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname",
        "ns_fee", "fsrc", "emc", "ncid", "soc_src", "soc_trk", "ftag", "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_", "vero_", "oly_", "__hs", "_hs", "at_")
_AMP_CACHE = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lower = name.lower()
    return lower in _TRACKING_EXACT or lower.startswith(_TRACKING_PREFIXES)


def split_url(url: str) -> SplitResult:
    """``urlsplit`` that also checks the port and host, raising :class:`InvalidURL` instead of ValueError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        raise InvalidURL(url, f"not a valid URL: {exc}") from exc
    return parts


def join_url(base: str, link: str) -> str:
    """``urljoin`` raising :class:`InvalidURL` (naming the link) instead of ValueError."""
    try:
        joined = urljoin(base, link)
    except ValueError as exc:
        raise InvalidURL(link, f"not a valid URL: {exc}") from exc
    split_url(joined)
    return joined


def unwrap_redirector(url: str) -> str:
    """The target of a known redirect wrapper (Bing News, Google, AMP cache), else ``url``."""
    parts = split_url(url)
    host = (parts.hostname or "").lower()
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if host.endswith("bing.com") and parts.path.lower().startswith("/news/apiclick") and "url" in params:
        return params["url"]
    if host in ("www.google.com", "google.com") and parts.path == "/url":
        target = params.get("url") or params.get("q")
        if target and target.startswith(("http://", "https://")):
            return target
    if _AMP_CACHE.match(host):
        # https://www-example-com.cdn.ampproject.org/c/s/www.example.com/path -> https://www.example.com/path
        m = re.match(r"^/[a-z]/(s/)?(.+)$", parts.path)
        if m:
            scheme = "https" if m.group(1) else "http"
            return f"{scheme}://{m.group(2)}" + (f"?{parts.query}" if parts.query else "")
    return url


def unfollowable_reason(url: str) -> str | None:
    """Why ``url`` cannot lead to an article without running the site's JavaScript, else ``None``.

    Google News feed links (``news.google.com/rss/articles/…``) are script-driven redirect pages:
    the publisher's URL is not in the link and the page has no HTTP redirect to follow.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "news.google.com" and parts.path.startswith(("/rss/articles/", "/articles/", "/read/")):
        return ("a Google News link is a JavaScript redirect page and cannot be followed; "
                "subscribe to the publisher's feed or a Bing News search feed instead")
    return None


def _strip_amp_path(path: str) -> str:
    if path.endswith("/amp") or path.endswith("/amp/"):
        path = path[: path.rfind("/amp")] or "/"
    if path.startswith("/amp/"):
        path = path[4:]
    path = re.sub(r"\.amp(\.html?)$", r"\1", path)
    path = re.sub(r"\.amp$", "", path)
    return path


def canonical_url(url: str) -> str:
    """The canonical form of an article URL (the dedup key).

    >>> canonical_url("HTTPS://Example.com:443/a/amp/?utm_source=x&b=2&a=1#top")
    'https://example.com/a?a=1&b=2'
    """
    url = unwrap_redirector(url.strip())
    parts = split_url(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme in _DEFAULT_PORTS and not host:
        raise InvalidURL(url, "not a valid URL: no host")
    if host.startswith("amp.") and host.count(".") >= 2:
        host = "www." + host[4:]
    if ":" in host:  # an IPv6 literal: urlsplit drops the brackets, the URL needs them
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = _strip_amp_path(unquote_safe(parts.path) or "/")
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query = urlencode(sorted(query_pairs), doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))


def unquote_safe(path: str) -> str:
    """Decode percent-escapes of unreserved characters only (``%7E`` → ``~``), keep the rest."""
    return re.sub(
        r"%([0-9A-Fa-f]{2})",
        lambda m: (
            unquote(m.group(0)) if re.match(r"[A-Za-z0-9\-._~]", unquote(m.group(0))) else m.group(0).upper()
        ),
        path,
    )
