"""Who publishes a text: the host of its URL as evidence for the claim checker
(``check_claim(text, url=...)``, ``nksim check-claim --url``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nksim.evidence import check_claim
from nksim.evidence._claims_host import host_feature_names, host_features, host_of, parse_host


@pytest.mark.parametrize(
    ("url", "tld"),
    [
        ("https://www.fda.gov/vaccines-blood-biologics/x", "gov"),
        ("https://www.nhc.gov.cn/xcs/x.shtml", "gov"),
        ("https://www.gouv.fr/x", "gov"),
        ("https://ansm.sante.gouv.fr/x", "gov"),
        ("https://www.argentina.gob.ar/x", "gov"),
        ("https://www.mhlw.go.jp/x", "gov"),
        ("https://www.who.int/news", "gov"),
        ("https://health.mil/x", "gov"),
        ("https://med.stanford.edu/x", "edu"),
        ("https://www.ox.ac.uk/news", "edu"),
        ("https://www.pku.edu.cn/x", "edu"),
        ("https://www.isscr.org/x", "org"),
        ("https://stemcellclinic.com/x", "com"),
        ("https://clinic.co.uk/x", "com"),
        ("https://example.de/x", "cc"),
    ],
)
def test_top_level_domain_classes(url, tld):
    assert parse_host(url).tld_class == tld


def test_word_pieces_lists_and_authority():
    h = parse_host("https://www.stemcellwellnessmedspa.com/book")
    assert {"stemcell", "wellness", "spa"} <= h.pieces and h.authority == ""
    assert parse_host("https://regenerativeclinic-mexico.com/").pieces >= {"regenerative", "clinic"}
    assert "news" in parse_host("https://dailyhealthnews.net/a").pieces
    assert "university" in parse_host("https://university-hospital.example/a").pieces
    # short pieces count only at a part's edge: "spa" is not read inside "spain"
    assert "spa" not in parse_host("https://visitspainnow.com/").pieces
    assert parse_host("https://pubmed.ncbi.nlm.nih.gov/123/").authority == "government"
    assert parse_host("https://clinicaltrials.gov/study/NCT01234567").authority == "registry"
    assert parse_host("https://www.nature.com/articles/x").authority == "publisher"
    assert parse_host("https://www.reuters.com/business/x").authority == "news"
    assert parse_host("https://www.fda.gov/x").authority == "government"
    assert parse_host("https://www.mayoclinic.org/x").authority == "academic_medical"
    # the path is never read: a clinic page about the FDA is still a clinic page
    assert parse_host("https://bestclinic.com/fda.gov/nature.com").authority == ""


def test_unusable_addresses_give_no_host():
    for url in (None, "", "   ", "not a url", "http://", "https://localhost/x", "http://[::1",
                "https://exa mple.com/x", "https://-bad.com/", "https://a..com/",
                "mailto:someone@fda.gov", "javascript:alert(1)",
                "http://999.999.999.999/", "http://a.com:99999/", "http://a.com:abc/",
                "http://" + "a" * 300 + ".com/", "http://" + "a" * 64 + ".com/"):
        assert parse_host(url) is None, url
    assert parse_host("https://ｆｄａ.ｇｏｖ/x").host == "fda.gov"  # full-width letters
    assert parse_host("fda.gov:8080/x").host == "fda.gov"  # a port, not a scheme
    assert parse_host("http://34.80.245.248/a").host == "34.80.245.248"  # an IPv4 address
    # names in other scripts and with inner hyphens are host names
    assert parse_host("https://例子.中国/x").host == "例子.中国"
    assert parse_host("https://उदाहरण.भारत/x").host == "उदाहरण.भारत"  # vowel signs are marks
    assert parse_host("https://ตัวอย่าง.ไทย/").host == "ตัวอย่าง.ไทย"
    assert parse_host("https://xn--fiqs8s.xn--fiqz9s/").host == "xn--fiqs8s.xn--fiqz9s"
    assert parse_host("https://stem-cell.clinic.co.uk").host == "stem-cell.clinic.co.uk"
    assert host_of("HTTPS://WWW.Example.COM:8080/a?b") == "example.com"
    names = host_feature_names()
    assert host_features(None, names) == [0.0] * len(names)
    assert sum(host_features(parse_host("https://www.fda.gov/x"), names)) >= 1


TEXT = (
    "Beware of clinics that claim their stem cell infusions are 100% safe and cure "
    "arthritis, the agency said."
)
AD = "Our stem cell infusion is 100% safe and cures arthritis. Book your consultation today!"


def test_without_a_url_the_checker_reads_the_text_alone():
    for text in (TEXT, AD):
        plain = check_claim(text).to_dict()
        assert check_claim(text, url=None).to_dict() == plain
        assert check_claim(text, url="not a url").to_dict() == plain
        assert plain["url_host"] is None


def test_an_authoritative_publisher_is_named_in_the_input_language():
    r = check_claim(AD, url="https://www.fda.gov/consumers/x")
    assert r.host == "fda.gov" and r.to_dict()["url_host"] == "fda.gov"
    assert r.flagged and "published by a government site" in r.explanation
    zh = check_claim("本院干细胞回输绝对安全，包治百病！", url="https://www.nhc.gov.cn/x")
    assert "政府网站" in zh.explanation and "government" not in zh.explanation
    # a clinic's address is not named as an authority
    assert "published by" not in check_claim(AD, url="https://stemcellclinic.com/").explanation


def test_cli_url_option(tmp_path):
    from nksim.cli import cli as main

    runner = CliRunner()
    res = runner.invoke(
        main, ["check-claim", "--json", "--no-landscape", "--url", "https://www.fda.gov/x", AD]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["url_host"] == "fda.gov"
    bad = runner.invoke(main, ["check-claim", "--no-landscape", "--url", "nonsense", AD])
    assert bad.exit_code == 2
    assert bad.output.strip().startswith("nksim: error: url:")
    assert "--url" in runner.invoke(main, ["check-claim", "--help"]).output
