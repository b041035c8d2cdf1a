"""A small news world for the end-to-end tests: feeds and article pages in the shape of real ones.

Pages carry what real news pages carry around the story: repeated navigation, the headline twice,
a byline with "archive page", share widgets, a newsletter prompt and its error message, a
"Related Articles" list of unrelated headlines, a cookie banner and a footer of site links.
The prose is written for these tests.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from tests.support import LoopbackHTTP

NAV = " | ".join(["World", "Business", "Markets", "Tech", "Policy", "Opinion", "Video", "Podcasts"])
RELATED = [
    "Five reasons your sourdough starter keeps failing",
    "Stock futures drift ahead of retail earnings",
    "Opinion: The case for four-day school weeks",
    "Transfer window: who moves before the deadline",
    "Review: A quiet crime drama finds its stride",
]


@dataclass(frozen=True)
class Story:
    path: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    author: str = "Dana Whitfield"


def article_page(site: str, story: Story) -> str:
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    related = "\n".join(f'<li><a href="/r/{i}">{html.escape(t)}</a></li>' for i, t in enumerate(RELATED))
    iso = story.published.isoformat()
    title = html.escape(story.title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {site}</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{site}">
<meta property="article:published_time" content="{iso}">
<meta name="author" content="{html.escape(story.author)}">
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>
<header><nav>{NAV}</nav><div class="brand">{site}</div><nav>{NAV}</nav></header>
<main>
<article>
<h1>{title}</h1>
<div class="byline">By <a href="/authors/dw">{html.escape(story.author)}</a> archive page</div>
<time datetime="{iso}">{story.published:%B %d, %Y}</time>
<div class="share">Share: facebooklink opens in a new window twitterlink opens in a new window
linkedinlink opens in a new window</div>
{paras}
<aside class="newsletter"><p>Sign up for our China Tech newsletter.</p>
<p>Sorry, there was an error signing you up. Please try again.</p></aside>
</article>
<section class="related"><h2>Related Articles</h2><ul>{related}</ul></section>
<section class="comments"><h3>Leave a comment</h3><form><textarea></textarea>
<button>Post comment</button></form></section>
</main>
<footer><a href="/about">About us</a> <a href="/contact">Contact</a> <a href="/terms">Terms of use</a>
<a href="/privacy">Privacy policy</a> © 2026 {site}. All rights reserved.</footer>
</body></html>"""


def rss(title: str, base: str, items: list[tuple[str, str, datetime]]) -> str:
    body = "\n".join(
        f"<item><title>{html.escape(t)}</title><link>{base}{p}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<guid>{base}{p}</guid><pubDate>{format_datetime(d)}</pubDate></item>"
        for t, p, d in items
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{html.escape(title)}'
            f"</title><link>{base}/</link>{body}</channel></rss>")


def atom(title: str, base: str, items: list[tuple[str, str, datetime]]) -> str:
    body = "\n".join(
        f'<entry><title>{html.escape(t)}</title><link rel="alternate" href="{base}{p}#top"/>'
        f"<id>{base}{p}</id><updated>{d.isoformat()}</updated></entry>"
        for t, p, d in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{html.escape(title)}</title><id>{base}/atom</id><updated>2026-11-21T00:00:00Z</updated>"
            f"{body}</feed>")


def serve_story(http: LoopbackHTTP, site: str, story: Story) -> None:
    http.add(story.path, article_page(site, story))


D = datetime.fromisoformat
STORY_ENTITY = Story(
    "/news/2026/11/20/entity-list-hbm.html",
    "Commerce adds 12 Chinese chipmakers to Entity List and tightens rules on HBM",
    (
        "The US Commerce Department on Thursday added 12 Chinese semiconductor companies to the Entity "
        "List, barring American suppliers from shipping them chips, chipmaking tools or design software "
        "without a licence that officials said would be presumptively denied.",
        "The Bureau of Industry and Security also widened export controls on high-bandwidth memory, the "
        "stacked HBM chips that sit beside AI accelerators, closing a route through which Chinese firms "
        "had kept buying parts for data-centre processors.",
        "Among the companies named were two units of SMIC, China's largest contract chipmaker, and a "
        "start-up designing AI accelerators that officials said had sought to evade earlier controls "
        "through shell companies in Singapore.",
        "China's commerce ministry said it firmly opposed the move and would take measures to protect "
        "its companies, and analysts said Beijing could answer by tightening its own export curbs on "
        "gallium and germanium, metals used in chipmaking.",
        "Industry groups in Washington warned that the rules would push Chinese buyers toward Huawei's "
        "Ascend processors and urged allies in the Netherlands and Japan to align their controls.",
    ),
    D("2026-11-20T14:05:00+00:00"),
)
STORY_ENTITY_COPY = Story(
    "/wire/us-blacklists-chip-firms.html",
    "US blacklists a dozen Chinese chip firms in widening export crackdown",
    (
        "Washington (Wire) - The US Commerce Department on Thursday added 12 Chinese semiconductor "
        "companies to the Entity List, barring American suppliers from shipping them chips, chipmaking "
        "tools or design software without a licence that officials said would be presumptively denied.",
        "The Bureau of Industry and Security also widened export controls on high-bandwidth memory, the "
        "stacked HBM chips that sit beside AI accelerators, closing a route through which Chinese firms "
        "had kept buying parts for data-centre processors.",
        "Among the companies named were two units of SMIC, China's largest contract chipmaker, and a "
        "start-up designing AI accelerators that officials said had sought to evade earlier controls "
        "through shell companies in Singapore.",
        "China's commerce ministry said it firmly opposed the move and would take measures to protect "
        "its companies, and analysts said Beijing could answer by tightening its own export curbs on "
        "gallium and germanium, metals used in chipmaking.",
        "Industry groups in Washington warned that the rules would push Chinese buyers toward Huawei's "
        "Ascend processors and urged allies in the Netherlands and Japan to align their controls.",
    ),
    D("2026-11-20T16:30:00+00:00"),
    author="Wire staff",
)
STORY_CLOUD = Story(
    "/news/2026/11/21/cloud-kyc-rule.html",
    "Draft rule would make US cloud providers verify foreign customers training AI models",
    (
        "US cloud providers would have to verify the identity of foreign customers and report any that "
        "rent enough computing power to train large AI models, under a draft rule the Commerce "
        "Department published on Friday.",
        "The know-your-customer requirement for infrastructure-as-a-service providers is aimed at "
        "Chinese companies that officials say have used remote access to US data centres to reach "
        "advanced chips they cannot legally import.",
        "Providers such as Amazon Web Services, Microsoft Azure and Google Cloud would have to keep "
        "records of customers' beneficial owners and could be ordered to cut off resellers that fail "
        "to screen their own clients.",
        "Cloud industry groups said the rule was broadly written and could cost US providers business "
        "abroad, while China's foreign ministry called it another abuse of national security concepts "
        "to hold back Chinese technology.",
    ),
    D("2026-11-21T09:30:00+00:00"),
)
STORY_SNACK = Story(
    "/news/2026/11/19/chips-recall.html",
    "Snack maker recalls sea-salt potato chips over undeclared milk",
    (
        "A Midwest snack maker is recalling about 40,000 bags of sea-salt potato chips because they may "
        "contain milk that is not listed on the label, the company said on Wednesday.",
        "The chips were sold at grocery stores in six states in one-ounce and eight-ounce bags with "
        "best-by dates in March, according to a notice posted by federal food regulators.",
        "No illnesses have been reported. Customers with a milk allergy should not eat the chips and "
        "can return the bags for a full refund, the company said.",
    ),
    D("2026-11-19T12:00:00+00:00"),
)
STORY_MODEL = Story(
    "/tech/2026/11/20/open-weight-model.html",
    "Chinese lab releases open-weight model that rivals US systems on coding tests",
    (
        "A Hangzhou artificial intelligence lab released an open-weight large language model on "
        "Thursday that it says matches leading American models on coding and mathematics benchmarks.",
        "The model, which has 400 billion parameters, was trained at a fraction of the cost reported "
        "by US labs, the company said in a technical report, and is free for researchers and companies "
        "to download and modify.",
        "Independent evaluators said the scores on software-engineering tests were close to those of "
        "the best closed chatbots, though the model lagged on long reasoning tasks.",
    ),
    D("2026-11-20T10:00:00+00:00"),
)
STORY_ASML = Story(
    "/news/2026/11/22/dutch-duv-licences.html",
    "Dutch government widens licence rule for ASML chipmaking tools bound for China",
    (
        "The Dutch government said on Saturday it would require export licences for more of ASML's "
        "deep-ultraviolet lithography machines shipped to China, aligning its controls more closely "
        "with US restrictions on chipmaking equipment.",
        "The rule covers immersion lithography tools used to make chips at the 7-nanometre node and "
        "below, and servicing and spare parts for machines already installed at Chinese fabs.",
        "The trade ministry in The Hague said the decision followed months of talks with Washington, "
        "while China's commerce ministry urged the Netherlands to respect market rules and said it "
        "would defend the rights of Chinese chipmakers.",
    ),
    D("2026-11-22T08:00:00+00:00"),
)
