"""Link domains and their reputation: which registered domain a link points at, whether readers
cite it (trusted), and whether a newsroom has blocked it. Web-safe (no scikit-learn): the rules,
the scoring worker and the spam model's features all read links through here."""

from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

import tldextract

from moderation.links import URL

# The Public Suffix List as shipped inside tldextract (no download at run time); private
# suffixes on, so one blogspot.com or github.io blog does not lend its reputation to another.
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)

SHORTENERS = frozenset(
    {"bit.ly", "goo.gl", "tinyurl.com", "ow.ly", "t.co", "is.gd", "adf.ly", "tiny.cc",
     "shortmyurls.com", "cutt.ly", "rebrand.ly", "shorturl.at", "rb.gy", "buff.ly", "t.ly"}
)  # fmt: skip

# The seed of trusted sources: where readers point when they cite. Public suffixes (gov.uk,
# edu) trust every domain under them. A newsroom edits the live list in the admin (LinkDomain);
# this seed is what a fresh install and the training data start from.
SEED_TRUSTED = frozenset(
    {
        # public bodies and universities, by suffix
        "gov", "mil", "edu", "int", "gov.uk", "ac.uk", "nhs.uk", "parliament.uk", "gc.ca",
        "gov.au", "edu.au", "govt.nz", "ac.nz", "go.jp", "ac.jp", "go.kr", "ac.kr", "gov.in",
        "ac.in", "gov.ie", "gouv.fr", "bund.de", "europa.eu", "un.org", "who.int",
        # encyclopaedias, reference and archives
        "wikipedia.org", "wikimedia.org", "wiktionary.org", "wikisource.org", "britannica.com",
        "archive.org", "doi.org", "jstor.org", "arxiv.org", "pubmed.gov", "nature.com",
        "science.org", "sciencedirect.com", "springer.com", "thelancet.com", "nejm.org",
        "bmj.com", "ncbi.nlm.nih.gov", "ourworldindata.org", "worldbank.org", "imf.org",
        "oecd.org", "statista.com", "pewresearch.org", "snopes.com", "factcheck.org",
        "politifact.com", "fullfact.org", "merriam-webster.com", "dictionary.com",
        "github.com", "stackexchange.com", "stackoverflow.com", "mozilla.org", "w3.org",
        "ietf.org", "python.org", "gutenberg.org",
        # news agencies and outlets
        "reuters.com", "apnews.com", "afp.com", "bbc.co.uk", "bbc.com", "theguardian.com",
        "nytimes.com", "washingtonpost.com", "wsj.com", "ft.com", "economist.com",
        "bloomberg.com", "cnn.com", "cbc.ca", "theglobeandmail.com", "thestar.com",
        "nationalpost.com", "npr.org", "pbs.org", "abc.net.au", "smh.com.au", "nzherald.co.nz",
        "aljazeera.com", "dw.com", "france24.com", "lemonde.fr", "spiegel.de", "elpais.com",
        "nhk.or.jp", "japantimes.co.jp", "asahi.com", "mainichi.jp", "yna.co.kr",
        "koreaherald.com", "koreatimes.co.kr", "scmp.com", "straitstimes.com", "thehindu.com",
        "latimes.com", "chicagotribune.com", "usatoday.com", "politico.com", "politico.eu",
        "axios.com", "thehill.com", "theatlantic.com", "newyorker.com", "time.com",
        "newsweek.com", "vox.com", "propublica.org", "independent.co.uk", "telegraph.co.uk",
        "thetimes.co.uk", "irishtimes.com", "cbsnews.com", "nbcnews.com", "abcnews.go.com",
        "foxnews.com", "msnbc.com", "csmonitor.com", "theconversation.com", "forbes.com",
        "businessinsider.com", "cnbc.com", "marketwatch.com", "arstechnica.com", "wired.com",
        "theverge.com", "nature.org", "nationalgeographic.com", "scientificamerican.com",
        "civilbeat.org", "adn.com", "oregonlive.com", "seattletimes.com", "sfgate.com",
        "honolulu.gov",
    }
)  # fmt: skip


@lru_cache(maxsize=8192)
def registered_domain(host: str) -> str:
    """'en.wikipedia.org' -> 'wikipedia.org', 'bbc.co.uk' -> 'bbc.co.uk': what a reputation
    is kept for. A host with no public suffix (localhost, an IP address) is returned whole."""
    return _EXTRACT.extract_str(host).top_domain_under_public_suffix or host


def host_of(link: str) -> str:
    """'https://www.Reuters.com:443/x' -> 'reuters.com'."""
    try:
        parts = urlsplit(link if "//" in link else f"http://{link}")
        host = parts.hostname or ""
    except ValueError:  # an unbalanced '[' in a host
        return ""
    return host.rstrip(".").removeprefix("www.")


@lru_cache(maxsize=1024)  # three of the model's feature blocks ask it of the same body
def link_hosts(text: str) -> tuple[str, ...]:
    """The host of every link in the text, in order."""
    return tuple(host for host in map(host_of, URL.findall(text)) if host)


@lru_cache(maxsize=8192)
def _suffixes(host: str) -> tuple[str, ...]:
    # 'news.mofa.go.jp' -> ('news.mofa.go.jp', 'mofa.go.jp', 'go.jp', 'jp')
    labels = host.split(".")
    return tuple(".".join(labels[i:]) for i in range(len(labels)))


def listed(host: str, domains: frozenset) -> bool:
    """The host, or a suffix of it (wikipedia.org for en.wikipedia.org, gov.uk for
    ons.gov.uk), is in `domains`."""
    return any(suffix in domains for suffix in _suffixes(host))


class DomainLists(NamedTuple):
    trusted: frozenset
    blocked: frozenset


def domain_lists() -> DomainLists:
    """The newsroom's trusted and blocked domains (LinkDomain), and the site's own domains as
    trusted: read once per scoring batch."""
    from django.conf import settings

    from moderation.models import LinkDomain

    rows = LinkDomain.objects.exclude(reputation=LinkDomain.Reputation.NEUTRAL)
    trusted, blocked = set(settings.REPLYGUARD_OWN_DOMAINS), set()
    for domain, reputation in rows.values_list("domain", "reputation"):
        (trusted if reputation == LinkDomain.Reputation.TRUSTED else blocked).add(domain)
    return DomainLists(frozenset(trusted), frozenset(blocked))


def domains_learn(decided: list[tuple[str, str]]) -> None:
    """Count a person's publish or spam decisions on single comments (services.comment_decide;
    never a bulk or campaign action) against the registered domains each comment links to
    (`decided`: (status, the comment's body and website) pairs), and move a domain nobody has
    set by hand to trusted after REPLYGUARD_DOMAIN_TRUST_AFTER publishes with no spam, or to
    blocked after REPLYGUARD_DOMAIN_BLOCK_AFTER spam with no publish (0: never) and no
    published comment carrying it."""
    from django.db.models import F

    from moderation.models import Comment, LinkDomain

    counts: dict[tuple[str, str], int] = {}
    for status, text in decided:
        field = {Comment.Status.PUBLISHED: "published", Comment.Status.SPAM: "binned"}.get(status)
        for domain in {registered_domain(host) for host in link_hosts(text)} if field else ():
            counts[domain, field] = counts.get((domain, field), 0) + 1
    for (domain, field), n in sorted(counts.items()):
        LinkDomain.objects.get_or_create(domain=domain, defaults={"source": "learned"})
        LinkDomain.objects.filter(domain=domain).update(**{field: F(field) + n})
    _relearn({domain for domain, _ in counts})


def _relearn(domains: set[str]) -> None:
    from django.conf import settings

    from moderation.models import LinkDomain

    trust_after = settings.REPLYGUARD_DOMAIN_TRUST_AFTER
    block_after = settings.REPLYGUARD_DOMAIN_BLOCK_AFTER
    learned = LinkDomain.objects.filter(domain__in=domains, source=LinkDomain.Source.LEARNED)
    for row in learned:
        reputation = LinkDomain.Reputation.NEUTRAL
        if trust_after and row.published >= trust_after and not row.binned:
            reputation = LinkDomain.Reputation.TRUSTED
        elif block_after and row.binned >= block_after and not row.published:
            reputation = LinkDomain.Reputation.BLOCKED
            if row.reputation != reputation and _carried_by_published(row.domain):
                reputation = LinkDomain.Reputation.NEUTRAL
        if reputation != row.reputation:
            LinkDomain.objects.filter(pk=row.pk).update(reputation=reputation)


def _carried_by_published(domain: str) -> bool:
    """A published comment links to the domain or gives it as its Website: whoever binned
    comments pasted it, a reader stands behind it, so it is never blocked by counting (a
    moderator still may, by hand). Read only when a domain is about to be blocked: rare."""
    from django.db.models import Q

    from moderation.models import Comment

    carries = Q(author_url__icontains=domain) | Q(body__icontains=domain)  # narrows; then exact
    published = Comment.objects.filter(carries, status=Comment.Status.PUBLISHED)
    return any(
        registered_domain(host) == domain
        for body, website in published.values_list("body", "author_url").iterator()
        for host in link_hosts(f"{body} {website}")
    )
