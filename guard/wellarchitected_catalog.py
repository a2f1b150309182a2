"""The Well-Architected question catalog: every question and choice a review file may name, per lens.

Review files answer Well-Architected Tool questions by ID (``network-protection``) with choice IDs
(``sec_network_protection_create_layers``). They are validated offline against a catalog kept as
data, one file per lens alias in ``guard/data/wellarchitected/`` (``wellarchitected.yaml``),
refreshed from the Tool's API by ``scripts/refresh_wellarchitected_catalog.py``. The API gives the
IDs, titles and links but not a best practice's level of risk, so ``risk`` is carried from the
framework's documentation and kept across refreshes.

This module only reads, validates and writes the data: it imports no AWS SDK, so validating a
review file never needs credentials or the network. :func:`parse_catalog` reports every problem
of a malformed file at once, each with its key path (``pillars[0].questions[4].choices[2].risk``);
:func:`dump_catalog` writes the one fixed layout the files are kept in, so a file read and written
again is unchanged byte for byte and a refresh's diff shows only real changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from guard.config.errors import format_key_path
from guard.data_yaml import UniqueKeyLoader, kind_of

__all__ = [
    "CATALOG_DIR",
    "NONE_TITLE",
    "RISK_LEVELS",
    "Catalog",
    "CatalogError",
    "Choice",
    "Pillar",
    "Question",
    "available_lenses",
    "catalog_path",
    "dump_catalog",
    "load_catalog",
    "load_catalog_file",
    "parse_catalog",
    "split_header",
]

#: A best practice's "level of risk exposed if this best practice is not established" (the
#: framework's High/Medium/Low), "none" for the "None of these" choice, "unknown" when not known.
RISK_LEVELS = ("high", "medium", "low", "none", "unknown")
#: The title the Tool gives every question's "none of the best practices" choice.
NONE_TITLE = "None of these"
#: One YAML file per lens alias, named after it.
CATALOG_DIR = Path(__file__).resolve().parent / "data" / "wellarchitected"

_TOP_KEYS = ("lens", "lens_version", "confirmed", "source", "pillars")
_PILLAR_KEYS = ("id", "name", "questions")
_QUESTION_KEYS = ("id", "title", "source", "choices")
_CHOICE_KEYS = ("id", "title", "risk", "url")
# Lens aliases are file names here; the Tool's own aliases are lowercase words and hyphens, and
# custom lenses are named by ARN, which cannot be a file name (nor a catalog).
_LENS_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class Choice:
    """One choice of a question: a best practice, or the question's "None of these"."""

    id: str
    title: str
    #: One of :data:`RISK_LEVELS`.
    risk: str
    #: The best practice's documentation (improvement plan) page, when known.
    url: str | None = None

    @property
    def is_none(self) -> bool:
        """True for the "None of these" choice."""
        return self.title == NONE_TITLE


@dataclass(frozen=True)
class Question:
    """One question of the lens, with its choices in the Tool's order."""

    id: str
    #: The pillar's ID, e.g. ``security``.
    pillar: str
    #: e.g. ``SEC 5. How do you protect your network resources?``
    title: str
    choices: tuple[Choice, ...]
    #: Where the question is documented, when known.
    source: str | None = None

    def choice(self, choice_id: str) -> Choice | None:
        """The choice with exactly this ID, or None."""
        for choice in self.choices:
            if choice.id == choice_id:
                return choice
        return None

    @property
    def none_choice(self) -> str | None:
        """ID of the "None of these" choice, if the question has one."""
        for choice in self.choices:
            if choice.is_none:
                return choice.id
        return None

    @property
    def choice_ids(self) -> tuple[str, ...]:
        return tuple(choice.id for choice in self.choices)


@dataclass(frozen=True)
class Pillar:
    """A pillar of the lens: its ID (``security``) and display name (``Security``)."""

    id: str
    name: str


@dataclass(frozen=True)
class Catalog:
    """A lens's questions and choices, in the Tool's order."""

    lens: str
    lens_version: str
    #: False until the catalog has been refreshed from the Tool's API.
    confirmed: bool
    #: Where the data came from, on one line.
    source: str
    pillars: tuple[Pillar, ...]
    #: Every question, pillar by pillar in :attr:`pillars` order.
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        """The question with exactly this ID, or None."""
        for question in self.questions:
            if question.id == question_id:
                return question
        return None

    def pillar_name(self, pillar_id: str) -> str:
        """The pillar's display name; the ID itself for a pillar the catalog does not list."""
        for pillar in self.pillars:
            if pillar.id == pillar_id:
                return pillar.name
        return pillar_id

    def pillar_questions(self, pillar_id: str) -> tuple[Question, ...]:
        """The pillar's questions, in catalog order."""
        return tuple(q for q in self.questions if q.pillar == pillar_id)


class CatalogError(ValueError):
    """A catalog is missing or malformed; the message names the file and everything wrong."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        #: Each problem found, ``key.path: what is wrong`` (empty when the file is missing).
        self.problems = problems


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class _Parser:
    """Walks the raw document, collecting every problem rather than stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, message: str, *where: str | int) -> None:
        where_text = format_key_path(tuple(where))
        self.problems.append(f"{where_text}: {message}" if where_text else message)

    def mapping(self, value: Any, keys: tuple[str, ...], *where: str | int) -> dict[str, Any]:
        """The value as a mapping with only known keys; {} (and a problem) when it is not one."""
        if not isinstance(value, dict):
            self.problem(
                f"must be a mapping with keys {', '.join(keys)}; got {kind_of(value)}", *where
            )
            return {}
        for key in value:
            if key not in keys:
                self.problem(f"unknown key; expected one of: {', '.join(keys)}", *where, str(key))
        return value

    def text(
        self, data: dict[str, Any], key: str, *where: str | int, required: bool = True
    ) -> str | None:
        if key not in data or (not required and data[key] is None):
            if required:
                self.problem("is required", *where, key)
            return None
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it)" if value is not None and not isinstance(value, str) else ""
            self.problem(f"must be non-empty text{hint}, got {kind_of(value)}", *where, key)
            return None
        if "\n" in value or value != value.strip():
            self.problem("must be one line without leading or trailing spaces", *where, key)
            return None
        return value

    def items(self, data: dict[str, Any], key: str, what: str, *where: str | int) -> list[Any]:
        if key not in data:
            self.problem(f"is required: a non-empty list of {what}", *where, key)
            return []
        value = data[key]
        if not isinstance(value, list) or not value:
            self.problem(f"must be a non-empty list of {what}, got {kind_of(value)}", *where, key)
            return []
        return value

    def catalog(self, document: Any) -> Catalog | None:
        data = self.mapping(document, _TOP_KEYS)
        if not data:
            if isinstance(document, dict):
                self.problem(f"is empty; expected keys {', '.join(_TOP_KEYS)}")
            return None
        lens = self.text(data, "lens")
        if lens is not None and not _LENS_RE.fullmatch(lens):
            self.problem("must be a lens alias: lowercase letters, digits, '-' and '_'", "lens")
        lens_version = self.text(data, "lens_version")
        confirmed = data.get("confirmed")
        if not isinstance(confirmed, bool):
            self.problem(f"is required: true or false, got {kind_of(confirmed)}", "confirmed")
        source = self.text(data, "source")
        pillars: list[Pillar] = []
        questions: list[Question] = []
        pillar_at: dict[str, str] = {}
        question_at: dict[str, str] = {}
        for i, raw in enumerate(self.items(data, "pillars", "pillars")):
            where: tuple[str | int, ...] = ("pillars", i)
            body = self.mapping(raw, _PILLAR_KEYS, *where)
            pillar_id = self.text(body, "id", *where)
            name = self.text(body, "name", *where)
            self.unique(pillar_at, pillar_id, "pillar", *where)
            if pillar_id is not None and name is not None:
                pillars.append(Pillar(pillar_id, name))
            for j, raw_question in enumerate(self.items(body, "questions", "questions", *where)):
                question = self.question(
                    raw_question, pillar_id or "", question_at, *where, "questions", j
                )
                if question is not None:
                    questions.append(question)
        if self.problems:
            return None
        assert lens is not None and lens_version is not None and source is not None
        assert isinstance(confirmed, bool)
        return Catalog(lens, lens_version, confirmed, source, tuple(pillars), tuple(questions))

    def unique(self, seen: dict[str, str], value: str | None, what: str, *where: str | int) -> None:
        """Record an ID; a problem when it was seen before (``seen`` maps it to where)."""
        if value is None:
            return
        if value in seen:
            self.problem(f"duplicate {what} {value!r} (also {seen[value]})", *where, "id")
        else:
            seen[value] = format_key_path(tuple(where))

    def question(
        self, raw: Any, pillar: str, seen: dict[str, str], *where: str | int
    ) -> Question | None:
        before = len(self.problems)
        body = self.mapping(raw, _QUESTION_KEYS, *where)
        question_id = self.text(body, "id", *where)
        self.unique(seen, question_id, "question", *where)
        title = self.text(body, "title", *where)
        source = self.text(body, "source", *where, required=False)
        choices: list[Choice] = []
        choice_at: dict[str, str] = {}
        for k, raw_choice in enumerate(self.items(body, "choices", "choices", *where)):
            choice = self.choice(raw_choice, choice_at, *where, "choices", k)
            if choice is not None:
                choices.append(choice)
        if len([c for c in choices if c.is_none]) > 1:
            self.problem(f"has more than one {NONE_TITLE!r} choice", *where, "choices")
        if len(self.problems) > before or question_id is None or title is None:
            return None
        return Question(question_id, pillar, title, tuple(choices), source)

    def choice(self, raw: Any, seen: dict[str, str], *where: str | int) -> Choice | None:
        before = len(self.problems)
        body = self.mapping(raw, _CHOICE_KEYS, *where)
        choice_id = self.text(body, "id", *where)
        # Choice IDs are unique within their question; name the other one relative to it.
        self.unique(seen, choice_id, "choice", *where)
        if choice_id is not None and seen.get(choice_id) == format_key_path(tuple(where)):
            seen[choice_id] = format_key_path(tuple(where[-2:]))
        title = self.text(body, "title", *where)
        risk = self.text(body, "risk", *where)
        url = self.text(body, "url", *where, required=False)
        if risk is not None and risk not in RISK_LEVELS:
            self.problem(f"must be one of {', '.join(RISK_LEVELS)}, got {risk!r}", *where, "risk")
        elif risk is not None and title is not None and (risk == "none") != (title == NONE_TITLE):
            self.problem(
                f"is 'none' exactly for the {NONE_TITLE!r} choice, got {risk!r} for {title!r}",
                *where,
                "risk",
            )
        if len(self.problems) > before or choice_id is None or title is None or risk is None:
            return None
        return Choice(choice_id, title, risk, url)


def parse_catalog(document: Any, source: str) -> Catalog:
    """A catalog from its YAML document; ``source`` (the file) names it in errors.

    Raises :class:`CatalogError` listing every problem: unknown or missing keys, values of the
    wrong type, risks outside :data:`RISK_LEVELS`, duplicate pillar, question or choice IDs.
    """
    parser = _Parser()
    catalog = parser.catalog(document)
    if catalog is None:
        problems = tuple(parser.problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise CatalogError(
            f"{source}: malformed Well-Architected catalog ({count}):\n"
            + "\n".join(f"  - {p}" for p in problems),
            problems,
        )
    return catalog


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog: {exc.strerror or exc}") from exc
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise CatalogError(f"{path}: not valid YAML: {detail}", (detail,)) from exc


def load_catalog_file(path: Path) -> Catalog:
    """The catalog in this file, read every time (the refresh script and tests)."""
    return parse_catalog(_read_document(path), str(path))


def catalog_path(lens: str) -> Path:
    """The catalog file of a lens alias (which may not exist)."""
    return CATALOG_DIR / f"{lens}.yaml"


def available_lenses() -> list[str]:
    """The lens aliases that have a catalog, sorted."""
    if not CATALOG_DIR.is_dir():
        return []
    return sorted(path.stem for path in CATALOG_DIR.glob("*.yaml"))


@cache
def load_catalog(lens: str) -> Catalog:
    """The catalog of a lens alias, read once per process.

    Raises :class:`CatalogError` when the lens has no catalog (naming the lenses that have one
    and how to make it) or its file is malformed.
    """
    path = catalog_path(lens) if _LENS_RE.fullmatch(lens) else None
    if path is None or not path.is_file():
        have = ", ".join(available_lenses()) or "none"
        raise CatalogError(
            f"no catalog for lens {lens} (have: {have}); "
            f"run scripts/refresh_wellarchitected_catalog.py --lens {lens}"
        )
    catalog = load_catalog_file(path)
    if catalog.lens != lens:
        raise CatalogError(
            f"{path}: lens: is {catalog.lens!r}, but the file is the catalog of lens {lens!r}",
            (f"lens: is {catalog.lens!r}, expected {lens!r}",),
        )
    return catalog


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _scalar(text: str) -> str:
    """Plain when YAML reads it back as the same text, else a double-quoted (JSON) string."""
    try:
        if yaml.safe_load(f"k: {text}\n") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def split_header(text: str) -> str:
    """The leading comment block of a catalog file (its ``#`` lines), without the blank line."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def dump_catalog(catalog: Catalog, header: str) -> str:
    """The catalog as YAML in guard's fixed layout, after ``header`` (the leading comment block;
    lines not starting with ``#`` are made comments) and one blank line."""
    lines = []
    for line in header.strip("\n").splitlines() if header.strip() else []:
        lines.append(line if line.startswith("#") else f"# {line}".rstrip())
    if lines:
        lines.append("")
    lines.append(f"lens: {_scalar(catalog.lens)}")
    lines.append(f"lens_version: {json.dumps(catalog.lens_version, ensure_ascii=False)}")
    lines.append(f"confirmed: {'true' if catalog.confirmed else 'false'}")
    lines.append(f"source: {_scalar(catalog.source)}")
    pillar_ids = {pillar.id for pillar in catalog.pillars}
    for question in catalog.questions:
        if question.pillar not in pillar_ids:
            raise ValueError(f"question {question.id} is in pillar {question.pillar!r}, not listed")
    lines.append("pillars:")
    for pillar in catalog.pillars:
        lines.append(f"  - id: {_scalar(pillar.id)}")
        lines.append(f"    name: {_scalar(pillar.name)}")
        lines.append("    questions:")
        for question in catalog.pillar_questions(pillar.id):
            lines.append(f"      - id: {_scalar(question.id)}")
            lines.append(f"        title: {_scalar(question.title)}")
            if question.source is not None:
                lines.append(f"        source: {_scalar(question.source)}")
            lines.append("        choices:")
            for choice in question.choices:
                lines.append(f"          - id: {_scalar(choice.id)}")
                lines.append(f"            title: {_scalar(choice.title)}")
                lines.append(f"            risk: {choice.risk}")
                if choice.url is not None:
                    lines.append(f"            url: {_scalar(choice.url)}")
    return "\n".join(lines) + "\n"
