"""Who publishes a text: generic features of its web address (the host), for the claim checker.

A page's address is evidence of who speaks: a regulator's notice, a journal's abstract or a
news agency's report quotes claims, a clinic's or wellness centre's page makes them. This
module turns an optional URL into a few generic features of its **host only** (never the
path):

* the class of its top-level domain: government (``.gov``, ``.gov.xx``, ``.gouv.xx``,
  ``.gob.xx``, ``.go.xx``, ``.mil``, ``.int``, ``gc.ca``, ``nhs.uk``), education and
  academia (``.edu``, ``.edu.xx``, ``.ac.xx``), organisations (``.org``, ``.org.xx``),
  commercial (``.com``, ``.net``, ``.co``, ``.co.xx``, ``.com.xx``, ``.biz``...), other
  country codes;
* the word pieces of the host (``stemcellclinicmexico`` -> ``stemcell``, ``clinic``),
  from a short vocabulary of words that say what kind of site it is (clinic, wellness,
  medspa, regenerative, news, journal, university...);
* membership of short lists of major scientific publishers and literature databases,
  trial registries, news agencies and large news organisations, and academic medical
  centres and public health bodies.

The vocabulary and the lists were **written from general knowledge, without looking at the
sites of the claims corpus** (the corpus's own hosts were not read to write them), so that
they do not encode the corpus's sites. They are features of the learned component (fitted
on the train split, docs/evidence.md §4) and, for the authoritative classes, a sentence of
the explanation; they never make a flag by themselves.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

#: top-level-domain classes, in the order of the features
TLD_CLASSES = ("gov", "edu", "org", "com", "cc")
#: named-host classes (lists below), in the order of the features
LIST_CLASSES = ("publisher", "registry", "news", "academic_medical")

# Written from general knowledge, not from the corpus's sites (see the module docstring).
_PUBLISHERS = frozenset(
    """
    nature.com springer.com springeropen.com biomedcentral.com sciencedirect.com
    elsevier.com cell.com thelancet.com nejm.org bmj.com jamanetwork.com wiley.com
    frontiersin.org mdpi.com plos.org tandfonline.com sagepub.com oup.com karger.com
    hindawi.com science.org sciencemag.org pnas.org ahajournals.org ashpublications.org
    aacrjournals.org jci.org cambridge.org europepmc.org biorxiv.org medrxiv.org
    researchgate.net semanticscholar.org cochranelibrary.com thieme-connect.com
    dovepress.com spandidos-publications.com oncotarget.com nih.gov ncbi.nlm.nih.gov
    pubmed.ncbi.nlm.nih.gov annualreviews.org jimmunol.org rupress.org embopress.org
    lww.com journals.lww.com acs.org rsc.org iop.org degruyter.com ieee.org
    cnki.net wanfangdata.com.cn cqvip.com
    """.split()
)
_REGISTRIES = frozenset(
    """
    clinicaltrials.gov who.int isrctn.com chictr.org.cn anzctr.org.au
    clinicaltrialsregister.eu euclinicaltrials.eu ctri.nic.in niph.go.jp jrct.niph.go.jp
    umin.ac.jp drks.de trialsearch.who.int
    """.split()
)
_NEWS = frozenset(
    """
    reuters.com apnews.com afp.com bloomberg.com bbc.com bbc.co.uk nytimes.com
    washingtonpost.com theguardian.com cnn.com npr.org statnews.com wsj.com ft.com
    economist.com abc.net.au cbc.ca nbcnews.com cbsnews.com abcnews.go.com latimes.com
    usatoday.com time.com newsweek.com forbes.com theatlantic.com newyorker.com
    vox.com axios.com politico.com aljazeera.com dw.com france24.com lemonde.fr
    spiegel.de elpais.com smh.com.au theage.com.au straitstimes.com scmp.com
    japantimes.co.jp koreaherald.com thehindu.com hindustantimes.com
    timesofindia.indiatimes.com independent.co.uk telegraph.co.uk thetimes.co.uk
    dailymail.co.uk sky.com news.sky.com euronews.com kff.org kffhealthnews.org
    medscape.com fiercebiotech.com fiercepharma.com biopharmadive.com endpts.com
    xinhuanet.com news.cn chinadaily.com.cn people.com.cn cctv.com cgtn.com
    thepaper.cn caixin.com yicai.com sina.com.cn news.163.com sohu.com ifeng.com
    chinanews.com.cn gmw.cn bjnews.com.cn ltn.com.tw udn.com cna.com.tw rthk.hk
    """.split()
)
_ACADEMIC_MEDICAL = frozenset(
    """
    mayoclinic.org clevelandclinic.org hopkinsmedicine.org mskcc.org mdanderson.org
    dana-farber.org massgeneral.org stanfordhealthcare.org cancer.org cancer.gov
    cancerresearchuk.org macmillan.org.uk nhs.uk isscr.org closerlookatstemcells.org
    aabb.org asgct.org ashp.org hematology.org asco.org cancer.net esmo.org
    """.split()
)
_LISTS = {
    "publisher": _PUBLISHERS,
    "registry": _REGISTRIES,
    "news": _NEWS,
    "academic_medical": _ACADEMIC_MEDICAL,
}

#: word pieces of a host that say what kind of site it is (general knowledge, not the
#: corpus's sites); spellings of one word share a feature
PIECES: dict[str, tuple[str, ...]] = {
    "clinic": ("clinic", "clinics", "klinik", "clinica", "clinique"),
    "stemcell": ("stemcell", "stemcells", "stem"),
    "cell": ("cell", "cells", "cellular"),
    "regenerative": ("regenerative", "regen", "regenerate", "regeneration"),
    "wellness": ("wellness", "wellbeing", "holistic", "integrative", "functional"),
    "spa": ("medspa", "spa", "medispa", "dayspa"),
    "aesthetic": ("aesthetic", "aesthetics", "esthetic", "beauty", "cosmetic", "skin", "derm"),
    "ageing": (
        "antiaging",
        "antiageing",
        "ageless",
        "longevity",
        "youth",
        "rejuvenation",
        "age",
        "aging",
        "ageing",
        "vitality",
        "anti",
    ),  # fmt: skip
    "therapy": ("therapy", "therapies", "treatment", "treatments", "cure", "cures"),
    "ortho": ("ortho", "orthopedic", "orthopaedic", "pain", "spine", "joint", "sports"),
    "institute": ("institute", "center", "centre", "centers", "centres"),
    "travel": ("travel", "tourism", "medicaltourism", "abroad", "global", "international"),
    "news": (
        "news",
        "times",
        "post",
        "tribune",
        "herald",
        "daily",
        "gazette",
        "press",
        "today",
        "magazine",
        "mag",
        "report",
        "reporter",
        "chronicle",
        "observer",
        "journal",
        "media",
        "tv",
        "radio",
        "express",
    ),  # fmt: skip
    "science": (
        "science",
        "sciences",
        "scientific",
        "journals",
        "academic",
        "pubs",
        "pubmed",
        "publishing",
        "research",
        "review",
        "reviews",
        "scholar",
    ),  # fmt: skip
    "university": ("university", "univ", "uni", "college", "school", "academy", "edu"),
    "hospital": (
        "hospital",
        "hospitals",
        "health",
        "healthcare",
        "medical",
        "medicine",
        "care",
        "med",
        "md",
        "doctor",
        "doctors",
        "physician",
        "physicians",
    ),  # fmt: skip
    "public": (
        "gov",
        "government",
        "ministry",
        "agency",
        "authority",
        "commission",
        "council",
        "federal",
        "national",
        "state",
        "city",
        "county",
        "public",
    ),  # fmt: skip
    "society": (
        "society",
        "association",
        "foundation",
        "alliance",
        "network",
        "org",
        "trust",
        "charity",
        "coalition",
        "federation",
    ),  # fmt: skip
    "bio": (
        "bio",
        "biotech",
        "biologics",
        "pharma",
        "labs",
        "lab",
        "therapeutics",
        "genetics",
        "gene",
        "genomics",
        "bank",
        "cordblood",
        "cord",
        "blood",
    ),  # fmt: skip
}
#: words read whole so that a piece is not found inside them ("pain" in "spain")
_NEUTRAL = ("spain", "spanish", "japan", "company", "companies", "paint", "postal", "agent")
_PIECE_OF: dict[str, str | None] = {w: name for name, ws in PIECES.items() for w in ws}
_PIECE_OF.update({w: None for w in _NEUTRAL})
_WORDS = sorted(_PIECE_OF, key=len, reverse=True)
_SHORT = 3  # pieces this short count only as a whole label part or at a part's start or end

_GOV = re.compile(
    r"(?:^|\.)(?:gov|mil|int|gouv\.[a-z]{2}|gob\.[a-z]{2}|go\.[a-z]{2}|gov\.[a-z]{2,3}|"
    r"govt\.[a-z]{2}|gc\.ca|admin\.ch|bund\.de|europa\.eu|nhs\.uk|nih\.gov)$"
)
_EDU = re.compile(r"(?:^|\.)(?:edu|edu\.[a-z]{2}|ac\.[a-z]{2})$")
_ORG = re.compile(r"(?:^|\.)(?:org|org\.[a-z]{2})$")
_COM = re.compile(
    r"(?:^|\.)(?:com|net|biz|info|co|io|clinic|health|care|co\.[a-z]{2}|com\.[a-z]{2}|"
    r"net\.[a-z]{2})$"
)
_SECOND_LEVEL = re.compile(r"\.(?:gov|gouv|gob|go|ac|edu|org|co|com|net|govt|or|ne|nic)\.[a-z]{2}$")


@dataclass(frozen=True)
class Host:
    """What the address says about who publishes a text."""

    host: str
    tld_class: str  # one of TLD_CLASSES, or "" without a host
    lists: frozenset[str]  # of LIST_CLASSES
    pieces: frozenset[str]  # keys of PIECES

    @property
    def authority(self) -> str:
        """``"government"``, ``"registry"``, ``"publisher"``, ``"news"``,
        ``"academic_medical"``, ``"university"`` or ``""``: an authoritative publisher."""
        if "registry" in self.lists:
            return "registry"
        if self.tld_class == "gov":
            return "government"
        for name in ("publisher", "news", "academic_medical"):
            if name in self.lists:
                return name
        if self.tld_class == "edu":
            return "university"
        return ""


def _is_host_name(host: str) -> bool:
    """Dot-separated labels of letters and combining marks (any script: Devanagari and Thai
    vowel signs are marks), digits, hyphens and underscores, not starting or ending with a
    hyphen, at most 63 characters each and 253 in all; or an IPv4 address."""
    labels = host.split(".")
    if len(host) > 253:  # the DNS limit
        return False
    if all(label.isascii() and label.isdigit() for label in labels):  # IPv4: four 0-255
        return len(labels) == 4 and all(int(label) <= 255 for label in labels)
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
        for c in label:
            if not (c.isalnum() or c in "-_" or unicodedata.category(c).startswith("M")):
                return False
    return True


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_PORT = re.compile(r"\d+(?:[/?#]|$)")


def host_of(url: str) -> str:
    """The lower-cased host of a URL (``"www."`` and a port removed), or ``""``."""
    url = unicodedata.normalize("NFKC", url.strip())  # full-width "ｆｄａ.ｇｏｖ" -> "fda.gov"
    if not url:
        return ""
    scheme = _SCHEME.match(url)
    if scheme and not url.startswith("//", scheme.end()) and not _PORT.match(url, scheme.end()):
        return ""  # mailto:, javascript:, data: ... name no web page
    if "//" not in url:
        url = "//" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _in_list(host: str, names: frozenset[str]) -> bool:
    parts = host.split(".")
    return any(".".join(parts[i:]) in names for i in range(len(parts) - 1))


def _registrable_labels(host: str) -> list[str]:
    """The labels of the host without its public suffix (``a.b.co.uk`` -> ``a``, ``b``)."""
    m = _SECOND_LEVEL.search(host)
    if m:
        return host[: m.start()].split(".")
    return host.split(".")[:-1]


def _pieces(label: str) -> set[str]:
    out: set[str] = set()
    for part in re.split(r"[-_0-9]+", label):
        i = 0
        while i < len(part):
            for w in _WORDS:
                if part.startswith(w, i):
                    at_edge = i == 0 or i + len(w) == len(part)
                    if len(w) > _SHORT or part == w or at_edge:
                        piece = _PIECE_OF[w]
                        if piece is not None:
                            out.add(piece)
                        i += len(w)
                        break
            else:
                i += 1
    return out


def parse_host(url: str | None) -> Host | None:
    """The host features of ``url``, or ``None`` when there is no usable host."""
    if not url:
        return None
    host = host_of(url)
    if not host or "." not in host or not _is_host_name(host):
        return None
    if _GOV.search(host):
        tld = "gov"
    elif _EDU.search(host):
        tld = "edu"
    elif _ORG.search(host):
        tld = "org"
    elif _COM.search(host):
        tld = "com"
    else:
        tld = "cc"
    lists = frozenset(name for name, names in _LISTS.items() if _in_list(host, names))
    pieces: set[str] = set()
    for label in _registrable_labels(host):
        if label != "www":
            pieces |= _pieces(label)
    return Host(host, tld, lists, frozenset(pieces))


def host_feature_names() -> tuple[str, ...]:
    """Names of the host features of the learned component's URL model."""
    return (
        *(f"tld:{c}" for c in TLD_CLASSES),
        *(f"list:{c}" for c in LIST_CLASSES),
        *(f"piece:{p}" for p in PIECES),
    )


def host_features(host: Host | None, names: tuple[str, ...]) -> list[float]:
    """0/1 features ``names`` of a parsed host (all zero without one)."""
    out = []
    for name in names:
        kind, _, what = name.partition(":")
        if host is None:
            out.append(0.0)
        elif kind == "tld":
            out.append(float(host.tld_class == what))
        elif kind == "list":
            out.append(float(what in host.lists))
        else:
            out.append(float(what in host.pieces))
    return out


_AUTHORITY_TEXT = {
    "en": {
        "government": "published by a government site",
        "registry": "published by a clinical-trial registry",
        "publisher": "published by a scientific publisher or literature database",
        "news": "published by a news organisation",
        "academic_medical": "published by an academic medical centre or public health body",
        "university": "published by a university or academic site",
    },
    "zh": {
        "government": "发布于政府网站",
        "registry": "发布于临床试验登记平台",
        "publisher": "发布于学术出版商或文献数据库",
        "news": "发布于新闻机构",
        "academic_medical": "发布于学术医疗中心或公共卫生机构",
        "university": "发布于大学或学术网站",
    },
}


def authority_note(host: Host | None, lang: str) -> str:
    """One sentence on an authoritative publisher, in ``lang``, or ``""``."""
    if host is None or not host.authority:
        return ""
    what = _AUTHORITY_TEXT["zh" if lang == "zh" else "en"][host.authority]
    if lang == "zh":
        return (
            f"网址（{host.host}）显示该文{what}：这类网站常常引用或警示这些说法，而不是自己在推销；"
            "请结合上下文判断。"
        )
    return (
        f"The address ({host.host}) shows the text is {what}: such sites often quote or warn "
        "against these claims rather than make them; read the flags in that light."
    )
