"""Page-chrome removal, before and after trafilatura's main-content extraction.

Two stages, both rule-based and general (patterns of page chrome, never a site's name):

* :func:`prune_chrome` works on the parsed HTML tree, in one walk:

  - drops elements whose tag, role or class/id names them as chrome (share bars,
    related/popular/recommended boxes, newsletter and cookie prompts, comment forms, bylines,
    credits) unless they hold a story-length paragraph;
  - drops lists of other stories (link lists, teaser cards), runs of 3+ teaser headlines, a
    "Related"/"More stories" heading with the link blocks under it, upper-case promo links,
    and hover cards inside paragraphs;
  - and repairs what extractors lose: embedded posts (tweets) become plain quotations, text
    separated by ``<br>`` directly in a ``<div>`` becomes paragraphs, and a story body split
    into sibling chunks of the same class is joined.

* :func:`clean_blocks` works on trafilatura's output blocks: it removes the masthead, headline,
  standfirst and bylines printed above the story, chrome sentences ("Thanks for signing up!",
  "archive page", "opens in a new window", agency credits, share rows), and cuts a trailing
  "Related Articles" / "Recommended For You" / "Popular" section with the headlines under it.
"""

from __future__ import annotations

import importlib
import itertools
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura.xml import xmltotxt

__all__ = ["Block", "clean_blocks", "is_chrome_line", "prune_chrome"]

_WS_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+")
_STORY_LINE_WORDS = 25
# A byline line: "By Jane Doe", "Posted by", "Words: J. Doe and R. Roe", "Farid Haddad archive page".
_BYLINE_RE = re.compile(
    r"^((?i:posted|written|words|story|text|reported|published|photos?) (?i:by):?(\s.{0,60})?|"
    r".{0,30}\d.{0,30} by [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3}|"
    r"(?i:by):? [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3}((,| and| &) [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3})*"
    r"(\s*[|,·—-]\s*.{0,40})?)$")


# --------------------------------------------------------------------------------------------
# Stage 1: the HTML tree
# --------------------------------------------------------------------------------------------

# class/id tokens that name chrome.  Matched against whole "words" of the attribute (split on
# non-letters), so "share" hits "share-bar" and "social_share" but not "shareholders".
_CHROME_WORDS = frozenset({
    "share", "sharing", "sharebar", "sharetools", "social", "socialshare",
    "related", "relatedarticles", "relatedposts", "recommended", "recommendations",
    "recirc", "recirculation", "outbrain", "taboola", "popular", "mostpopular", "mostread",
    "trending", "newsletter", "newsletters", "subscribe", "subscription", "signup",
    "cookie", "cookies", "consent", "gdpr", "breadcrumb", "breadcrumbs",
    "comments", "comment", "disqus", "promo", "advert", "advertisement", "sponsored",
    "byline", "credit", "credits", "toolbar", "tags", "tagcloud", "pagination",
})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search",
                           "dialog", "alertdialog"})
_CHROME_TAGS = ("nav", "footer", "aside", "form", "button", "dialog", "menu")
_SPLIT_ATTR_RE = re.compile(r"[^a-z]+")
_TEASER_TAGS = frozenset({"p", "h2", "h3", "h4", "h5", "a"})
_TEASER_RUN = 3
_CHUNK_GAP_CHARS = 50
# First words of the headings in _SECTION_CUT_RE (a cheap filter before the regex).
_SECTION_FIRST_WORDS = frozenset({
    "related", "recommended", "most", "popular", "trending", "you", "more", "read", "top",
    "deep", "editor's", "editor’s", "editors", "our", "latest", "the", "what", "around", "from",
})
_NEVER_PRUNED = frozenset({"html", "body", "article", "main"})
_STORY_PARAGRAPH_CHARS = 200
_LOOSE_TEXT_CHARS = 80
_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "aside", "header", "footer", "nav", "ul", "ol", "dl",
    "table", "blockquote", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "form", "hr",
    "main", "address", "details", "iframe", "script", "style", "noscript", "center",
})
_EMBED_CLASSES = ("twitter-tweet", "instagram-media", "twitter-video")


def _attr_words(element: HtmlElement) -> set[str]:
    """The lower-cased words of ``class`` and ``id``, plus their joined pairs."""
    raw = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    words = [w for w in _SPLIT_ATTR_RE.split(raw) if w]
    joined = {a + b for a, b in itertools.pairwise(words)}
    return set(words) | joined


def _is_chrome_element(element: HtmlElement) -> bool:
    """Whether ``element``'s tag, role or class/id names it as page chrome."""
    if element.tag in _CHROME_TAGS:
        return True
    role = (element.get("role") or "").lower()
    if role in _CHROME_ROLES:
        return True
    return bool(_attr_words(element) & _CHROME_WORDS)


def _text_length(element: HtmlElement) -> int:
    """Characters of text under ``element`` (whitespace collapsed)."""
    return len(_WS_RE.sub(" ", element.text_content()).strip())


def _holds_story_text(element: HtmlElement) -> bool:
    """Whether ``element`` holds a paragraph long enough to be story text (never chrome)."""
    for paragraph in element.iter("p"):
        if len(_WS_RE.sub(" ", paragraph.text_content()).strip()) >= _STORY_PARAGRAPH_CHARS:
            return True
    return False


def _has_linked_heading(element: HtmlElement) -> bool:
    """Whether ``element`` holds a heading that is all link: the title of a story teaser."""
    for heading in element.iter("h2", "h3", "h4", "h5"):
        text = _WS_RE.sub(" ", heading.text_content()).strip()
        links = "".join(a.text_content() for a in heading.iter("a"))
        if text and len(_WS_RE.sub(" ", links).strip()) >= 0.9 * len(text):
            return True
    return False


def _is_headline_link_list(element: HtmlElement) -> bool:
    """A ``<ul>``/``<ol>`` whose items each carry a link: a list of other stories.

    Either 2+ teaser cards (a linked heading and a line of teaser text each), or 3+ short items
    that all hold a link and mostly (70 %) are link text.
    """
    items = [li for li in element if isinstance(li.tag, str) and li.tag == "li"]
    if len(items) < 2:
        return False
    cards = linky = 0
    for item in items:
        text = _WS_RE.sub(" ", item.text_content()).strip()
        if not text or len(text) > 300:
            return False
        if _has_linked_heading(item):
            cards += 1
            continue
        links = [_WS_RE.sub(" ", a.text_content()).strip() for a in item.iter("a")]
        link_text = sum(len(link) for link in links)
        if not link_text:
            return False
        linky += link_text >= 0.5 * len(text)
    if cards == len(items):
        return True
    return len(items) >= 3 and cards + linky >= 0.7 * len(items)


def _is_shouted_link_paragraph(element: HtmlElement) -> bool:
    """A paragraph that is one upper-case link: an inline promo of another story."""
    text = _WS_RE.sub(" ", element.text_content()).strip()
    if len(text.split()) < 3 or not text.isupper():
        return False
    link_text = "".join(a.text_content() for a in element.iter("a"))
    return len(_WS_RE.sub(" ", link_text).strip()) >= 0.9 * len(text)


def rescue_embedded_posts(tree: HtmlElement) -> None:
    """Turn embedded social posts (tweets, Instagram) into plain ``<blockquote>``s.

    Stories quote posts as evidence, but the embed wrappers carry "tweet"/"social" class names
    that trafilatura (rightly, elsewhere) discards.  The post's text is kept as a quotation.
    """
    for quote in list(tree.iter("blockquote")):
        classes = (quote.get("class") or "").lower()
        if not any(name in classes for name in _EMBED_CLASSES):
            continue
        text = _WS_RE.sub(" ", quote.text_content()).strip()
        wrapper = quote
        parent = wrapper.getparent()
        while parent is not None and parent.tag not in _NEVER_PRUNED and \
                _WS_RE.sub(" ", parent.text_content()).strip() == text:
            wrapper, parent = parent, parent.getparent()
        for attr in ("class", "id", "style", "data-instgrm-permalink"):
            quote.attrib.pop(attr, None)
        for link in list(quote.iter("a")):
            link.drop_tag()
        if wrapper is not quote and parent is not None:
            quote.tail = wrapper.tail
            parent.replace(wrapper, quote)


def _loose_text_length(element: HtmlElement) -> int:
    """Characters of text sitting directly in ``element`` (its text and its children's tails)."""
    total = len((element.text or "").strip())
    for child in element:
        total += len((child.tail or "").strip())
    return total


def _paragraphize(element: HtmlElement) -> None:
    """Wrap the loose inline runs of ``element`` into ``<p>``s, splitting at ``<br>``."""
    out: list[HtmlElement] = []
    pending = element.makeelement("p", {})
    pending.text = element.text
    element.text = None

    def flush() -> None:
        nonlocal pending
        if (pending.text and pending.text.strip()) or len(pending):
            out.append(pending)
        pending = element.makeelement("p", {})

    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "br":
            flush()
            pending.text = child.tail
            continue
        if tag in _BLOCK_TAGS or not tag:
            flush()
            pending.text = child.tail
            child.tail = None
            out.append(child)
            continue
        pending.append(child)
    flush()
    for child in list(element):
        element.remove(child)
    element.extend(out)


def paragraphize_loose_text(root: HtmlElement) -> None:
    """Give ``<br>``-separated text that sits directly in a ``<div>`` real paragraphs.

    Many CMS templates print the story as ``<div class="content">text<br><br>text</div>``;
    extractors score paragraphs, so text outside any ``<p>`` is often lost.
    """
    for element in list(root.iter("div", "section", "article", "td", "main")):
        if _loose_text_length(element) >= _LOOSE_TEXT_CHARS and element.find("br") is not None:
            _paragraphize(element)


def merge_story_chunks(root: HtmlElement) -> None:
    """Join a story split into several sibling containers of the same class.

    Templates that interleave ads or images cut the body into ``<div class="body chunk">``
    pieces; extractors pick one container and lose the rest.  Containers that share a class and
    each hold story-length paragraphs are merged into the first (document order kept).
    """
    groups: dict[tuple[str, str, HtmlElement], list[HtmlElement]] = {}
    for paragraph in root.iter("p"):
        parent = paragraph.getparent()
        if parent is None or not parent.get("class") or parent.tag in _NEVER_PRUNED:
            continue
        above = parent.getparent()
        grand = above.getparent() if above is not None else None
        if grand is None:
            continue
        # only chunks that are siblings or cousins (same grandparent) belong to one story
        key = (str(parent.tag), str(parent.get("class")), grand)  # the key keeps grand alive
        members = groups.setdefault(key, [])
        if members and members[-1] is parent:
            continue
        if len(_WS_RE.sub(" ", paragraph.text_content()).strip()) >= _STORY_PARAGRAPH_CHARS:
            members.append(parent)
    for members in groups.values():
        unique = list(dict.fromkeys(members))
        if len(unique) < 2:
            continue
        first = unique[0]
        previous = first
        for other in unique[1:]:
            if _is_ancestor(first, other) or _is_ancestor(other, first):
                break
            if _text_between(previous, other) > _CHUNK_GAP_CHARS:
                break  # real content sits between them: they are not pieces of one body
            previous = other
            first.extend(list(other))
            if other.getparent() is not None:
                other.drop_tree()


def _text_between(first: HtmlElement, second: HtmlElement) -> int:
    """Characters of text between two sibling or cousin elements (document order)."""
    between = 0
    if first.getparent() is second.getparent():
        pairs = [(first, second)]
    else:
        pairs = []
        up_first, up_second = first.getparent(), second.getparent()
        if up_first is None or up_second is None:
            return 1 << 30
        between += sum(_text_length(e) for e in first.itersiblings())
        between += sum(_text_length(e) for e in second.itersiblings(preceding=True))
        pairs = [(up_first, up_second)]
    for left, right in pairs:
        for sibling in left.itersiblings():
            if sibling is right:
                break
            between += _text_length(sibling)
        else:
            return 1 << 30
    return between


def _is_ancestor(candidate: HtmlElement, element: HtmlElement) -> bool:
    """Whether ``candidate`` is an ancestor of ``element``."""
    return any(parent is candidate for parent in element.iterancestors())


def prune_chrome(tree: HtmlElement) -> None:
    """Remove chrome elements from ``tree`` in place.

    ``<article>``/``<main>`` and any element holding a story-length paragraph are kept whatever
    their class says: a page that wraps its story in ``<div class="share-enabled">`` keeps it.
    One walk over the tree; a doomed element's subtree is not visited.
    """
    body = tree.find("body")
    root = body if body is not None else tree
    rescue_embedded_posts(root)
    paragraphize_loose_text(root)
    merge_story_chunks(root)
    doomed: list[HtmlElement] = []
    stack: list[HtmlElement] = [root]
    while stack:
        gone, kept = _sort_children(stack.pop())
        doomed.extend(gone)
        stack.extend(kept)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _sort_children(parent: HtmlElement) -> tuple[list[HtmlElement], list[HtmlElement]]:
    """Split ``parent``'s element children into chrome (to drop) and the rest (to visit).

    Besides :func:`_is_doomed`, two patterns need the siblings: a run of 3+ teaser headlines,
    and a "Related"/"More stories" heading followed by link-heavy blocks.
    """
    children = [c for c in parent if isinstance(c.tag, str)]
    gone: list[HtmlElement] = []
    kept: list[HtmlElement] = []
    run: list[HtmlElement] = []
    after_heading = False
    for index, element in enumerate([*children, None]):
        if element is not None and after_heading and _is_link_heavy(element):
            gone.append(element)  # the links listed under a "Related" heading
            continue
        after_heading = False
        if element is not None and element.tag in _TEASER_TAGS and _is_link_only(element):
            run.append(element)
            continue
        if len(run) >= _TEASER_RUN:
            gone.extend(run)
            run = []
        for candidate in run:
            (gone if _is_doomed(candidate) else kept).append(candidate)
        run = []
        if element is None:
            break
        following = children[index + 1] if index + 1 < len(children) else None
        if following is not None and _is_section_heading(element) and _is_link_heavy(following):
            gone.append(element)
            after_heading = True
            continue
        if element.tag == "p":
            _strip_inline_widgets(element)
        (gone if _is_doomed(element) else kept).append(element)
    return gone, kept


def _strip_inline_widgets(paragraph: HtmlElement) -> None:
    """Drop hover cards inside a paragraph: an inline box with a picture and several links.

    Some templates put a profile card (photo, name, latest headlines) inside the sentence that
    names a person; its text would be spliced into the story.
    """
    for image in list(paragraph.iter("img")):
        box = image.getparent()
        while box is not None and box is not paragraph:
            if box.tag in ("span", "div") and len(box.findall(".//a")) >= 2:
                if box.getparent() is not None:  # None: already dropped with another picture
                    box.drop_tree()
                break
            box = box.getparent()


def _is_section_heading(element: HtmlElement) -> bool:
    """A short element whose text is a "Related Articles"/"More stories" style heading."""
    if len(element) > 3:
        return False
    own = (element.text or "").strip()
    if own:
        first = own.split(None, 1)[0].lower().strip("\"'“‘:")
        if first not in _SECTION_FIRST_WORDS:
            return False  # cheap exit: most elements start with some other word
    elif len(element) != 1:
        return False
    text = _WS_RE.sub(" ", element.text_content()).strip()
    return 0 < len(text) <= 60 and bool(_SECTION_CUT_RE.match(text.strip(" \t-–—•*|:")))


def _is_link_heavy(element: HtmlElement) -> bool:
    """Whether a block's text is at least 30 % link text (a list of other stories)."""
    text = _text_length(element)
    if not text or text > 3000:
        return False
    links = sum(len(_WS_RE.sub(" ", a.text_content()).strip()) for a in element.iter("a"))
    return links >= 0.3 * text


def _is_link_only(element: HtmlElement) -> bool:
    """A short block whose text is all link text (a teaser headline of another story).

    A bare ``<a>`` counts only as a block teaser: wrapping a heading, with no text around it
    (inline links inside a sentence are never teasers).
    """
    if element.tag == "a" and ((element.tail or "").strip()
                               or next(element.iter("h2", "h3", "h4", "h5"), None) is None):
        return False
    text = _WS_RE.sub(" ", element.text_content()).strip()
    if not text or len(text) > 200 or len(text.split()) < 3:
        return False
    links = _WS_RE.sub(" ", "".join(a.text_content() for a in element.iter("a"))).strip()
    return len(links) >= 0.9 * len(text)


def _is_doomed(element: HtmlElement) -> bool:
    """Whether ``element`` (and its subtree) is chrome to be removed."""
    tag = element.tag
    if tag in _NEVER_PRUNED:
        return False
    if tag in ("ul", "ol"):
        return _is_headline_link_list(element)
    if tag == "p":
        return _is_shouted_link_paragraph(element)
    return _is_chrome_element(element) and not _holds_story_text(element)


# --------------------------------------------------------------------------------------------
# Stage 2: trafilatura's output blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """One top-level block of the extracted body: its kind and its text lines."""

    tag: str
    lines: tuple[str, ...]

    @classmethod
    def from_element(cls, element: _Element) -> Block:
        """Build from a trafilatura output element (``p``, ``head``, ``list``, ``quote`` ...)."""
        text = xmltotxt(element, False)
        lines = tuple(line for line in (_WS_RE.sub(" ", raw).strip()
                                        for raw in text.split("\n")) if line)
        return cls(str(element.tag), lines)

    @property
    def text(self) -> str:
        """The block's lines joined by newlines."""
        return "\n".join(self.lines)


# Whole lines that are chrome wherever they appear.
_CHROME_LINE_RES: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.I) for p in (
    r"^(thanks|thank you) for (signing up|subscribing|submitting|registering)\b.{0,200}$",
    r"^.{0,60}\b(trouble|problem|error) (saving|updating) your (preferences|settings)\b.{0,300}$",
    r"^(sorry!?|oops!?)$",
    r"^((oops|sorry|error)\W+)?.{0,40}\b(something went wrong|please try again|try again later)\b.{0,80}$",
    r"^there was (an|a problem|an error)\b.*(subscription|signing up|sign-up|request)\b.*$",
    r"^(please )?(sign up|subscribe|register)\b.{0,80}(newsletter|inbox|updates|alerts)\b.*$",
    r"^(get|receive) (the|our) .{0,60}newsletter\b.*$",
    r"^.{0,60}\bnewsletter\b.{0,60}$",
    r"^keep an eye on your inbox\b.*$",
    r"^(enter|your) (your )?e-?mail( address)?\b.{0,40}$",
    r"^by (signing up|subscribing|clicking)\b.*(privacy|terms)\b.*$",
    r"^.{0,80}\barchive page\b.{0,40}$",
    r"^.{0,60}\bopens in a new (window|tab)\b.{0,60}$",
    r"^(share|share this|share on|share this (article|story|page)|tweet|email|print|"
    r"facebook|twitter|linkedin|whatsapp|reddit|pinterest)(\s*[:|/]?\s*(facebook|twitter|"
    r"linkedin|email|whatsapp|reddit|print|copy link))*\s*$",
    r"^like this (story|article)\?.*$",
    r"^(related|related articles|related posts|related stories|related content|related news|"
    r"read more|read next|more from .{1,40}|more stories|more on this( story)?|"
    r"recommended( for you| stories| reading)?|popular|most popular|most read|trending( now)?|"
    r"you (may|might) (also )?(like|enjoy|be interested in)\W*|also on [\w.]+|see more|"
    r"don'?t miss|"
    r"deep dive|top stories|editor'?s picks|latest news|further reading)\s*[:.…]*$",
    r"^(also on [\w.]+|see more|read more|related( post| article| story| link)?s?|read also|"
    r"also read|also|see also|don'?t miss|watch|listen|more)\s*:.{0,200}$",
    r"^also (on|in|from) [\w-]+\.[a-z]{2,6}(\.[a-z]{2})?\b.{0,200}$",
    r"^comments? (are|is) closed\.?$",
    r"^(leave|post|add|write) (a|your) (comment|reply)\b.*$",
    r"^(your email address will not be published|required fields are marked)\b.*$",
    r"^(cookies?|we use cookies|this (web)?site uses cookies)\b.*(cookie|consent|accept)\b.*$",
    r"^(accept( all)?( cookies)?|reject( all)?|manage (cookies|preferences|settings))$",
    r"^(©|copyright\b|\(c\) \d{4}).{0,120}$",
    r"^all rights reserved\.?.*$",
    r"^(photo|image|picture|video|graphic|illustration)s?( credits?)?\s*:.{0,160}$",
    r"^.{0,60}\|\s*(getty images|reuters|afp|ap photo|shutterstock|epa).{0,40}$",
    r"^(click|tap) here\b.{0,100}$",
    r"^(advertisement|sponsored( content)?|ad)$",
    r"^(follow us|follow .{1,30} on (twitter|facebook|instagram))\b.{0,80}$",
    r"^(updated|published|posted)( on| at)?\s*:?\s*\d.{0,40}$",
    r"^(#\w+\s*){2,}$",
    r"^(?=.*\b(19|20)\d\d\b)\W*(\w+\W+){0,8}\d{1,2}:\d{2}(\W+\w+){0,3}\W*$",
    r"^(previous|next) (article|post|story)\b.{0,120}$",
    r"^(tags?|topics?|filed under|categories)\s*:.{0,200}$",
    # agency and staff credits at the foot of a story
    r"^\(?(additional )?(reporting|writing|editing) by\b.{0,300}$",
    r"^.{0,250}\bcontributed (to )?this report\.?\)?$",
    r"^.{0,120}\bcontributed (additional )?reporting\b.{0,80}$",
    r"^.{0,300}\bfollow (him|her|them|us|me) on (twitter|facebook|instagram|linkedin)\b.{0,160}$",
    r"^.{0,150}\b(photos?|images?|pictures?|credits?)\b\s*(©|\(c\)|:).{0,80}$",
    r"^.{0,100}©.{0,100}$",
    r"^(have a (news )?tip|got a (news )?tip)\b.{0,200}$",
    r"^.{0,120}\b(may|can) be reached at\b.{0,200}$",
    r"^(reach|contact|email|follow) (the )?(reporters?|writers?|authors?|him|her|them|us)\b"
    r".{0,160}$",
    r"^follow .{1,60} on (twitter|facebook|instagram|linkedin)\b.{0,120}$",
    # promos: bracketed labels of links to other stories, subscriptions, affiliate notes
    r"^\[(related|read more|see also|more)\s*:.{0,200}\]$",
    r"^.{0,160}\[(video|videos|insight|reaction|pictures|photos|poll|latest|analysis|watch|"
    r"live|gallery|podcast|quiz|listen)\]\s*\|?$",
    r"^\[\w+[^\]]*\].{0,120}\[/\w+\]$",
    r"^(subscribe|sign up) (to|for)\b.{0,200}$",
    r"^get .{0,80}\b(delivered|access to)\b.{0,220}$",
    r"^.{0,120}\b(sign up|subscribe)\b.{0,80}\b(newsletters?|inbox)\b.{0,80}$",
    r"^(if|when) you (buy|purchase|click|shop)\b.{0,160}\b(commission|share of|earn|"
    r"compensat)\w*\b.{0,120}$",
    r"^(tell us what you think|what do you think)\W{0,5}$",
    r"^(the rest is here|read the (rest|full (story|article|report))|continue reading|"
    r"source|via)\b\s*:?.{0,100}$",
    r"^(comments?|\d+ comments?|show comments|view comments|reply)$",
    r"^[_=\-*~]{5,}$",
    # site furniture that sometimes sits inside the story container
    r"^(skip to (main )?content|skip navigation|back to top|loading\W*|"
    r"please enable javascript\b.{0,80}|javascript is (disabled|required)\b.{0,80})$",
    r"^(sign in|log in|login|register|create (an|your|a free) account)\b.{0,60}$",
    r"^(print|email|save|bookmark) (this )?(article|story|page)\b.{0,30}$",
    r"^listen to (this|the) (article|story)\b.{0,60}$",
    r"^(\d+ (min|minute)s?( read)?|reading time\s*:.{0,20})$",
    r"^(last )?(updated|modified)( on| at)?\s*:?\s*.{0,40}\d.{0,30}$",
    r"^image (copyright|caption)\b.{0,120}$",
    r"^media playback is (unsupported|not supported)\b.{0,60}$",
    r"^\(?(photo|image|picture)s? (by|courtesy of|via)\b.{0,80}\)?$",
))

# The same kinds of chrome in the other languages of the pages newsmon reads (German, French,
# Spanish, Italian, Portuguese, Polish, Dutch): follow/share/subscribe prompts, "read also"
# promos of other stories, comment counters, loading notes.  Whole lines, anywhere in the text.
_FOLLOW = (r"(follow|folgen? sie|folge|folgt|suivez|suis|retrouvez|s[ií]guenos|siga(-nos)?|"
           r"seguici|seguinos|obserwuj|volg)")
_SOCIAL_NETWORKS = (r"(twitter|x|facebook|instagram|linkedin|telegram|whatsapp|youtube|tiktok|"
                    r"mastodon|threads|bluesky|google news|flipboard|xing|pinterest|snapchat)")
_LOCALISED_CHROME_RES: tuple[str, ...] = (
    # follow us / follow <name> on <network> (any language, anywhere in a short line)
    rf"^.{{0,80}}\b{_FOLLOW}\b.{{0,80}}\b(on|auf|sur|en|su|em|na|op|via)\s+{_SOCIAL_NETWORKS}\b"
    r".{0,200}$",
    rf"^{_FOLLOW}\s+(us|uns|nous|nos|ci|nas|ons)\b.{{0,120}}$",
    rf"^.{{0,120}}\b(canal|kanal|channel|chaîne|cha[iî]ne|grupo|gruppo|groupe)\s+(de|auf|on|sur|"
    rf"di|em|na)?\s*{_SOCIAL_NETWORKS}\b.{{0,160}}$",
    # share
    r"^(share|teilen|teile|teilt|diesen (artikel|beitrag) teilen|artikel teilen|beitrag teilen|"
    r"jetzt teilen|partager|partagez|partage|compartir|comparte|compártelo|condividi|"
    r"compartilhe|compartilhar|partilhar|udostępnij|delen|deel)(\s+(this|on|via|mit|auf|"
    r"sur|en|su|em|na|op|cet article|esta noticia|este artículo|questo articolo|"
    r"dieses?|den|diesen|artikel|beitrag|seite|page|article|story))*\s*:?"
    rf"(\s*[,|/·•]?\s*({_SOCIAL_NETWORKS}|e-?mail|print|drucken|imprimer|link kopieren))*\s*$",
    # subscribe / sign up / register / paywall notices
    r"^(jetzt |hier )?(kostenlos(en)? )?(newsletter )?(abonnieren|bestellen|anmelden|"
    r"registrieren)\b.{0,120}$",
    r"^.{0,80}\b(newsletter|abo|abonnement)\b.{0,40}\b(abonnieren|bestellen|anmelden|"
    r"s'abonner|abonnez-vous|inscrivez-vous|suscr[ií]b|iscriviti|assine|subskrypcj)\w*\b.{0,120}$",
    r"^(abonnez-vous|inscrivez-vous|suscr[ií]bete|reg[ií]strate|iscriviti|assine|inscreva-se|"
    r"zapisz się|zapraszamy (też |także )?do subskrypcji|subscribe now|sign up now|"
    r"melden sie sich|melde dich)\b.{0,200}$",
    r"^(to (view|read|continue|access) (the full|this|the rest)|pour (lire|accéder|"
    r"continuer)|um (den|diesen) (vollständigen |ganzen )?(artikel|beitrag) (zu )?lesen|"
    r"para (leer|seguir leyendo|continuar))\b.{0,200}$",
    r"^if you(’|')re seeing this message\b.{0,200}$",
    r"^.{0,40}\b(first-time subscribers|already a subscriber|bereits abonnent|déjà abonné)\b"
    r".{0,200}$",
    # read also / related (a promo line, usually with the other story's headline after it)
    r"^(read also|also read|see also|auch lesen|lesen sie auch|lesen sie (hier )?mehr|lies auch|"
    r"mehr (zum thema|lesen|dazu|themen)|weitere (artikel|beiträge|themen|nachrichten|infos|"
    r"tourentipps)( zum thema)?|auch interessant|ebenfalls interessant|schon gelesen|"
    r"passend (dazu|zum thema)|empfohlene (beiträge|artikel)|verwandte (artikel|beiträge|themen)|"
    r"das (könnte|dürfte) (sie|dich) auch interessieren|"
    r"das thema könnte (sie|dich) auch interessieren|"
    r"(à|a) lire (aussi|également)|lire aussi|(à|a) voir aussi|voir aussi|sur le même sujet|"
    r"lea (también|tambien|más|mas|además)|lee (también|tambien|más)|vea (también|tambien)|"
    r"le puede interesar|te puede interesar|también te puede interesar|"
    r"(notas|noticias|artículos) relacionad[oa]s|más sobre|m[aá]s noticias|"
    r"leia (também|mais)|veja (também|mais)|leggi anche|potrebbe interessarti|"
    r"czytaj (też|także|również|więcej)|zobacz (też|także|również)|lees (ook|meer)|"
    r"meer lezen)\b\s*[:.…!?]*(\s.{0,200})?$",
    r"^(lea|vea|mira|mire|lire|voir|leia|veja|czytaj|zobacz)\s*:.{0,200}$",
    # comments, loading, image furniture
    r"^(keine kommentare|kommentare( insgesamt)?|kommentieren|\d+ kommentare?|"
    r"view comments|aucun commentaire|\d+ commentaires?|commentaires|comentarios|"
    r"\d+ comentarios?|komentarze|wird geladen|chargement( en cours)?|cargando|"
    r"bild anzeigen|bild vergrößern|image illustrative|titelbild|vorschau auf den nächsten artikel)"
    r"\b\s*[:.…]*\s*.{0,80}$",
    r"^(category|kategorien?|rubriken?|catégories?|categorías?|kategorie)\s*:.{0,120}$",
    r"^(quelle|bildquelle|fotos?|bild|titelbild|fuente|foto|crédits? photos?|źródło|bron)\s*:"
    r".{0,100}$",
    r"^(anzeige|werbung|publicidad|publicité|pubblicità)\b.{0,60}$",
    # affiliate and advertiser disclosures, support-us and "load external content" prompts
    r"^.{0,200}\b(affiliate[- ]links?|we may (receive|earn) (a )?(compensation|commission)|"
    r"erhalten wir (eine )?provision|provision(en)? erhalten)\b.{0,300}$",
    r"^.{0,120}\b(unterstütze|unterstützen sie|support (our|us|independent)|"
    r"consider supporting|wesprzyj|soutenez|apoya)\b.{0,40}\b(uns|unsere?n?|our|us|nas|nous|"
    r"nuestro|work|arbeit|journalism|journalismus|\w*mag)\b.{0,250}$",
    r"^(klicken sie|click|klicke) .{0,80}\b(button|schaltfläche)\b.{0,80}\b(laden|load)\b.{0,80}$",
    r"^.{0,60}\b(lesezeit|temps de lecture|tiempo de lectura|przeczytasz w|czas czytania|"
    r"min\.? lesezeit)\b.{0,40}$",
    r"^>>.{5,200}<<$",
    r"^(lesen sie (hier|dazu|mehr|weiter)|hier lesen|jetzt lesen)\s*:.{0,200}$",
    r"^©.{0,400}$",
    r"^get .{0,80}\bby e-?mail\b.{0,160}$",
    r"^.{0,80}\bdownload (the|our) .{0,60}\bapps?\b.{0,80}$",
    r"^(weitere informationen|mehr informationen|kontakt|pressekontakt|ansprechpartner(in)?"
    r"( zum thema)?|zusatzinformationen|quellenangaben|quellen|schlagworte|schlagwörter|"
    r"stichworte|temas|etiquetas|mots-clés|inhaltsverzeichnis|table of contents|"
    r"originalpublikation|sommaire|índice|teilnehmende blogs)\s*:?$",
    r"^(telefon|tel|phone|fax|mobil|mobile)\.?\s*:?\s*[+\d(][\d\s()/+.-]{5,30}$",
    r"^letzte aktualisierung\b.{0,200}$",
    r"^(aktualisiert|veröffentlicht|publié|mis à jour|publicado|actualizado|pubblicato|"
    r"aggiornato|opublikowano|zaktualizowano)( am| le| el| il| on)?\s*:?\s*.{0,40}\d.{0,30}$",
)

# A dateline printed above the story: "Global Wire · Published 1 Dec 2026 10:00",
# "Published: December 1, 2026", "By Jane Doe · 4 min read".  Metadata, not text.
_DATELINE_RE = re.compile(
    r"^(.{0,80}?\s*[·•|–—-]\s*)?(published|updated|posted|last updated|first published|"
    r"veröffentlicht|aktualisiert|publié|mis à jour|publicado|actualizado|pubblicato|aggiornato|"
    r"opublikowano)\b(?=.*\d).{0,80}$|"
    r"^.{0,80}\s[·•|]\s*\d+\s*(min|minute|minutes|minuten|mins?)\.?( read| lesezeit| de lecture)?"
    r"\s*$", re.I)
_MONTHS = (r"(jan(uary|uar|vier|\.)?|feb(ruary|ruar|\.)?|fév(rier)?|mar(ch|s|\.)?|märz|apr(il|\.)?|"
           r"avril|may|mai|jun(e|i|\.)?|juin|jul(y|i|\.)?|juillet|aug(ust|\.)?|août|sep(tember|"
           r"tembre|t|\.)?|oct(ober|obre|\.)?|okt(ober|\.)?|nov(ember|embre|\.)?|dec(ember|\.)?|"
           r"dez(ember|\.)?|déc(embre)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
           r"septiembre|octubre|noviembre|diciembre)")
# A line that is only a date (and time), maybe with a short label after a separator:
# "23.10.2018", "2021-10-16 | Botschaft", "January 13, 2020 at 08:45 AM".  Metadata.
_DATE_ONLY_RE = re.compile(
    r"^((mon|tues|wednes|thurs|fri|satur|sun)day,?\s+|(montag|dienstag|mittwoch|donnerstag|"
    r"freitag|samstag|sonntag),?\s+)?"
    rf"(\d{{1,2}}\.\s?\d{{1,2}}\.\s?(\d{{2}}|\d{{4}})|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|"
    rf"\d{{1,2}}\.?\s+{_MONTHS}\s+\d{{4}}|{_MONTHS}\s+\d{{1,2}}(st|nd|rd|th)?,?(\s+\d{{4}})?)"
    r"(,?\s*(at|um|à|a las)?\s*\d{1,2}[:.h]\d{2}(\s*(am|pm|uhr))?)?"
    r"(\s*[|·•–—-]\s*[\w ]{1,30})?\s*$", re.I)

# A byline in the other languages ("Von Jana Müller", "Par Jeanne Dupont", "Por Juan Pérez").
_LOCAL_BYLINE_RE = re.compile(
    r"^(?i:von|par|por|door|autor(?:in)?:|auteur ?:)\s+[A-ZÀ-Ý][\w.'’-]*"
    r"( [A-ZÀ-Ý][\w.'’-]*){0,3}((,| und| et| y| e| and| &) [A-ZÀ-Ý][\w.'’-]*( [A-ZÀ-Ý][\w.'’-]*)"
    r"{0,3})*(\s*[|,·—-]\s*.{0,40})?$")

# A line that heads a section of links to *other* stories: everything after it is cut when it
# sits in the last part of the text.
_SECTION_CUT_RE = re.compile(
    r"^(related( articles| posts| stories| content| coverage| news| reading)?|"
    r"recommended( for you| stories| reading)?|(most )?popular( now| stories)?|most read|"
    r"trending( now| stories)?|you (may|might) (also )?(like|enjoy|be interested in)|"
    r"more (stories|news|from [\w .]{1,40})|more( [\w-]+){1,3} (stories|news|articles|reads)|"
    r"(most )?popular (on|in|at) [\w .]{1,30}|"
    r"read (more|next)|top stories|deep dive|editor'?s picks|(our )?latest (news|stories|articles)|"
    r"the rest is here|what to read next|around the web|from (our|the) partners)\s*[:.…]*$",
    re.I,
)


def _norm(text: str) -> str:
    """Lower-cased word sequence, for comparing a line with a title."""
    return " ".join(_WORD_RE.findall(text.lower()))


# Every pattern compiled on its own with the longest line it can match: one big alternation
# loses the regex engine's literal-prefix shortcuts, and a line longer than a pattern's widest
# match need not be tried (the "^.{0,N}" windows are the costly part on long story lines).
def _widest_match(pattern: str) -> int:
    """The longest string ``pattern`` can match (CPython's own regex parser; no bound if absent)."""
    try:
        parser = importlib.import_module("re._parser")
    except ImportError:  # another Python implementation: try every pattern on every line
        return sys.maxsize
    return int(parser.parse(pattern, re.I).getwidth()[1])


_CHROME_LINE_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern, re.I), _widest_match(pattern))
    for pattern in [p.pattern for p in _CHROME_LINE_RES] + list(_LOCALISED_CHROME_RES))


def _matches_chrome_pattern(line: str) -> bool:
    """Whether a whole line matches one of the chrome line patterns."""
    length = len(line)
    return any(pattern.match(line) for pattern, widest in _CHROME_LINE_PATTERNS
               if length <= widest)


_SOCIAL_RE = re.compile(
    r"\b(facebook|twitter|linkedin|whatsapp|pinterest|reddit|email|e-mail|messenger|telegram|"
    r"weibo|wechat|flipboard|tumblr|print|copy link|copy this link|share)\b", re.I)


def _is_share_row(line: str) -> bool:
    """A short line that is mostly names of share targets ("Share Facebook Twitter Email")."""
    words = _WORD_RE.findall(line)
    if not words or len(words) > 14:
        return False
    hits = _SOCIAL_RE.findall(line)
    return len(hits) >= 2 and len(hits) * 2 >= len(words) - 2


_NAV_WORDS = frozenset({
    "home", "news", "newsletters", "newsletter", "events", "podcasts", "podcast", "topics",
    "featured", "sections", "subscribe", "video", "videos", "opinion", "sport", "sports",
    "business", "world", "politics", "tech", "technology", "search", "menu", "login", "about",
    "contact", "careers", "advertise", "magazine", "latest", "markets", "culture", "science",
})


def _is_menu_row(line: str) -> bool:
    """A line of capitalised navigation labels ("Featured Topics Newsletters Events Podcasts")."""
    words = line.split()
    if not 3 <= len(words) <= 20 or any(c in line for c in ".,;:!?\"“”"):
        return False
    if not all(w[0].isupper() or not w[0].isalpha() or w in ("and", "&") for w in words):
        return False
    return sum(w.lower() in _NAV_WORDS for w in words) >= max(3, len(words) // 2)


def is_chrome_line(line: str) -> bool:
    """Whether a whole line is a chrome phrase."""
    stripped = line.strip(" \t-–—•*|")
    return (_is_share_row(stripped) or _is_menu_row(stripped)
            or _matches_chrome_pattern(stripped)
            or (len(stripped) <= 120 and _DATELINE_RE.match(stripped) is not None)
            or (len(stripped) <= 80 and _DATE_ONLY_RE.match(stripped) is not None))


def _is_title_line(line: str, titles: Iterable[str]) -> bool:
    """Whether ``line`` is the headline (or a title candidate) printed again."""
    norm = _norm(line)
    if not norm:
        return False
    for title in titles:
        t = _norm(title)
        if not t:
            continue
        if norm == t or (len(norm) >= 0.6 * len(t) and norm in t) or \
                (len(t) >= 0.8 * len(norm) and t in norm):
            return True
    return False


def _is_story_line(text: str) -> bool:
    """A line long enough to be story prose (it ends the lead zone)."""
    return len(_WORD_RE.findall(text)) >= _STORY_LINE_WORDS


def _strip_lead_zone(lines: list[tuple[str, str]], titles: Sequence[str],
                     site_name: str | None, description: str | None) -> list[tuple[str, str]]:
    """Drop headline, site name, standfirst and bylines printed before the first story line.

    Only the lines above the first story-length line are examined, so a subheading in the story
    that happens to repeat the headline's words is kept.
    """
    site = _norm(site_name or "")
    desc = _norm(description or "")
    out: list[tuple[str, str]] = []
    for index, (tag, text) in enumerate(lines):
        if _is_story_line(text) and not (tag == "head" and desc and _norm(text) == desc):
            return out + lines[index:]
        norm = _norm(text)
        if _is_title_line(text, titles):
            out.clear()  # what sits above the headline is masthead: site name, tagline, kicker
            continue
        if (site and norm == site) or _BYLINE_RE.match(text) or _LOCAL_BYLINE_RE.match(text) \
                or _DATELINE_RE.match(text):
            continue
        if tag == "head" and desc and norm == desc:
            continue
        out.append((tag, text))
    return out


def _cut_trailing_section(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Cut a "Related"/"Popular" heading in the last half of the text and all that follows."""
    total = sum(len(text) for _, text in lines) or 1
    seen = 0
    for index, (_, text) in enumerate(lines):
        if seen > total * 0.5 and _SECTION_CUT_RE.match(text.strip(" \t-–—•*|:")):
            return lines[:index]
        seen += len(text)
    return lines


def _is_author_line(text: str, authors: frozenset[str]) -> bool:
    """A line that is only an author's name (a byline printed apart from the text)."""
    return bool(authors) and _norm(re.sub(r"^\W*(by\b)?", "", text, flags=re.I)) in authors


def clean_blocks(blocks: Sequence[Block], titles: Sequence[str],
                 description: str | None, site_name: str | None = None,
                 author: str | None = None) -> list[str]:
    """Paragraph texts of ``blocks`` without repeated headline, chrome lines or related tails."""
    authors = frozenset(_norm(name) for name in re.split(r",|\band\b", author or "")
                        if _norm(name)) | ({_norm(author)} if author else set())
    lines = [(block.tag, line) for block in blocks for line in block.lines
             if not _is_author_line(line, authors)]
    lines = _strip_lead_zone(lines, titles, site_name, description)
    lines = _cut_trailing_section(lines)
    paragraphs: list[str] = []
    for _, text in lines:
        if is_chrome_line(text):
            continue
        if not paragraphs or paragraphs[-1] != text:
            paragraphs.append(text)
    return paragraphs
