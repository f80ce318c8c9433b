"""The claim checker on evasive, hostile and huge input, and its measured quality on the
frozen test split of the real-text corpus (docs/evidence.md)."""

from __future__ import annotations

import math
import re

import pytest

from nksim.evidence import check_claim, evaluate_corpus, normalise


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("包 治 百 病", "cure_all"),  # spaces inside a Chinese word
        ("包\u3000治\u3000百\u3000病", "cure_all"),  # ideographic spaces
        ("绝\u200b对\u200d安\u200c全", "absolute_safety"),  # zero-width characters
        ("绝.对.安.全", "absolute_safety"),  # punctuation inside the word
        ("絕對安全，一針見效", "absolute_safety"),  # traditional characters
        ("Our NK cells сurе аll diseases", "cure_all"),  # Cyrillic look-alikes
        ("Our NK cells cure αll diseases", "cure_all"),  # Greek look-alike
        ("Our stem cells c u r e  a l l  diseases", "cure_all"),  # letter spacing
        ("Our NK infusion is 100% r1sk-fr33", "absolute_safety"),  # leetspeak
        ("Our NK infusion is c\u0301ompletely safe", "absolute_safety"),  # combining accent
        ("NK xibao hui shu, bao zhi bai bing", "cure_all"),  # pinyin
        ("NK细胞回输 jué duì ān quán", "absolute_safety"),  # pinyin with tone marks
        ("Our NK cells cu\u200fre all diseases", "cure_all"),  # right-to-left mark
        ("Our NK cells cu\u2066re all\u2069 diseases", "cure_all"),  # bidi isolates
        ("Our NK cells cu\u2062re all diseases", "cure_all"),  # invisible operator
        ("Our NK cells cu\u3164re all diseases", "cure_all"),  # Hangul filler
        ("Our NK cells cu\ufe0fre all diseases", "cure_all"),  # variation selector
        ("Our NK cells cu\U000e0061re all diseases", "cure_all"),  # tag character
        ("Our NK infusion is completely\u2728safe", "absolute_safety"),  # emoji: a space
        ("Our NK infusion is 100% safe\u2705guaranteed", "absolute_safety"),
        ("Our NK infusion is completely rısk-free", "absolute_safety"),  # dotless i
        ("包\u200f治百病，绝对\u200e安全", "absolute_safety"),  # direction marks in Chinese
        ("Our NK infusion is given without" + " " * 600 + "side effects.",
         "absolute_safety"),  # padding beyond what the prefilter reads
        ("Our NK cells cure" + "\u3000" * 900 + "all diseases", "cure_all"),
        # typography's hyphens and dashes (found by a review: they passed unflagged)
        ("Our NK cell infusion is risk\u2011free", "absolute_safety"),  # non-breaking
        ("Our NK cell infusion is risk\u2010free", "absolute_safety"),  # hyphen
        ("Our NK cell infusion is risk\u2212free", "absolute_safety"),  # minus sign
        # punctuation cutting a Chinese word into characters (found by a review)
        ("本院NK细胞回输，包，治，百，病", "cure_all"),
        ("本院NK细胞回输，包、治、百、病", "cure_all"),
        ("本院NK细胞回输包【治】百病", "cure_all"),
        ("本院NK细胞回输，包“治”百病", "cure_all"),
        ("本院NK细胞回输，绝（对）安（全）", "absolute_safety"),
    ],
)
def test_evasions_are_normalised_and_spans_are_original(text, rule):
    result = check_claim(text, learned=False)
    flag = next((f for f in result.flags if f.rule == rule), None)
    assert flag is not None, (text, [f.rule for f in result.flags])
    assert text[flag.start : flag.end].strip() == flag.span  # the span is in the original text
    assert flag.span  # and not empty


def test_every_pattern_compiled_when_first_used_compiles_as_recorded():
    """Rule patterns and the alternatives of the context word lists are compiled when
    first used; each must compile, with the flags recorded for it before (the prefilter's
    plans are keyed by them)."""
    import re

    from nksim.evidence._claims import _searched_whole
    from nksim.evidence._rules import FLAGS, LazyPattern, claim_rules

    lazy = [rx for rx in _searched_whole() if isinstance(rx, LazyPattern)]
    assert {rx for rule in claim_rules().rules for rx in rule.patterns} < set(lazy)
    for rx in lazy:
        assert rx.compiled.flags == rx.flags == re.compile(rx.pattern, FLAGS).flags


def test_normalised_offsets_map_back():
    n = normalise("ＮＫ 細胞 包\u200b治 百 病")
    i = n.text.index("包治百病")
    s, e = n.original_span(i, i + 4)
    assert n.original[s:e] == "包\u200b治 百 病"


def test_offset_map_equals_per_character_spans():
    """The map back to the original keeps each pass's edits; followed back it must give,
    for every character, the spans a per-character composition of the same edits gives
    (kept characters map to themselves, a replacement's to all it replaces)."""
    import random

    rng = random.Random(7)
    pieces = ["包\u200b治 百 病", "ｃｕｒｅｓ", "c u r e s", "cur3s", "cúré", "bao zhi bai bing",
              "wanneng", "  " * 9, "\u3000", "NK сеlls", "。", "a", " ", "細胞", "\u0301"]
    for _ in range(30):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        norm = normalise(text)
        starts, ends = list(range(len(text))), list(range(1, len(text) + 1))
        for edits in norm.passes:  # the plain composition, one character at a time
            new_s, new_e, pos = [], [], 0
            for a, b, n in zip(edits.a.tolist(), edits.b.tolist(), edits.length.tolist(),
                               strict=True):
                new_s += starts[pos:a] + [starts[a]] * n
                new_e += ends[pos:a] + [ends[b - 1]] * n
                pos = b
            starts, ends = new_s + starts[pos:], new_e + ends[pos:]
        assert len(starts) == len(norm.text)
        for i in range(len(norm.text)):
            assert norm.original_span(i, i + 1) == (starts[i], ends[i])
            j = rng.randint(i + 1, len(norm.text))
            assert norm.original_span(i, j) == (starts[i], ends[j - 1])
            assert norm.original_span(i, i) == (starts[i], starts[i])
        assert norm.original_span(len(norm.text), len(norm.text)) == (len(text), len(text))


def test_shipped_character_map_is_the_character_map():
    """The normaliser translates with a shipped list of the characters its map changes (a
    map filled one character at a time costs 1.5 s on 1 MB of different characters); the
    list is what the map gives for every code point of this Python's Unicode."""
    import gzip
    import json
    import unicodedata

    from nksim.evidence import _normalise as n

    with gzip.open(n._CHANGED_FILE, "rt", encoding="utf-8") as fh:
        stored = json.load(fh)
    assert stored["unicode"] == unicodedata.unidata_version
    assert {int(k): v for k, v in stored["changed"].items()} == n._changed_chars()
    table = n._char_table()
    assert all(len(v) == 1 for v in table.values())  # one to one: offsets hold
    for text in ("ＮＫ細胞 сurеs 😀 café \u3000 ǎ", "".join(map(chr, range(0x20, 0x3000, 7)))):
        assert text.translate(table) == text.translate(n._CharMap())


def test_normaliser_scans_equal_their_plain_forms():
    """The normaliser's scans open with a character class (re skips to it quickly), and
    its pinyin words are a trie; on random texts of the characters they read, they find
    what the plain forms, written here as the module documents them, find."""
    import itertools
    import random

    from nksim.evidence import _normalise as n

    cjk, noise, zw = n._CJK, n._CJK_NOISE, n._ZERO_WIDTH
    delete = re.compile(rf"(?<=[{cjk}])[{noise}]+(?=[{cjk}])|[{zw}]"
                        r"|[\u0300-\u036f\u1ab0-\u1aff\u20d0-\u20ff]")
    spaced = re.compile(r"(?<![A-Za-z])(?:[A-Za-z][ .\-_*·]){2,}[A-Za-z](?![A-Za-z])")
    leet = re.compile(r"(?<![\w@$])[a-z](?=[a-z0-9@$]*[0134578@$])[a-z0-9@$]{2,}(?![\w@$])")
    cut = set(n._CJK_CUT.replace("\\", ""))

    def cut_runs(text: str) -> set[int]:
        """Punctuation runs (1-3 characters) in chains of Chinese characters whose middle
        ones stand alone, two runs or more, found left to right without overlap."""
        is_cjk = [bool(re.match(f"[{cjk}]", c)) for c in text]
        out, i = set(), 0
        while i < len(text):
            if not is_cjk[i]:
                i += 1
                continue
            runs, j, end = [], i + 1, None
            while True:
                k = j
                while k < len(text) and text[k] in cut and k - j < 3:
                    k += 1
                if k == j or k >= len(text) or not is_cjk[k]:
                    break
                runs.append((j, k))
                if k + 1 < len(text) and is_cjk[k + 1]:  # the chain's last character
                    end = k
                    break
                end, j = k, k + 1
            if end is not None and len(runs) >= 2:
                out.update(x for a, b in runs for x in range(a, b))
                i = end + 1
            else:
                i += 1
        return out

    rng = random.Random(3)
    alphabet = "包治百病 \u3000\u200b\u200d\u0301·*.-_aBcxyz013@$，。、【】!\n\t"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        text = text.translate(n._char_table())  # the deletions read the mapped text
        deleted = {i for m in delete.finditer(text) for i in range(*m.span())}
        deleted |= cut_runs(text)
        edits = n._deletions(text)
        assert {i for a, b, _ in edits for i in range(a, b)} == deleted, text
        assert all(x[1] <= y[0] for x, y in itertools.pairwise(edits))  # sorted, apart
        assert [m.span() for m in n._LETTER_SPACED.finditer(text)] == \
            [m.span() for m in spaced.finditer(text)], text
        assert [m.span() for m in n._LEET_WORD.finditer(text)] == \
            [m.span() for m in leet.finditer(text)], text
        if leet.search(text):  # the quick look for a hint of leetspeak finds one
            assert n._LEET_HINT.search(text), text
    for _ in range(2000):  # texts dense in cut words
        text = "".join(rng.choice("包治百病，、【】!“a ") for _ in range(rng.randint(1, 30)))
        text = text.translate(n._char_table())
        deleted = {i for m in delete.finditer(text) for i in range(*m.span())} | cut_runs(text)
        assert {i for a, b, _ in n._deletions(text) for i in range(a, b)} == deleted, text
    # pinyin words: a trie of the syllables and joined phrases, against the plain list
    words = sorted(n._SYLLABLES | set(n._PINYIN_JOINED), key=len, reverse=True)
    pinyin = re.compile("(?:" + "|".join(words) + r")(?![a-z])")
    letters = "".join(sorted(set("".join(words)))) + " -"
    for _ in range(3000):
        text = " ".join(rng.choice(words)[: rng.randint(1, 9)] + "".join(
            rng.choice(letters) for _ in range(rng.randint(0, 3))) for _ in range(8))
        assert [m.span() for m in n._PINYIN_WORD.finditer(text)] == \
            [m.span() for m in pinyin.finditer(text)], text


@pytest.mark.parametrize(
    "text",
    [
        "国家卫健委提醒：美容院、养生馆等非医疗机构不得开展干细胞治疗。",  # a ban naming the venue
        "This product is non-FDA approved and not a cure.",
        "该疗法未获批准，不是万能的，更不是“零风险”。",
        "Some clinics claim their stem cells are 100% safe; regulators call this a red flag.",
    ],
)
def test_regulators_negations_and_reports_are_not_claims(text):
    assert check_claim(text).verdict == "no_red_flags", check_claim(text).flags


def test_explanations_fit_the_subject_and_the_language():
    car_t = check_claim("Our CAR-T cells are 100% safe and cure all cancers.")
    assert "CAR-T products are approved, but only for specific blood cancers" in car_t.explanation
    assert "NK-cell" not in car_t.explanation
    stem = check_claim("Our stem cell infusion is 100% safe and reverses aging.")
    assert "stem-cell" in stem.explanation and "NK-cell" not in stem.explanation
    # an English verdict on a text not about China cites no Chinese law
    en = check_claim("We publish an effective rate of 96% for our stem cell treatment.")
    assert all("Advertising Law" not in f.source for f in en.flags), en.flags
    # a Chinese verdict is Chinese throughout: title, reason, source, advice
    zh = check_claim("干细胞回输，有效率高达98%，绝对安全！")
    assert zh.flags
    for f in zh.flags:
        assert not any(c.isascii() and c.isalpha() for c in f.title), f.title
        assert "广告法" in f.source or "卫生健康委员会" in f.source or "学会" in f.source, f.source
        assert "press conference" not in f.source and "Advertising Law" not in f.source
    assert "建议" in zh.explanation and "What to do" not in zh.explanation
    # ... and so are the JSON answer's reasons for matches not flagged (they were English)
    told = check_claim("国家卫健委提醒：一些机构宣称干细胞包治百病。本院NK细胞回输，并非绝对安全。")
    whys = [s["why"] for s in told.to_dict()["suppressed"]]
    assert whys == ["报道或警示（句中有“提醒”）", "被否定（前有“并非”）"], whys


def test_one_megabyte_of_repeated_red_flags_gives_bounded_output():
    text = ("Our NK cell infusion cures all diseases. 100% safe, no side effects! " * 16000)[
        :1_000_000
    ]
    result = check_claim(text)
    assert result.verdict == "likely_scam"
    assert len(result.flags) <= 20  # one flag per rule, with a count
    assert len({f.rule for f in result.flags}) == len(result.flags)
    cure = next(f for f in result.flags if f.rule == "cure_all")
    assert cure.count > 10_000  # every repetition counted, reported once
    assert f"(first of {cure.count} matches)" in result.explanation
    assert len(result.suppressed) <= 40
    assert len(result.explanation) < 5000
    assert result.explanation.count("Cure-all claim") == 1


def test_one_megabyte_of_chinese_and_empty_texts():
    text = ("细胞研究进展综述，临床试验仍在进行。" * 60000)[:1_000_000]
    assert check_claim(text).verdict == "no_red_flags"
    for empty in ("", "   \n\t"):
        result = check_claim(empty)
        assert result.verdict == "no_red_flags" and result.probability is None


# ------------------------------------------------------------ measured on the frozen test splits
# Chinese: the Chinese texts of the first frozen test split ("test"). English: the English
# texts of that split were measured three times (plus once by accident) and retired to
# dev; the fresh split "test2" was measured once (0.65 / 0.43 / 0.79) and retired to
# train/dev after a third fresh split, "test3", had been collected and frozen (commit
# 9f222cd) before any further change. test3 and the Chinese test texts are measured once,
# at the end of that work, and the measured values become the floors here (docs/evidence.md).
# The goal was >= 0.9 for each figure; the floors are the honestly measured values (rounded
# down), kept as guards against regressions, NOT reached by tuning on a test split.
FLOORS = {
    # set at measurement 5 (9/10, 9/10, 27/28); measurements 6 and 7 gave the same
    ("test", "zh"): {"precision": 0.90, "recall": 0.90, "specificity": 0.96},
    # test3 (measurement 5: 51/77, 51/72, 68/94) and test4 (measurement 6: 48/73, 48/76,
    # 87/112) were each retired to train/dev after their single measurement. test5,
    # frozen in commit e3a2683, measured once (measurement 7, commit 11d0d00): 45/80,
    # 45/77, 77/112 (text only); the floors are those values rounded down
    ("test5", "en"): {"precision": 0.56, "recall": 0.58, "specificity": 0.68},
}


@pytest.mark.parametrize(("split", "lang"), sorted(FLOORS))
def test_quality_on_frozen_test_split(split, lang):
    ev = evaluate_corpus(split, lang)
    for name, floor in FLOORS[(split, lang)].items():
        value = getattr(ev, name)
        assert not math.isnan(value) and value >= floor, ev.to_dict()


def test_cli_answers_empty_binary_and_huge_input_clearly(tmp_path):
    from click.testing import CliRunner

    from nksim.cli import cli as main

    runner = CliRunner()
    empty = runner.invoke(main, ["check-claim", "   "])
    assert empty.exit_code == 2 and "the claim is empty" in empty.output
    binary = tmp_path / "x.bin"
    binary.write_bytes(bytes(range(256)) * 40)
    res = runner.invoke(main, ["check-claim", "--file", str(binary)])
    assert res.exit_code == 2 and "not UTF-8 text" in res.output
    nul = tmp_path / "nul.txt"
    nul.write_text("\x00\x01\x02" * 1000, encoding="utf-8")
    res = runner.invoke(main, ["check-claim", "--file", str(nul)])
    assert res.exit_code == 2 and "binary data" in res.output
    big = tmp_path / "big.txt"
    big.write_text("本院NK细胞回输，包治百病，绝对安全！" * 50000, encoding="utf-8")
    res = runner.invoke(main, ["check-claim", "--file", str(big)])
    assert res.exit_code == 0 and res.output.startswith("结论：很可能是骗局")
    assert len(res.output.splitlines()) < 40  # repeated matches summarised


@pytest.mark.parametrize(
    ("text", "rule"),
    [  # the kinds of misses named in issue 14
        (
            "NK cell infusion: the anti-aging breakthrough that will restore vitality.",
            "anti_ageing",
        ),
        ("NK细胞回输，延缓衰老，恢复活力，细胞年轻化", "anti_ageing"),
        ("Our NK cell infusions led to improvement in 85% of cases.", "efficacy_rate"),
        ("干细胞治疗好转率达92%", "efficacy_rate"),
        ("我妈妈打了三次NK细胞，现在精神特别好，想了解的私信我", "testimonial"),
        ("We can arrange your NK cell treatment in Japan at our partner clinics.", "trip_abroad"),
        ("Our stem cells cannot harm you in any way.", "absolute_safety"),
    ],
)
def test_real_wordings_named_in_the_issue(text, rule):
    assert rule in {f.rule for f in check_claim(text, learned=False).flags}


@pytest.mark.parametrize(
    "text",
    [  # false alarms named in issue 14
        "Some diseases have no cure; stem cell research may one day help.",
        "The product is non-FDA approved.",
        'Patients told reporters they were thrilled: "I feel 20 years younger," one said.',
    ],
)
def test_false_alarms_named_in_the_issue(text):
    assert check_claim(text).verdict == "no_red_flags"


def test_a_venue_word_alone_is_not_an_offer():
    # "SPa" in random characters, or a spa named far from any cell product, is not a
    # red flag; a venue next to a cell-therapy offer still is
    alone = "Relax at our SPa. " + "Lorem ipsum dolor sit amet. " * 6 + "细胞"
    assert "non_medical_venue" not in {f.rule for f in check_claim(alone, learned=False).flags}
    for offer in ("Stem cell shots at our wellness center.", "NK infusions at our med spa"):
        assert "non_medical_venue" in {f.rule for f in check_claim(offer, learned=False).flags}


def test_one_megabyte_of_random_characters_has_no_red_flags():
    import random
    import string

    rng = random.Random(14)  # the benchmark's random workload (benchmarks/bench_claims.py)
    text = "".join(rng.choice(string.printable + "细胞治疗安全") for _ in range(1_000_000))
    assert check_claim(text).verdict == "no_red_flags"


@pytest.mark.parametrize(
    "text",
    [  # context handling added with the test2 work, each from a train/dev error
        "It is impossible to say with certainty that revitalization is really effective "
        "and absolutely safe.",  # doubt earlier in the sentence (en-062)
        "Only certain stem cell therapies, like those for blood disorders, are FDA-approved.",
        "A physician settled charges by the Federal Trade Commission that “amniotic stem "
        "cell therapy” can treat Parkinson’s disease, autism and multiple sclerosis.",
        "Claims range from skin rejuvenation to hair restoration. Here is what patients "
        "should understand before spending $1,000–$3,000 per session on exosomes.",
        "To study safety, we analyzed 1011 patients given stem cells. At follow-up, 90.6% "
        "patients showed overall improvement.",  # an abstract's result after its method
        "Stem cell therapies are performed in treatment centers that resemble spas.",
        "It was all about the skin-rejuvenating benefit of stem cells. While it seemed "
        "promising, there was no data that proved the facelift did more than fat injections.",
        "Hand grip strength as a measure of efficacy for anti-aging effects of stem cells.",
    ],
)
def test_doubt_approved_uses_legal_news_prices_and_abstracts_are_not_claims(text):
    assert check_claim(text, learned=False).verdict == "no_red_flags", check_claim(text).flags


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("About a week after stem cells his therapist was extremely excited.", "testimonial"),
        ("Our stem cells repair damaged tissue and restore movement.", "cure_assertion"),
        ("Exosomes improve skin texture and reduce wrinkles.", "anti_ageing"),
        ("Find other countries where you can get stem cell treatments.", "trip_abroad"),
        ("After stem cell treatment, our patients report a number of improvements.",
         "testimonial"),
        ("Our center has achieved improvements in 78% of cases with stem cells.",
         "efficacy_rate"),
        ("It is a stem cell procedure cleared by the FDA.", "false_approval"),
        ("This stem cell process can work for many conditions, including Lyme disease.",
         "cure_all"),
        ("Turkey has emerged as a destination for stem cell treatments.", "trip_abroad"),
        ("Exosome therapy is emerging as a revolutionary treatment.", "hype_terms"),
        ("Enrollment in our stem cell program is open and cost has been minimized.",
         "fee_unapproved"),
    ],
)
def test_patient_stories_repair_promises_skin_and_destinations(text, rule):
    assert rule in {f.rule for f in check_claim(text, learned=False).flags}


def test_alternative_by_alternative_search_equals_one_search():
    # the whole-text lookups (cue, selling voice, cell context...) run one top-level
    # alternative at a time, for speed; the answer must be that of the whole pattern
    from nksim.evidence._claims import _alternatives, _found_anywhere
    from nksim.evidence._rules import claim_rules

    samples = [
        "an ad for NK cells", "We offer stem cells for $5,000 per session.", "骗局！本院",
        "The site states that [a|b] (c) cures", "you will love it", "nothing here at all",
        "beware of imitations", "NK细胞回输，限时优惠", "exosome drip", "Federal Trade Commission",
    ]
    for name, rx in claim_rules().context.items():
        assert "".join(f"|{a.pattern}" for a in _alternatives(rx))[1:] == rx.pattern, name
        for text in samples:
            found = _found_anywhere(rx, text)
            assert found == bool(rx.search(text)), (name, text)


def test_first_character_guards_keep_every_match():
    """Long texts are scanned with a look-ahead of each rule pattern's possible first
    characters (speed); every guarded pattern must find exactly the matches of the pattern
    without it, on the rules' own examples and counterexamples, corpus texts (train and
    dev) and upper-cased copies."""
    from nksim.evidence._corpus import load_corpus
    from nksim.evidence._prefilter import first_char_guard
    from nksim.evidence._rules import claim_rules

    rules = claim_rules().rules
    texts = [t.text for t in (load_corpus("train") + load_corpus("dev"))[::4]]
    texts += [x for r in rules for x in (*r.examples, *r.counterexamples)]
    texts += [t.upper() for t in texts[:50]] + ["ſtem ſells", "K-cells", "İnfusion"]
    guarded = 0
    for rule in rules:
        for plain in rule.patterns:
            rx = first_char_guard(plain)
            guarded += rx is not plain
            for text in texts:
                assert [m.span() for m in rx.finditer(text)] == \
                    [m.span() for m in plain.finditer(text)], (rule.id, rx.pattern, text[:80])
    assert guarded > 100  # most patterns have a short list of first characters


def test_prefiltered_search_finds_every_match_on_long_texts():
    """The checker runs each pattern only where a match can lie: near the literals one of
    which every match holds, as far around them as the pattern's parse tree allows on
    normalised text (white-space runs of at most MAX_SPACE_RUN characters). On long texts
    whose literals are everywhere (a "keyword salad" of the prefilter's own literals, with
    single spaces and with the longest white-space runs left by the normaliser), on the
    train and dev texts joined, in both cases, and on padded texts, plain and guarded, it
    must find exactly the matches of a search of the whole text."""
    import random

    from nksim.evidence._claims import _searched_whole, _whole_text_literals
    from nksim.evidence._corpus import load_corpus
    from nksim.evidence._normalise import MAX_SPACE_RUN
    from nksim.evidence._prefilter import (
        PREFILTER_FROM,
        LiteralIndex,
        candidate_starts,
        finditer,
        first_char_guard,
        plan,
    )
    from nksim.evidence._rules import claim_rules

    rules = claim_rules().rules
    # every pattern searched over whole texts: the rules', the context word lists and their
    # alternatives, the subjects, the treatment verbs
    patterns = [(f"pattern {i}", rx) for i, rx in enumerate(_searched_whole())]
    words = sorted(_whole_text_literals())  # the literals the checker finds in one pass
    rng = random.Random(5)
    salad = "".join(rng.choice(words) + rng.choice(" ,.!") + " " for _ in range(12_000))
    spaced = "".join(rng.choice(words) + rng.choice([" ", "\n", "\t", "\u3000"])
                     * rng.randint(1, MAX_SPACE_RUN) for _ in range(12_000))
    corpus = " ".join(t.text for t in (load_corpus("train") + load_corpus("dev"))[::2])
    padded = [  # a match 300 characters long; look-aheads that read 500 characters on
        "This infusion is given without" + " " * 300 + "side effects.",
        "In our trial, no side effects" + " " * 500 + "were observed.",
        "It cures cancer" + "\n" * 500 + "cells.",
        "Our NK cells cure" + "\u3000" * 900 + "all diseases",
    ]
    dense = "cures all cancers, no side effects. 绝对安全，包治百病" * 500  # literals < STEP apart
    # the rules' own examples with every space widened to the longest run left: matches
    # as long as the bounds allow
    widened = " ".join(x for r in rules for x in r.examples * 2).replace(" ", " " * MAX_SPACE_RUN)
    planned = tried = 0
    for text in (salad, spaced, dense, widened, corpus, corpus.upper(),
                 *((normalise(p).text + ". ") * 400 for p in padded)):
        assert max(map(len, re.findall(r"\s+", text))) <= MAX_SPACE_RUN
        assert len(text) >= PREFILTER_FROM  # shorter texts are searched whole
        # literals found in one pass (Aho-Corasick), or each when first asked for
        for index in (LiteralIndex(text, _whole_text_literals()), LiteralIndex(text)):
            for rule_id, plain in patterns:
                needed = plan(plain.pattern, plain.flags)
                planned += needed is not None
                # tried where a match can start, rather than scanned
                tried += needed is not None and candidate_starts(index, needed) is not None
                for rx in (plain, first_char_guard(plain)):
                    assert [m.span() for m in finditer(rx, text, index)] == \
                        [m.span() for m in rx.finditer(text)], (rule_id, rx.pattern[:80])
        # a short text is searched whole, but not at all when the index shows that none
        # of the pattern's literals occurs in it (the pattern is then never compiled)
        for short in (text[:300], text[4000:4800], text[-2000:]):
            index = LiteralIndex(short)
            for rule_id, rx in patterns:
                assert [m.span() for m in finditer(rx, short, index)] == \
                    [m.span() for m in rx.finditer(short)], (rule_id, rx.pattern[:80])
    assert planned > 150 * 20  # nearly every pattern is prefiltered
    assert 500 < tried < planned  # both ways are exercised


@pytest.mark.parametrize(("pattern", "flags", "text"), [
    # an unbounded body repeated exactly once (0 * inf must not become NaN)
    (r"(?:\w*foox){1}\s{0,5}[a-z]{0,30}!", 0, "foox     " + "a" * 30 + "!"),
    # a look-ahead inside a look-behind reads past the position
    (r"ab(?<=b(?=c{0,40}d))", 0, "ab" + "c" * 40 + "d"),
    # characters re.IGNORECASE takes as equal beyond str.lower: µ/μ, ſ/s, İ/i, ς/σ
    (r"\b\d+\s*µg\b", re.IGNORECASE, "inject 10 µg daily"),
    ("xſt", re.IGNORECASE, "the xst and XST"),
    ("xİy", re.IGNORECASE, "xiy and XIY"),
    ("xıy", re.IGNORECASE, "xiy, XIY and İstanbul xiy"),
    ("σφλ", re.IGNORECASE, "ςφλ and ΣΦΛ"),
])
def test_prefilter_edge_cases_found_in_review(pattern, flags, text):
    """Cases a review found where the prefiltered search missed a match (fixed)."""
    from nksim.evidence._prefilter import (
        PREFILTER_FROM,
        LiteralIndex,
        finditer,
        required_literals,
    )

    rx = re.compile(pattern, flags)
    text = normalise(text * (PREFILTER_FROM // len(text) + 1)).text  # long: prefiltered
    assert required_literals(pattern, flags) is not None
    expected = [m.span() for m in rx.finditer(text)]
    assert expected
    for index in (LiteralIndex(text, required_literals(pattern, flags)), LiteralIndex(text)):
        assert [m.span() for m in finditer(rx, text, index)] == expected


def test_prefilter_bounds_read_the_parse_tree():
    """How far a required literal lies from a match's start, and how far a match reads
    past it, from the pattern's parse tree (checked by hand)."""
    from nksim.evidence._prefilter import MARGIN, plan

    def bounds(pattern, flags=re.IGNORECASE):
        return {(tuple(sorted(a.literals)), a.before, a.after)
                for a in plan(pattern, flags).parts}

    assert bounds(r"\bcures?\s+all\b") == {(("cure",), 0, 4 + 1 + 10 + 3 + 1)}
    assert bounds(r"(?:very\s+)?safe(?!\s+enough)") == {(("safe",), 4 + 10, 4 + 10 + 6)}
    assert bounds(r"(?<=\d)%\s*of\s+patients", 0) == {(("patients",), 1 + 10 + 2 + 10, 8)}
    # a literal close to a match's start (at most ANCHOR = 16 characters after it) is
    # preferred to a longer one further on, unless it is shorter than three letters ("of"
    # above); among the close ones, the longest
    assert bounds(r"\bnot\s+too\s+many\s+side\s+effects") == {
        (("not",), 0, 3 + 10 + 3 + 10 + 4 + 10 + 4 + 10 + 7)}
    assert bounds(r"\bno\s+side\s+effects") == {(("side",), 2 + 10, 4 + 10 + 7)}
    assert bounds(r"\w+\s+(?:cure|heal)s") == {(("cure", "heal"), MARGIN, 5)}
    assert bounds(r"cure\s+\w+") == {(("cure",), 0, 2 * MARGIN)}  # no bound: the premise
    # an alternation keeps each alternative's own bounds
    assert bounds(r"\bsafe\b|\w+\s+cure|risk-free") == {
        (("safe",), 0, 4 + 1), (("cure",), MARGIN, 4), (("risk-free",), 0, 9)}
    # in a repeat, the first repetition holds the literal; the others are read after it
    assert bounds(r"x(?:\s+cure){1,3}\b") == {(("cure",), 1 + 10, 4 + 2 * (10 + 4) + 1)}
    assert plan(r"\w+", 0) is None


@pytest.mark.parametrize(("pattern", "flags", "guard"), [
    (r"\bmany|countless", re.IGNORECASE, "[cm]"),  # anchors are zero-width
    (r"(?<=x)ab|cd", 0, "[ac]"),  # so are look-behinds
    ("[a-c]z", 0, "[abc]"),
    ("(?i:a)b", 0, None),  # a scoped flag folds differently: no guard
    ("a?b", 0, None),  # an optional first item: no guard
    ("(a|)b", 0, None),  # an empty alternative: no guard
    (r"[^a]b", 0, None),  # a negated class
    (r"\w+cure", 0, None),  # a class too large to list
])
def test_first_character_guard_cases(pattern, flags, guard):
    from nksim.evidence._prefilter import first_char_guard

    rx = re.compile(pattern, flags)
    out = first_char_guard(rx)
    assert (out is rx) if guard is None else out.pattern == f"(?={guard})(?:{pattern})"


# ------------------------------------------------ after test3 was retired (docs/evidence.md)
@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("After his stem cell treatment at our clinic, her son could talk again.", "testimonial"),
        ("Most patients experience significant relief after our stem cell injections.",
         "cure_assertion"),
        ("Stem cells can help regenerate your damaged cartilage.", "cure_assertion"),
        ("Our team will welcome you upon arrival at the airport and take you to the clinic "
         "for your stem cell infusion.", "trip_abroad"),
        ("Our stem cell injections heal your knee without the need for surgery.",
         "comparison_with_treatment"),
        ("With our NK cell infusion you need not worry about side effects.", "absolute_safety"),
        ("Our NK cells have fewer side effects than chemotherapy.", "absolute_safety"),
        ("Our exosome facial will push back the hands of time.", "anti_ageing"),
        ("We offer stem cell therapy for cerebral palsy and spinal cord injury.",
         "unapproved_indication"),
        ("Exosomes are a game-changer for your skin: book your session today.", "hype_terms"),
    ],
)  # fmt: skip
def test_general_wordings_added_after_test3(text, rule):
    assert rule in [f.rule for f in check_claim(text, learned=False).flags]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        # "US" is the country, not a seller's "us": the quotation is a report
        ('"The doctor assured me that stem cells would repair my skin. He also guaranteed '
         'that there were no side effects. It cost US$5,000," my friend said.', "quoted"),
        # a trip in a research context is not an offer
        ("The study, conducted at a clinic in Tijuana, gave 30 patients with COPD their own "
         "stem cells.", "research"),
    ],
)  # fmt: skip
def test_reports_and_studies_after_test3(text, why):
    result = check_claim(text, learned=False)
    assert result.verdict == "no_red_flags", result.flags
    assert any(why in s.why for s in result.suppressed), result.suppressed
    # a seller's "us" still counts
    assert check_claim("Contact us for your stem cell infusion, 100% safe.").flagged


def test_a_repeated_text_is_not_flagged_for_what_no_copy_says():
    """Long repetitive texts are scanned once per distinct sentence; a match may not join
    two sentences that are not neighbours (it made a 'guarantee' of '100%. Cure')."""
    one = "Our attendance rate is 100%. Cure is not promised. "
    assert not any(f.severity == "high" for f in check_claim(one, learned=False).flags)
    many = check_claim(one * 500, learned=False)
    assert not any(f.severity == "high" for f in many.flags), [f.span for f in many.flags]
    zh = check_claim("患者满意度100%。治愈的病例请咨询医生。" * 1000, learned=False)
    assert not any(f.severity == "high" for f in zh.flags), [f.span for f in zh.flags]


def test_a_match_across_two_windows_of_a_compact_text_hides_nothing():
    """In a long repetitive text each distinct sentence window is scanned once, joined by
    newlines; a match joining two windows is dropped, and the window it ran into is
    searched alone for the match it overlapped."""
    from types import SimpleNamespace

    from nksim.evidence._claims import _Compact, _rule_matches
    from nksim.evidence._prefilter import LiteralIndex

    text = "xx a\nb c yy"  # windows "xx a" and "b c yy"
    index = LiteralIndex(text)
    compact = _Compact(text, index, starts=[0, 5], shift=[100, 200], mult=[3, 7])
    rule = SimpleNamespace(id="x", patterns=(re.compile(r"a\s+b|b\s+c"),))
    found = _rule_matches(rule, text, index, [], compact)
    assert found == [(205, 208, "", 7)]  # "b c" in the second window, 7 repetitions


_SEGMENT = """
import json, sys
from nksim.evidence._segment import _copy_path, jieba
jb = jieba()  # imported without pkg_resources: jieba opens its files by their path
imported = "pkg_resources" in sys.modules
import pkg_resources  # noqa: F401 - importable again afterwards
own = jb.Tokenizer()
own.initialize()  # jieba's own loading, into a second tokenizer
texts = ["本品绝不是万能的，也不仅仅用于抗衰老", "未经批准的干细胞治疗不得开展",
         "无论如何都没有副作用", "蚂蚁金服的员工喜欢吃螺蛳粉"]  # unknown words: the HMM
print(json.dumps({"same_dict": jb.dt.FREQ == own.FREQ and jb.dt.total == own.total,
                  "same_words": [jb.lcut(t) == own.lcut(t) for t in texts],
                  "copy": _copy_path(jb).is_file(), "pkg_resources": imported}))
"""


def test_jieba_dictionary_copy_gives_jiebas_dictionary(tmp_path):
    """nksim loads jieba's prefix dictionary from its own copy (0.2 s instead of 0.6-0.8 s):
    in a fresh process, without a copy (made then), with it, and with a damaged one (not
    used, made again), the dictionary and the words of sample texts are jieba's own."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, NKSIM_CACHE_DIR=str(tmp_path))

    def run() -> dict:
        p = subprocess.run([sys.executable, "-c", _SEGMENT], capture_output=True, text=True,
                           env=env, timeout=120, check=True)
        return json.loads(p.stdout.splitlines()[-1])

    expected = {"same_dict": True, "same_words": [True] * 4, "copy": True,
                "pkg_resources": False}
    assert run() == expected  # no copy yet: jieba's own loading, then the copy is written
    (copy,) = (tmp_path / "jieba").iterdir()
    assert copy.stat().st_size > 1_000_000
    assert run() == expected  # loaded from the copy
    copy.write_bytes(copy.read_bytes()[:5000])  # damaged
    assert run() == expected
    assert copy.stat().st_size > 1_000_000  # made again


_PRELOAD = """
import json
from nksim.evidence._claims import _whole_text_literals
from nksim.evidence._prefilter import _parsed
print(json.dumps({"literals": len(_whole_text_literals()),
                  "parsed": _parsed.cache_info().currsize}))
"""


def test_prefilter_plans_copied_to_the_cache_are_the_plans_worked_out(tmp_path):
    """The plans of the patterns the checker searches whole texts with are worked out by
    the first process and read back by the next ones from nksim's cache folder (no
    pattern parsed); the copy holds what working them out
    gives, and a damaged copy is ignored and made again."""
    import json
    import os
    import subprocess
    import sys

    from nksim.evidence import _prefilter as pf
    from nksim.evidence._claims import _searched_whole
    from nksim.evidence._rules import claim_rules

    env = dict(os.environ, NKSIM_CACHE_DIR=str(tmp_path))

    def run() -> dict:
        p = subprocess.run([sys.executable, "-c", _PRELOAD], capture_output=True, text=True,
                           env=env, timeout=120, check=True)
        return json.loads(p.stdout.splitlines()[-1])

    first = run()  # no copy: every pattern parsed, and the copy written
    (path,) = (tmp_path / "prefilter").iterdir()
    assert first["parsed"] > 150
    assert run() == {"literals": first["literals"], "parsed": 0}  # read from the copy

    def worked_out(pattern: str, flags: int) -> tuple:
        tree = re._parser.parse(pattern, flags)
        chars = pf._first_chars(list(tree.data)) if tree.getwidth()[0] > 0 else None
        first = None if chars is None else frozenset(chars)
        lowered = None if chars is None else frozenset(map(pf.lowered, chars))
        found = pf._make_plan(pattern, flags)
        return None if found is None else found._replace(first=lowered), first

    stored = pf._read_plans(path)
    keys = {(rx.pattern, rx.flags) for rx in _searched_whole()}
    assert {(rx.pattern, rx.flags) for rule in claim_rules().rules for rx in rule.patterns} < keys
    assert stored == {k: worked_out(*k) for k in keys}
    path.write_text("[[", encoding="utf-8")  # damaged
    assert run()["parsed"] > 150
    assert pf._read_plans(path) == stored


def _starts_with_digit_run(items) -> bool:
    """Whether a parsed pattern can start a match with an unbounded run of digits and is
    not kept by a look-behind from starting inside such a run (tried at every digit and
    reading the run to its end each time: quadratic on a long run)."""
    from re import _constants as c

    def digits(op, av) -> bool:
        if op is c.IN:
            return any((o is c.CATEGORY and v is c.CATEGORY_DIGIT)
                       or (o is c.RANGE and v[0] <= ord("9") and v[1] >= ord("0")) for o, v in av)
        return op is c.CATEGORY and av is c.CATEGORY_DIGIT

    def unbounded_digits(op, av) -> bool:
        return op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[1] == c.MAXREPEAT and \
            len(av[2].data) == 1 and digits(*av[2].data[0])

    items = list(items)
    while items and items[0][0] is c.AT:
        items.pop(0)
    if not items or (items[0][0] is c.ASSERT_NOT and items[0][1][0] == -1):
        return False  # guarded by a look-behind
    op, av = items[0]
    if op is c.SUBPATTERN:
        return _starts_with_digit_run(list(av[-1].data) + items[1:])
    if op is c.BRANCH:
        return any(_starts_with_digit_run(list(alt.data) + items[1:]) for alt in av[1])
    # \d+ or \d*, or a digit followed by an unbounded repeat of digits ([\d,.]*)
    return unbounded_digits(op, av) or (
        digits(op, av) and len(items) > 1 and unbounded_digits(*items[1]))


def test_no_pattern_starts_with_an_unguarded_digit_run():
    """A pattern that can start with an unbounded digit run (``\\d+大疾病``) is tried at
    every digit of a run and reads it to the end each time: 1 MB of "9" took 21 s. Every
    rule and context pattern that starts so carries a look-behind (``(?<!\\d)``)."""
    from re import _parser

    from nksim.evidence._rules import claim_rules

    rules = claim_rules()
    patterns = [rx for r in rules.rules for rx in r.patterns] + list(rules.context.values())
    found = [rx.pattern[:80] for rx in patterns
             if _starts_with_digit_run(_parser.parse(rx.pattern, rx.flags).data)]
    assert not found
    for bad in (r"\d+大疾病", r"\b(?:\d[\d,]*|many)\s+players", r"x|\d[\d,.]*\s*USD"):
        assert _starts_with_digit_run(_parser.parse(bad, re.I).data), bad
    for good in (r"(?<!\d)\d+大疾病", r"\d{1,3}%", r"up to \d+%"):
        assert not _starts_with_digit_run(_parser.parse(good, re.I).data), good


def test_a_claim_check_imports_only_what_it_needs():
    """``nksim.evidence`` imports its registry client, landscape, corpus and article
    modules when first used, so that a claim check does not wait for them; every name it
    exports still resolves."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nksim.evidence import check_claim\n"
        "check_claim('Our NK cells cure all diseases, 100% safe.')\n"
        "print(sorted(m for m in sys.modules if m == 'httpx' or m.startswith("
        "('nksim.evidence._landscape', 'nksim.evidence._article', 'nksim.evidence._store', "
        "'nksim.evidence._client'))))\n"
        "import nksim.evidence as ev\n"
        "print([n for n in ev.__all__ if getattr(ev, n, None) is None])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:2] == ["[]", "[]"], out


_UNWRITABLE = """
import json
from nksim.evidence import check_claim
from nksim.evidence._claims import _plans_at_hand
from nksim.evidence._prefilter import _parsed
short = check_claim("Our NK cells cure all diseases, 100% safe.")
parsed = _parsed.cache_info().currsize
long = check_claim("Our NK cells cure all diseases, 100% safe. " * 200)
print(json.dumps({"short": short.verdict, "long": long.verdict, "at_hand": _plans_at_hand(),
                  "parsed_for_short": parsed}))
"""


def test_a_cache_that_cannot_be_written_means_no_plans_for_short_texts(tmp_path):
    """Where nksim's cache folder cannot be written, a short text is searched with every
    pattern rather than working out ~320 prefilter plans in every process; the verdicts
    are the same."""
    import json
    import os
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = dict(os.environ, NKSIM_CACHE_DIR=str(blocker / "cache"))  # below a file
    p = subprocess.run([sys.executable, "-c", _UNWRITABLE], capture_output=True, text=True,
                       env=env, timeout=120, check=True)
    out = json.loads(p.stdout.splitlines()[-1])
    assert out == {"short": "likely_scam", "long": "likely_scam", "at_hand": False,
                   "parsed_for_short": 0}


def test_a_span_outside_the_normalised_text_is_an_error():
    n = normalise("c u r e s")
    assert n.original_span(0, len(n.text)) == (0, 9)
    assert n.original_span(len(n.text), len(n.text)) == (9, 9)
    for start, end in [(0, len(n.text) + 1), (-1, 2), (len(n.text) + 1, len(n.text) + 1)]:
        with pytest.raises(IndexError):
            n.original_span(start, end)


@pytest.mark.parametrize("text", ["12345.5% of patients reported relief",
                                  "1,234% of patients showed improvement",
                                  "1234.5%的患者", "12345.67%患者都已治愈"])
def test_a_treated_share_does_not_start_inside_a_number(text):
    """The treated-share patterns of ``efficacy_rate`` start a match only where a number
    starts (not after a digit, comma or decimal point of a longer one)."""
    from nksim.evidence._rules import claim_rules

    starts = [m.start() for rx in claim_rules().rule("efficacy_rate").patterns
              for m in rx.finditer(text)]
    assert all(s == 0 for s in starts), starts


@pytest.mark.parametrize("why", [
    "negated ('non-' before it)", "negated ('not' before it)", "doubted, not claimed ('x')",
    "forbidden, not offered ('y' after it)", "quoted, not claimed (inside quotation marks)",
    "quoted in a report ('said'), not claimed", "reported or warned against ('z' in the "
    "sentence)", "the text reports or warns against such claims and does not sell anything",
    "not a sales pitch (no we/our/you, price or booking anywhere in the text)",
    "asked, not claimed (a question)", "hedged ('may')", "research context ('study')",
    "no cell-therapy offer in or next to the sentence", "exception for this rule ('w')",
    "learned probability 0.12 is low"])
def test_every_reason_for_not_flagging_has_its_chinese_form(why):
    from nksim.evidence._claims import why_in

    zh = why_in(why, "zh")
    outside_quotes = re.sub(r"“[^”]*”", "", zh)
    assert not re.search(r"[A-Za-z]{2,}", outside_quotes.replace("non-", "")), zh
    assert why_in(why, "en") == why


def test_ordinary_chinese_punctuation_is_kept():
    from nksim.evidence._normalise import normalise

    for text in ("我们认为，这个方法，很好。", "心、肝两个器官", "他说：“好的。”"):
        assert normalise(text).text.replace(",", "，").replace(":", "：") == text


@pytest.mark.parametrize(("text", "rule"), [
    ("任何疗法都不是绝对安全的。" * 200 + "本院NK细胞回输绝对安全，欢迎预约。", "absolute_safety"),
    ("No drug is risk-free. " * 200 + "Our NK cell infusion is risk-free. Book your session now.",
     "absolute_safety"),
])
def test_padding_with_copies_of_a_denied_sentence_hides_no_claim(text, rule):
    # the first 200 matches of a rule were examined: 200 copies of a denial before the
    # claim left it unseen (found by a review)
    result = check_claim(text)
    flag = next((f for f in result.flags if f.rule == rule), None)
    assert flag is not None and flag.start > len(text) - 60, result.flags


@pytest.mark.parametrize(("text", "verdict"), [
    # sentence ends are not cut marks: "无！" does not negate the claim after it
    ("本院NK细胞回输，风险：无！绝对安全！", "likely_scam"),
    # nor are a field list's colons and semicolons: "无；副作用" is not "无副作用"
    ("NK细胞治疗随访记录。严重不良事件：无；副作用：发热2例、乏力1例。", "no_red_flags"),
    # an en dash still breaks a clause: "No hospital stay" does not negate what follows
    ("Book our NK cell therapy today. No hospital stay\u2013it is 100% safe.", "likely_scam"),
    # a copy of a sentence is decided again where its neighbours differ (the first copy
    # is doubted by the sentence after it, the second sits in a sales pitch)
    ("Our clinic offers NK cell therapy. NK cells cure cancer. There is no evidence that "
     "this works. Book your NK cell infusion today. NK cells cure cancer. Pay 5000 dollars.",
     "caution"),
])
def test_what_the_evasion_rules_must_not_change(text, verdict):
    # found by a review of the cut-word, dash and repeated-sentence rules
    assert check_claim(text).verdict == verdict
