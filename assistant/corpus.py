"""Load and validate the Markdown corpus; split documents into passages with stable ids.

`load_corpus` is strict (a file it cannot trust stops the build with file, line and problem);
`lint` adds the editorial checks a legal team relies on (pinpoints, canonical urls, length,
near-duplicates, nothing copied from the toolkit seed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from pathlib import Path

import yaml

from assistant.contracts import Passage
from rules.engine import MODEL_NAMES

REQUIRED_FIELDS = ("id", "title", "source_type", "source", "reference", "url", "as_of")
SOURCE_TYPES = ("toolkit", "legal", "case_study", "user")
FOLDER_TYPES = {"toolkit": "toolkit", "legal": "legal", "case_studies": "case_study"}
OVERRIDE_KEYS = ("reference", "url", "as_of", "models")
# Headings at these levels start a passage; the chunking version folds this in.
SPLIT_LEVELS = (1, 2, 3, 4)
CHUNKING = "heading-split-v1"

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_OVERRIDE_RE = re.compile(r"^(reference|url|as_of|models):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Problem:
    """One corpus defect, located precisely enough for an editor to fix it."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CorpusError(ValueError):
    """Raised when corpus files cannot be loaded; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def slugify(text: str) -> str:
    """Heading -> id slug: lower case, runs of non-alphanumerics become '-', trimmed."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9£€$%][\w'’.,£%-]*", text))


def _split_front_matter(text: str, path: str) -> tuple[dict, int, list[str]]:
    """Return (front matter, line number where the body starts, body lines)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CorpusError([Problem(path, 1, "missing YAML front matter (file must start with '---')")])
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise CorpusError([Problem(path, 1, "front matter is not closed by a '---' line")]) from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark else 2
        problem = getattr(exc, "problem", None) or str(exc)
        raise CorpusError([Problem(path, line, f"invalid YAML in front matter: {problem}")]) from None
    if not isinstance(meta, dict):
        raise CorpusError([Problem(path, 2, "front matter must be a mapping of field: value")])
    return meta, end + 2, lines[end + 1 :]


def _field_line(text: str, field: str) -> int:
    for number, line in enumerate(text.splitlines()[:60], start=1):
        if line.startswith(f"{field}:"):
            return number
    return 1


def _validate_meta(meta: dict, text: str, path: Path, expected_type: str | None) -> list[Problem]:
    problems = []
    where = str(path)
    for field in REQUIRED_FIELDS:
        value = meta.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem(where, 1, f"front matter field '{field}' is missing or empty"))
    doc_id = meta.get("id")
    if isinstance(doc_id, str) and doc_id:
        if not _ID_RE.match(doc_id):
            problems.append(Problem(where, _field_line(text, "id"), f"id '{doc_id}' must be lowercase letters, digits and single hyphens"))
        elif path.suffix == ".md" and path.stem != doc_id:
            problems.append(Problem(where, _field_line(text, "id"), f"id '{doc_id}' must equal the file name '{path.stem}'"))
    stype = meta.get("source_type")
    if stype is not None and stype not in SOURCE_TYPES:
        problems.append(Problem(where, _field_line(text, "source_type"), f"source_type '{stype}' is not one of {', '.join(SOURCE_TYPES)}"))
    elif expected_type and stype and stype != expected_type:
        problems.append(Problem(where, _field_line(text, "source_type"), f"source_type '{stype}' does not match its folder (expected '{expected_type}')"))
    as_of = meta.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        try:
            date.fromisoformat(str(as_of))
        except ValueError:
            problems.append(Problem(where, _field_line(text, "as_of"), f"as_of '{as_of}' is not an ISO date (YYYY-MM-DD)"))
    for key in ("models", "topics"):
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(Problem(where, _field_line(text, key), f"'{key}' must be a list of names"))
        elif key == "models":
            for model in value:
                if model not in MODEL_NAMES:
                    problems.append(Problem(where, _field_line(text, key), f"unknown model '{model}' (known: {', '.join(MODEL_NAMES)})"))
    return problems


def parse_document(text: str, path: Path, expected_type: str | None = None) -> list[Passage]:
    """Parse one Markdown document into passages; raise CorpusError naming file, line and problem."""
    where = str(path)
    meta, body_start, body = _split_front_matter(text, where)
    problems = _validate_meta(meta, text, path, expected_type)
    if problems:
        raise CorpusError(problems)
    if not any(line.strip() for line in body):
        raise CorpusError([Problem(where, body_start, "the document body is empty")])

    doc = {k: str(meta[k]).strip() for k in REQUIRED_FIELDS}
    models = tuple(meta.get("models") or ())
    topics = tuple(meta.get("topics") or ())

    sections: list[dict] = []
    current = {"path": (), "line": body_start, "lines": [], "overrides": {}, "slug": "summary"}
    stack: list[tuple[int, str]] = []
    in_overrides = False
    in_fence = False
    for offset, line in enumerate(body):
        number = body_start + offset
        if line.strip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING_RE.match(line)
        if heading and len(heading.group(1)) in SPLIT_LEVELS:
            sections.append(current)
            level, title = len(heading.group(1)), heading.group(2).strip()
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
            current = {"path": tuple(t for _, t in stack), "line": number, "lines": [], "overrides": {}, "slug": slugify(title)}
            in_overrides = True
            continue
        override = _OVERRIDE_RE.match(line) if in_overrides else None
        if override:
            current["overrides"][override.group(1)] = override.group(2).strip().strip("\"'")
            continue
        if line.strip():
            in_overrides = False
        current["lines"].append(line)
    sections.append(current)

    passages, seen = [], {}
    for section in sections:
        body_text = "\n".join(section["lines"]).strip()
        if not body_text:
            continue
        if not section["slug"]:
            problems.append(Problem(where, section["line"], "heading gives an empty id slug"))
            continue
        pid = f"{doc['id']}#{section['slug']}"
        if pid in seen:
            problems.append(Problem(where, section["line"], f"duplicate passage id '{pid}' (also at line {seen[pid]})"))
            continue
        seen[pid] = section["line"]
        fields = {**doc, **section["overrides"]}
        passage_models = models
        if "models" in section["overrides"]:
            passage_models = tuple(m.strip() for m in section["overrides"]["models"].strip("[]").split(",") if m.strip())
            unknown = [m for m in passage_models if m not in MODEL_NAMES]
            if unknown:
                problems.append(Problem(where, section["line"], f"unknown model {', '.join(repr(m) for m in unknown)} (known: {', '.join(MODEL_NAMES)})"))
                continue
        passages.append(
            Passage(
                id=pid,
                doc_id=doc["id"],
                title=doc["title"],
                heading_path=section["path"],
                text=body_text,
                source_type=doc["source_type"],
                source=doc["source"],
                reference=fields["reference"],
                url=fields["url"],
                as_of=str(fields["as_of"]),
                models=passage_models,
                topics=topics,
                path=where,
                line=section["line"],
            )
        )
    if problems:
        raise CorpusError(problems)
    if not passages:
        raise CorpusError([Problem(where, body_start, "no passage has any text")])
    return passages


def corpus_files(root: Path) -> list[Path]:
    """The Markdown files of a corpus folder, in a stable order."""
    return sorted(p for p in Path(root).rglob("*.md") if p.name.lower() != "readme.md")


def load_corpus(root: Path) -> list[Passage]:
    """Load every document under `root`; collect all problems across files before failing."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError([Problem(str(root), 0, "corpus folder does not exist")])
    passages, problems, first_seen = [], [], {}
    for path in corpus_files(root):
        folder = path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else None
        try:
            text = path.read_text(encoding="utf-8")
            doc_passages = parse_document(text, path, FOLDER_TYPES.get(folder or ""))
        except CorpusError as exc:
            problems.extend(exc.problems)
            continue
        except UnicodeDecodeError:
            problems.append(Problem(str(path), 1, "file is not valid UTF-8"))
            continue
        for passage in doc_passages:
            if passage.id in first_seen:
                problems.append(Problem(str(path), passage.line, f"duplicate id '{passage.id}' (also in {first_seen[passage.id]})"))
            else:
                first_seen[passage.id] = f"{passage.path}:{passage.line}"
                passages.append(passage)
    if problems:
        raise CorpusError(problems)
    return passages


# --- editorial lint -------------------------------------------------------------------------

MIN_WORDS, MAX_WORDS = 40, 300
NEAR_DUPLICATE_JACCARD = 0.5
SEED_COPY_WORDS = 10
MIRROR_HOSTS = ("wikipedia.org", "scribd.com", "github.com", "githubusercontent.com", "readkong.com",
                "bnnbreaking.com", "parallelparliament.co.uk", "legalize", "archive.org", "lexology.com/library/viewer")
_LEGAL_PINPOINT = re.compile(r"\b(ss?\.\s?\d|sections?\s+\d|regs?\.?\s?\d|regulations?\s+\d|sch\.|schedule|paras?\.?\s?\d|paragraphs?\s+\d|art\.\s?\d|articles?\s+\d|part\s+\d)", re.I)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _shingles(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def lint(passages: list[Passage], seed_texts: list[str] = ()) -> list[Problem]:
    """Editorial checks a legal reviewer relies on; returns problems (empty = clean)."""
    problems: list[Problem] = []
    for p in passages:
        where = (p.path, p.line)
        count = word_count(p.text)
        if not MIN_WORDS <= count <= MAX_WORDS:
            problems.append(Problem(*where, f"passage '{p.id}' has {count} words (allowed {MIN_WORDS}-{MAX_WORDS})"))
        if p.source_type == "legal" and not _LEGAL_PINPOINT.search(p.reference):
            problems.append(Problem(*where, f"legal passage '{p.id}' reference '{p.reference}' names no section, regulation, schedule, paragraph or article"))
        url = p.url.strip()
        if not url.startswith("https://"):
            problems.append(Problem(*where, f"passage '{p.id}' url '{url}' is not https"))
        elif any(host in url.lower() for host in MIRROR_HOSTS):
            problems.append(Problem(*where, f"passage '{p.id}' url '{url}' points at a mirror, not the canonical source"))
        try:
            date.fromisoformat(p.as_of)
        except ValueError:
            problems.append(Problem(*where, f"passage '{p.id}' as_of '{p.as_of}' is not an ISO date"))

    shingles = {p.id: _shingles(_words(p.text), 5) for p in passages}
    for a, b in combinations(passages, 2):
        sa, sb = shingles[a.id], shingles[b.id]
        if sa and sb:
            jaccard = len(sa & sb) / len(sa | sb)
            if jaccard >= NEAR_DUPLICATE_JACCARD:
                problems.append(Problem(b.path, b.line, f"passages '{a.id}' and '{b.id}' are near-duplicates (5-gram Jaccard {jaccard:.2f})"))

    seed_grams: set[tuple[str, ...]] = set()
    for text in seed_texts:
        seed_grams |= _shingles(_words(text), SEED_COPY_WORDS)
    if seed_grams:
        for p in passages:
            if p.source_type == "user":
                continue
            words = _words(p.text)
            for i in range(len(words) - SEED_COPY_WORDS + 1):
                gram = tuple(words[i : i + SEED_COPY_WORDS])
                if gram in seed_grams:
                    problems.append(Problem(p.path, p.line, f"passage '{p.id}' copies {SEED_COPY_WORDS}+ words from the toolkit seed: \"{' '.join(gram)}\""))
                    break
    return problems


def seed_texts(seed_dir: Path) -> list[str]:
    """The toolkit seed files (../shared/seed), if present."""
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(Path(seed_dir).glob("*.txt"))]
