"""Article extraction: one HTML page in, one clean :class:`ExtractedArticle` out.

The pipeline, for one page:

1. **Guard** the input (:func:`prepare_html`): refuse binary / non-HTML bodies with
   :class:`UnsupportedContent`, cut anything beyond ``max_bytes`` *before* parsing, decode bytes
   by charset sniffing (BOM, ``<meta charset>``, UTF-8 fallback) and refuse pages whose tag count
   would make the parser and the extractor spin (:data:`MAX_TAGS`).
2. **Parse once** with lxml; read the metadata cheaply from that tree (:mod:`extractors.metadata`).
3. **Prune page chrome** from the tree (:func:`extractors.cleanup.prune_chrome`): share widgets,
   related/popular/recommended lists, newsletter and cookie prompts, comment forms, footers.
4. **Extract the main text** with trafilatura (comments off, no metadata pass: we have ours).
5. **Clean the extracted blocks** (:func:`extractors.cleanup.clean_blocks`): the headline and
   standfirst printed again, bylines, credits, "Related Articles" tails, newsletter errors.

Text is paragraphs separated by a blank line.  The module is pure: no network, no disk.

Time bounding: :func:`extract_article` itself is bounded in *size* (``max_bytes``,
:data:`MAX_TAGS`), which bounds lxml and trafilatura work (about 0.1 ms per tag).  For a hard
wall-clock bound, use :class:`BoundedExtractor` (long-lived worker processes, thread-safe; a
worker that overruns ``time_limit`` is killed and replaced) or, for a one-off call,
:func:`extract_article_bounded` / ``extract_article(..., time_limit=s)``.  Both raise
:class:`ExtractError` ("extraction took longer than N s and was stopped").  Child processes are
started with ``spawn``, so this is safe from threads.
"""

from __future__ import annotations

import codecs
import multiprocessing
import re
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

import trafilatura
from lxml import etree
from lxml.html import HtmlElement, HTMLParser, document_fromstring
from trafilatura.settings import Document, Extractor

from extractors.cleanup import Block, clean_blocks, prune_chrome
from extractors.metadata import PageMetadata, read_metadata
from newsmon.errors import ExtractError, UnsupportedContent
from newsmon.models import ExtractedArticle
from newsmon.workers import die_with_parent

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "MAX_TAGS",
    "BoundedExtractor",
    "extract_article",
    "extract_article_bounded",
    "extract_text",
    "main_paragraphs",
    "prepare_html",
]

#: Pages with more start tags than this are refused before parsing.  Real article pages have a
#: few thousand (the benchmark's largest: ~1,700); extraction costs ~0.1 ms per tag, so this cap
#: bounds one page to roughly ten seconds even when every tag holds text.  For a hard wall-clock
#: bound use :class:`BoundedExtractor` / :func:`extract_article_bounded`.
MAX_TAGS = 100_000

#: Default wall-clock limit of :func:`extract_article_bounded`, in seconds.
DEFAULT_TIME_LIMIT = 20.0

_SNIFF_BYTES = 4096
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"RIFF", "a RIFF media file"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"\x7fELF", "an executable"),
)
_SINGLE_BYTE_DEFAULTS = frozenset({"iso8859-1", "cp1252", "ascii", "latin-1", "iso8859-15"})
_WS_RE = re.compile(r"\s+")
_TAG_RE = re.compile(r"<[A-Za-z]")
_HTML_HINT_RE = re.compile(r"<\s*(?:!doctype|html|head|body|p|div|article|meta|title)\b", re.I)

# huge_tree: libxml2 otherwise stops at 256 levels of nesting and the text below is lost silently
_HTML_PARSER = HTMLParser(
    collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
    remove_pis=True, huge_tree=True,
)
_EXTRACTOR_OPTIONS = Extractor(output_format="python", comments=False, with_metadata=False)
# Trafilatura's default tree-size check would refuse long live blogs; our own guard is MAX_TAGS.
_EXTRACTOR_OPTIONS.max_tree_size = None


# --------------------------------------------------------------------------------------------
# Input guards and decoding
# --------------------------------------------------------------------------------------------


def _sniff_binary(head: bytes) -> str | None:
    """Name the binary format ``head`` starts with, or None if it may be text."""
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            return name
    if b"\x00" in head[:1024] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "binary data (NUL bytes)"
    return None


def _declared_charset(head: bytes) -> str | None:
    """The charset a BOM or ``<meta charset>`` declares, if Python knows it."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return name
    match = _META_CHARSET_RE.search(head)
    if match:
        name = match.group(1).decode("ascii", "replace").lower()
        try:
            return codecs.lookup(name).name
        except LookupError:
            return None
    return None


def decode_html(body: bytes) -> str:
    """Decode ``body``: BOM, then ``<meta charset>``, then UTF-8, then cp1252 (never fails).

    A page that declares a charset but does not decode under it (common: "iso-8859-1" pages
    that are really UTF-8) is tried as UTF-8 before the lossy fallback.
    """
    declared = _declared_charset(body[:_SNIFF_BYTES])
    order: tuple[str | None, ...] = (declared, "utf-8")
    if declared in _SINGLE_BYTE_DEFAULTS:
        # these never fail to decode, so a mislabelled UTF-8 page would turn into mojibake;
        # real cp1252 text with accents is almost never valid UTF-8, so trying UTF-8 first is safe
        order = ("utf-8", declared)
    for charset in order:
        if charset is None:
            continue
        try:
            return body.decode(charset)
        except UnicodeDecodeError:
            continue
    return body.decode("cp1252", errors="replace")


def prepare_html(html: str | bytes, url: str, max_bytes: int | None = None) -> str:
    """Return the page as text, cut to ``max_bytes`` and checked to look like HTML.

    Raises :class:`UnsupportedContent` for binary or non-HTML content and :class:`ExtractError`
    for an empty page or one with more than :data:`MAX_TAGS` tags.
    """
    if isinstance(html, bytes):
        body = html[:max_bytes] if max_bytes is not None else html
        what = _sniff_binary(body[:_SNIFF_BYTES])
        if what is not None:
            raise UnsupportedContent(url, f"not an HTML page: the body is {what}")
        text = decode_html(body)
    else:
        text = html[:max_bytes] if max_bytes is not None else html
        if "\x00" in text[:1024]:
            raise UnsupportedContent(url, "not an HTML page: the body holds NUL characters")
    if not text.strip():
        raise ExtractError(url, "empty page: the body holds no HTML")
    if not _HTML_HINT_RE.search(text[:_SNIFF_BYTES * 4]) and not _TAG_RE.search(text[:_SNIFF_BYTES]):
        raise UnsupportedContent(url, "not an HTML page: no HTML tag near the start of the body")
    tags = len(_TAG_RE.findall(text))
    if tags > MAX_TAGS:
        raise ExtractError(
            url, f"page has {tags} tags, more than the {MAX_TAGS} newsmon parses; skipped")
    return text


MAX_DEPTH = 1000  # nesting kept; deeper container tags are dropped (their text is kept)
# elements whose end tag HTML requires, so counting start and end tags tracks the real depth
_NESTING_TAG = re.compile(
    r"<(/?)(div|span|section|article|main|aside|header|footer|nav|figure|blockquote|center|font|"
    r"em|strong|b|i|u|small|big|sub|sup|a|form|table|tbody)\b[^<>]*>", re.IGNORECASE)


def flatten_depth(text: str, limit: int = MAX_DEPTH) -> str:
    """The page with container tags nested deeper than ``limit`` removed, their text kept.

    libxml2 stops at 2,048 levels even with ``huge_tree`` (256 without) and drops what lies below;
    a page nested that deep is hostile or broken, and its text is still worth reading. Linear time:
    one pass of a regular expression that cannot backtrack across ``<``.
    """
    if text.count("<") < limit:
        return text
    depth = 0

    def visit(m: re.Match[str]) -> str:
        nonlocal depth
        if m.group(1):
            depth = max(0, depth - 1)
            return m.group(0) if depth < limit else " "
        depth += 1
        return m.group(0) if depth <= limit else " "

    return _NESTING_TAG.sub(visit, text)


def parse_html(text: str, url: str) -> HtmlElement:
    """Parse the page once with lxml (bytes in, so a declared encoding cannot trip lxml)."""
    text = flatten_depth(text)
    try:
        tree = document_fromstring(text.encode("utf-8", "surrogatepass"), parser=_HTML_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(url, f"HTML could not be parsed: {exc}") from exc
    if tree is None or len(tree) == 0:
        raise ExtractError(url, "HTML could not be parsed: empty document tree")
    return tree


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


def _body_blocks(tree: HtmlElement, url: str | None) -> list[Block]:
    """Run trafilatura's main-content extraction on ``tree``; return its top-level blocks."""
    document = trafilatura.bare_extraction(tree, url=url, options=_EXTRACTOR_OPTIONS)
    if not isinstance(document, Document) or document.body is None:
        return []
    return [Block.from_element(child) for child in document.body]


def _extract_blocks(tree: HtmlElement, url: str | None, meta: PageMetadata) -> list[str]:
    """Main text of ``tree`` as cleaned paragraphs (the tree is pruned in place)."""
    prune_chrome(tree)
    blocks = _body_blocks(tree, url)
    return clean_blocks(blocks, meta.title_candidates, meta.description, meta.site_name,
                        meta.author)


# --------------------------------------------------------------------------------------------
# Fallback chain: newsmon's rules -> trafilatura alone -> trafilatura's baseline
# --------------------------------------------------------------------------------------------

#: A text from the rules with fewer words than this is compared with the fallbacks.
SHORT_TEXT_WORDS = 60
#: A fallback's text is taken only with at least this many words (after the line clean-up) and
#: at least twice the words of what it replaces: a chrome-only page stays empty.
MIN_FALLBACK_WORDS = 15
_WORD_RE = re.compile(r"\w+")


def _word_count(paragraphs: list[str]) -> int:
    """Words in ``paragraphs``."""
    return sum(len(_WORD_RE.findall(paragraph)) for paragraph in paragraphs)


def _trafilatura_fallback(text: str, url: str | None, meta: PageMetadata) -> list[str]:
    """Fallback 1: trafilatura on the unpruned page, then the line clean-up."""
    blocks = _body_blocks(parse_html(text, url or ""), url)
    return clean_blocks(blocks, meta.title_candidates, meta.description, meta.site_name,
                        meta.author)


def _baseline_fallback(text: str, url: str | None, meta: PageMetadata) -> list[str]:
    """Fallback 2: trafilatura's ``baseline`` (JSON-LD ``articleBody``, ``<article>``, all
    ``<p>``), then the line clean-up."""
    _element, body, _length = trafilatura.baseline(parse_html(text, url or ""))
    lines = tuple(line for line in (_WS_RE.sub(" ", raw).strip() for raw in body.split("\n"))
                  if line)
    return clean_blocks([Block("p", (line,)) for line in lines], meta.title_candidates,
                        meta.description, meta.site_name, meta.author)


FALLBACKS: tuple[Callable[[str, str | None, PageMetadata], list[str]], ...] = (
    _trafilatura_fallback, _baseline_fallback)


def main_paragraphs(text: str, tree: HtmlElement, url: str | None,
                    meta: PageMetadata) -> list[str]:
    """The story's paragraphs: newsmon's rules, or a fallback when they find (almost) nothing.

    The rules prune the tree before trafilatura runs; on a page whose story sits in a container
    the rules took for chrome, that leaves little or nothing.  Then trafilatura runs alone on a
    fresh parse of the page, and after it trafilatura's ``baseline``; a fallback's text is taken
    when it is at least :data:`MIN_FALLBACK_WORDS` words and twice what came before.  Each
    fallback costs a parse, so it runs only for short results (:data:`SHORT_TEXT_WORDS`).

    A standfirst the page prints (see :func:`find_standfirst`) and the extraction left out is
    put back in front.
    """
    lead = find_standfirst(tree, meta)
    paragraphs = _extract_blocks(tree, url, meta)
    for fallback in FALLBACKS:
        words = _word_count(paragraphs)
        if words >= SHORT_TEXT_WORDS:
            break
        candidate = fallback(text, url, meta)
        if _word_count(candidate) >= max(MIN_FALLBACK_WORDS, 2 * words):
            paragraphs = candidate
    if lead and paragraphs and not _contains(paragraphs, lead):
        paragraphs = [lead, *paragraphs]
    return paragraphs


#: Languages whose news pages print a summary ("dek") above the story that is not part of it;
#: elsewhere (German "Vorspann", French "chapô", Spanish "entradilla") the printed standfirst
#: opens the story.  Measured on both benchmarks' tune splits (docs/extraction.md).
_DEK_LANGUAGES = frozenset({"en"})
_STANDFIRST_MIN_CHARS = 60
_STANDFIRST_KEY_CHARS = 50
_STANDFIRST_TAGS = ("p", "div", "span", "strong", "b", "em", "h2", "h3", "section", "header")


def _contains(paragraphs: list[str], lead: str) -> bool:
    """Whether the start of ``lead`` is already in ``paragraphs``."""
    key = lead[:_STANDFIRST_KEY_CHARS].lower()
    return any(key in paragraph.lower() for paragraph in paragraphs)


def find_standfirst(tree: HtmlElement, meta: PageMetadata) -> str | None:
    """The standfirst the page prints, when its description is printed as an element's text.

    Only for pages not in :data:`_DEK_LANGUAGES` (and whose language is declared).  Looked up
    before the rules prune the tree: a standfirst often sits in a header box the rules drop.
    """
    language = (meta.language or "").split("-")[0].lower()
    desc = _WS_RE.sub(" ", meta.description or "").strip()
    if not language or language in _DEK_LANGUAGES or len(desc) < _STANDFIRST_MIN_CHARS:
        return None
    key = desc[:_STANDFIRST_KEY_CHARS].lower()
    head = key[:20]
    body = tree.find("body")
    for element in body.iter(*_STANDFIRST_TAGS) if body is not None else ():
        own = (element.text or "").strip().lower()
        if not own or not head.startswith(own[:20]):
            continue
        whole = _WS_RE.sub(" ", element.text_content()).strip()
        if whole.lower().startswith(key) and len(whole) <= 1.3 * len(desc):
            return whole
    return None


def extract_text(html: str | bytes, url: str | None) -> str:
    """Main text of ``html`` ('' when there is none); the benchmark entry point.

    ``extraction_eval.py --module extractors.article:extract_text`` calls this.
    """
    page_url = url or ""
    try:
        text = prepare_html(html, page_url)
        tree = parse_html(text, page_url)
    except (ExtractError, UnsupportedContent):
        return ""
    meta = read_metadata(tree, page_url, use_htmldate=False)  # the date is not needed here
    return "\n\n".join(main_paragraphs(text, tree, url, meta))


def extract_article(
    html: str | bytes,
    url: str,
    *,
    fallback_title: str | None = None,
    fallback_published: datetime | None = None,
    max_bytes: int | None = None,
    time_limit: float | None = None,
) -> ExtractedArticle:
    """Extract the article of one page.

    ``fallback_title`` / ``fallback_published`` (usually from the feed item) fill in what the
    page does not say.  ``max_bytes`` cuts the input before anything parses it (bytes for
    ``bytes`` input, characters for ``str``; pass the body as fetched).  ``time_limit``
    (seconds) hands the work to :func:`extract_article_bounded` (a child process).

    Raises :class:`UnsupportedContent` for binary / non-HTML input and :class:`ExtractError`
    when the page holds no article text (or took longer than ``time_limit``).
    """
    if time_limit is not None:
        return extract_article_bounded(
            html, url, fallback_title=fallback_title, fallback_published=fallback_published,
            max_bytes=max_bytes, time_limit=time_limit)
    text = prepare_html(html, url, max_bytes)
    tree = parse_html(text, url)
    meta = read_metadata(tree, url, fallback_title=fallback_title,
                         fallback_published=fallback_published)
    paragraphs = main_paragraphs(text, tree, url, meta)
    if not paragraphs:
        raise ExtractError(url, "no article text found on the page (navigation or chrome only)")
    return ExtractedArticle(
        url=url,
        title=meta.title or fallback_title or "",
        text="\n\n".join(paragraphs),
        published=meta.published,
        author=meta.author,
        site_name=meta.site_name,
        canonical_url=meta.canonical_url,
        language=meta.language,
    )


# --------------------------------------------------------------------------------------------
# Hard time bound: a child process that is killed when the limit passes
# --------------------------------------------------------------------------------------------


def _extract_in_child(
    html: str | bytes, url: str, fallback_title: str | None,
    fallback_published: datetime | None, max_bytes: int | None,
) -> ExtractedArticle:
    """Body of the child process of :func:`extract_article_bounded`."""
    return extract_article(html, url, fallback_title=fallback_title,
                           fallback_published=fallback_published, max_bytes=max_bytes)


def extract_article_bounded(
    html: str | bytes,
    url: str,
    *,
    fallback_title: str | None = None,
    fallback_published: datetime | None = None,
    max_bytes: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    executor: ProcessPoolExecutor | None = None,
) -> ExtractedArticle:
    """:func:`extract_article` with a hard wall-clock bound of ``time_limit`` seconds.

    The work runs in a child process (``spawn`` start method, safe from threads).  When the limit
    passes, the child is terminated and :class:`ExtractError` is raised with the reason.

    Without ``executor``, a single-use process is started and torn down (~0.5 s per call); for
    many pages use :class:`BoundedExtractor`, which keeps workers alive and replaces them after
    a time-out.  A caller-supplied ``executor`` has its workers terminated on a time-out (it is
    then broken: build a new one), and if it is already broken ``BrokenProcessPool`` propagates
    so the caller can rebuild it and retry.
    """
    if max_bytes is not None:
        html = html[:max_bytes]
    own = executor is None
    pool = executor or ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent)
    future = pool.submit(_extract_in_child, html, url, fallback_title, fallback_published,
                         max_bytes)
    try:
        return future.result(timeout=time_limit)
    except FutureTimeout as exc:
        _terminate_workers(pool)
        raise ExtractError(
            url, f"extraction took longer than {time_limit:g} s and was stopped") from exc
    except BrokenProcessPool as exc:
        if not own:
            raise  # the caller's pool: the caller rebuilds it (and may retry the page)
        raise ExtractError(url, f"the extraction process died: {exc}") from exc
    finally:
        if own:
            pool.shutdown(wait=False, cancel_futures=True)


class BoundedExtractor:
    """A reusable, thread-safe pool for :func:`extract_article` with a hard time limit.

    Keeps ``workers`` child processes alive between pages (no start-up cost per page).  When a
    page exceeds ``time_limit``, its worker is killed, :class:`ExtractError` is raised for that
    page, and the pool is replaced so the next call works::

        with BoundedExtractor(workers=2, time_limit=20) as bounded:
            article = bounded.extract(page.body, page.final_url, max_bytes=settings.max_bytes)
    """

    def __init__(self, workers: int = 1, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self.workers = workers
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        """A fresh pool of ``spawn``-started workers (safe to create from any thread)."""
        return ProcessPoolExecutor(max_workers=self.workers, initializer=die_with_parent,
                                   mp_context=multiprocessing.get_context("spawn"))

    def extract(
        self, html: str | bytes, url: str, *, fallback_title: str | None = None,
        fallback_published: datetime | None = None, max_bytes: int | None = None,
    ) -> ExtractedArticle:
        """:func:`extract_article` in a worker, bounded by ``time_limit`` seconds."""
        with self._lock:
            pool = self._pool
        future = pool.submit(_extract_in_child, html, url, fallback_title, fallback_published,
                             max_bytes)
        try:
            return future.result(timeout=self.time_limit)
        except FutureTimeout as exc:
            self._replace(pool)
            raise ExtractError(url, f"extraction took longer than {self.time_limit:g} s and "
                                    "was stopped") from exc
        except BrokenProcessPool as exc:
            self._replace(pool)
            raise ExtractError(url, f"the extraction process died: {exc}") from exc

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        """Kill ``pool``'s workers and put a fresh pool in its place (once per broken pool)."""
        with self._lock:
            if self._pool is pool:
                self._pool = self._new_pool()
        _terminate_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BoundedExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the worker processes of ``pool`` (a stuck extraction cannot be cancelled)."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()
    for process in list(processes.values()):
        process.join(timeout=5)
