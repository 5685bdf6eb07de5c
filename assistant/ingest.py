"""A user's own documents (PDF, DOCX, HTML, Markdown, text) -> passages, stored beside the index.

Each file becomes one document whose id is derived from its file name, so ingesting the same
file again replaces it. A file that cannot be read raises IngestError and changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from assistant.config import Settings
from assistant.contracts import Passage
from assistant.corpus import slugify
from assistant.index import ingested_dir

SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}
CHUNK_CHARS = 1400  # about 200-250 words: the size of a hand-written corpus passage
CHUNK_OVERLAP = 150


class IngestError(ValueError):
    """A file that cannot be ingested, with a message naming it and the reason."""


@dataclass
class Section:
    """A piece of a document before chunking: heading path, text, pinpoint, page."""

    heading_path: tuple[str, ...]
    text: str
    pinpoint: str | None = None
    slug: str | None = None


def document_id(path: Path) -> str:
    """Stable id from the file name: the same file always maps to the same document."""
    return "user-" + (slugify(path.stem) or "document")


# --- readers: each returns (title, sections) ------------------------------------------------


def read_pdf(path: Path) -> tuple[str, list[Section]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else None) or path.stem
    sections = []
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        if text.strip():
            sections.append(Section((f"Page {number}",), text, pinpoint=f"p.{number}", slug=f"page-{number}"))
    return title, sections


def read_docx(path: Path) -> tuple[str, list[Section]]:
    import docx

    document = docx.Document(str(path))
    title = document.core_properties.title or path.stem
    lines = []
    for para in document.paragraphs:
        style = (para.style.name or "").lower() if para.style is not None else ""
        level = re.match(r"heading (\d)", style)
        if level and para.text.strip():
            lines.append("#" * int(level.group(1)) + " " + para.text.strip())
        elif style == "title" and para.text.strip():
            title = para.text.strip()
        else:
            lines.append(para.text)
    return title, markdown_sections("\n".join(lines))


def read_html(path: Path) -> tuple[str, list[Section]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "noscript"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else path.stem
    lines = []
    for element in (soup.body or soup).find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "pre", "blockquote"]):
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        lines.append("#" * int(element.name[1]) + " " + text if element.name.startswith("h") else text)
    return title, markdown_sections("\n".join(lines))


def read_markdown(path: Path) -> tuple[str, list[Section]]:
    text = path.read_text(encoding="utf-8")
    title = path.stem
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.S)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
            title = str(meta.get("title") or title)
        except yaml.YAMLError:
            pass
        text = text[match.end() :]
    sections = markdown_sections(text)
    return title, [_statute_pinpoint(title, s) for s in sections]


def read_text(path: Path) -> tuple[str, list[Section]]:
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    title = lines[0].strip()[:120] if lines else path.stem
    return title, [Section((), text)]


READERS = {"pdf": read_pdf, "docx": read_docx, "html": read_html, "markdown": read_markdown, "text": read_text}


def markdown_sections(text: str) -> list[Section]:
    """Split Markdown at headings, keeping each section's heading path."""
    sections, stack, body = [], [], []

    def flush() -> None:
        if "\n".join(body).strip():
            sections.append(Section(tuple(t for _, t in stack), "\n".join(body).strip()))

    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if heading:
            flush()
            body = []
            level = len(heading.group(1))
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, heading.group(2).strip())]
        else:
            body.append(line)
    flush()
    return sections


def _statute_pinpoint(title: str, section: Section) -> Section:
    """legislation.gov.uk-style Markdown numbers sections by a bare heading: make it a pinpoint."""
    if not section.heading_path or not section.heading_path[-1].isdigit():
        return section
    number = section.heading_path[-1]
    schedule = next((h for h in reversed(section.heading_path) if re.match(r"(?i)^schedule\s+\d+", h)), None)
    label = next((h for h in reversed(section.heading_path[:-1]) if not h.isdigit() and not re.match(r"(?i)^(part|chapter|schedule)\b", h)), None)
    if schedule:
        sched = re.match(r"(?i)^schedule\s+(\d+)", schedule).group(1)
        pinpoint, slug = f"Sch. {sched}, para {number}", f"sch-{sched}-para-{number}"
    else:
        pinpoint, slug = f"s.{number}", f"s-{number}"
    path = section.heading_path[:-1] + ((f"{pinpoint} {label}" if label else pinpoint),)
    return Section(path, section.text, pinpoint=pinpoint, slug=slug)


def _chunks(text: str) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if len(text) <= CHUNK_CHARS:
        return [text]
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP)
    return splitter.split_text(text)


def read_document(path: Path, source_type: str = "user") -> list[Passage]:
    """Parse one file into passages; raise IngestError (naming the file) if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise IngestError(f"{path}: unsupported file type '{path.suffix or '(none)'}' (supported: {', '.join(sorted(SUPPORTED))})")
    try:
        title, sections = READERS[kind](path)
    except UnicodeDecodeError:
        raise IngestError(f"{path}: not valid UTF-8 text") from None
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear message
        raise IngestError(f"{path}: could not read this {kind.upper()} file ({type(exc).__name__}: {exc})") from None
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise IngestError(f"{path}: no text could be extracted (a scanned PDF needs OCR first)")

    doc_id = document_id(path)
    today = date.today().isoformat()
    passages, used = [], set()
    for index, section in enumerate(sections, start=1):
        base = section.slug or (slugify(section.heading_path[-1]) if section.heading_path else "") or f"part-{index}"
        pinpoint = section.pinpoint or (f"'{section.heading_path[-1]}'" if section.heading_path else None)
        for n, chunk in enumerate(_chunks(section.text), start=1):
            slug = base if n == 1 else f"{base}-part-{n}"
            while slug in used:
                slug += "-x"
            used.add(slug)
            passages.append(
                Passage(
                    id=f"{doc_id}#{slug}",
                    doc_id=doc_id,
                    title=title,
                    heading_path=section.heading_path,
                    text=chunk.strip(),
                    source_type=source_type,
                    source=f"{title} ({path.name})",
                    reference=f"{title}, {pinpoint}" if pinpoint else f"{title} ({path.name})",
                    url=path.resolve().as_uri(),
                    as_of=today,
                    path=str(path),
                    line=0,
                )
            )
    return passages


def save_document(settings: Settings, passages: list[Passage]) -> Path:
    """Write (or replace) one ingested document's passages; atomic, so a crash leaves the old copy."""
    folder = ingested_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{passages[0].doc_id}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps([p.model_dump() for p in passages], ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(target)
    return target


def remove_document(settings: Settings, doc_id: str) -> bool:
    """Forget an ingested document (its vectors go at the next index sync)."""
    target = ingested_dir(settings) / f"{doc_id}.json"
    if target.exists():
        target.unlink()
        return True
    return False


def ingest(settings: Settings, paths: list[Path], source_type: str = "user") -> tuple[list[tuple[Path, int]], list[str]]:
    """Ingest files one by one: ([(path, passage count)], [error messages]); failures change nothing."""
    done, errors = [], []
    for path in paths:
        try:
            passages = read_document(Path(path), source_type)
        except IngestError as exc:
            errors.append(str(exc))
            continue
        save_document(settings, passages)
        done.append((Path(path), len(passages)))
    return done, errors


