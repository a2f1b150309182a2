"""Refresh a Well-Architected question catalog (guard/data/wellarchitected/<lens>.yaml) from AWS.

    python scripts/refresh_wellarchitected_catalog.py [--lens wellarchitected] [--workload-id ID]
        [--region R] [--profile P] [--endpoint-url U] [--catalog PATH] [--dry-run]

The Well-Architected Tool only lists a lens's questions through a workload. With --workload-id it
reads that workload (which must have the lens); without it, it creates a scratch workload
(CreateWorkload: ``guard-catalog-refresh-<UTC timestamp>``, PREPRODUCTION, the lens, the region),
reads it and deletes it again whatever happens; a failed delete is reported on stderr with the
workload's ID. Needs ``wellarchitected:GetLensReview`` and ``wellarchitected:ListAnswers``, plus
``CreateWorkload`` and ``DeleteWorkload`` without --workload-id.

GetLensReview gives the lens version and the pillars; ListAnswers (paginated) gives every question
and its choices in the Tool's order. Each choice's url is its ImprovementPlan link, else its
HelpfulResource link, else the catalog's. The API does not give a best practice's level of risk,
so ``risk`` is kept from the catalog for choice IDs it knows, ``none`` for "None of these" and
``unknown`` for new choices (listed in the output: set them from the best practice's page).
The script prints what changed and rewrites the file in one fixed layout (unless --dry-run).
Exit status: 0 done (or nothing to do), 2 on a malformed catalog, missing credentials or an API
error; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from guard.aws_errors import describe_failure
from guard.wellarchitected_catalog import (
    NONE_TITLE,
    Catalog,
    CatalogError,
    Choice,
    Pillar,
    Question,
    catalog_path,
    dump_catalog,
    load_catalog_file,
    parse_catalog,
)
from guard.wellarchitected_sync import all_pages

if TYPE_CHECKING:
    from mypy_boto3_wellarchitected import WellArchitectedClient

DEFAULT_LENS = "wellarchitected"
DEFAULT_REGION = "us-east-1"
SCRATCH_PREFIX = "guard-catalog-refresh-"
SCRATCH_DESCRIPTION = (
    "Scratch workload of guard's scripts/refresh_wellarchitected_catalog.py, created to read the "
    "lens's questions and deleted when it ends. Safe to delete."
)

HEADER = """\
# Well-Architected Tool question catalog for lens alias "{lens}": the questions and choices
# (best practices) review files may name, and each best practice's level of risk.
# Written by scripts/refresh_wellarchitected_catalog.py from the Tool's API (see `source`):
# question and choice IDs, titles, urls and lens_version are the API's. risk is not (the API does
# not give it): it is kept from the previous version of this file for known choice IDs (see the
# file's history for where it came from), "none" for "None of these" and "unknown" for choices
# new since; set those from the best practice's "Level of risk exposed" on its page.
# The script rewrites this file in exactly this layout; comments other than this header are not
# kept.
"""

ChangeKind = Literal["lens", "pillar", "question", "choice", "title", "risk"]


@dataclass(frozen=True)
class Change:
    """One difference between the catalog and the API, or a choice whose risk is not known."""

    kind: ChangeKind
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class LensData:
    """What the API says of a lens: its version, pillars and questions in the Tool's order."""

    version: str
    pillars: tuple[tuple[str, str], ...]
    answers: tuple[dict[str, Any], ...]


# ---------------------------------------------------------------------------------------------
# Reading the API
# ---------------------------------------------------------------------------------------------


def read_lens(client: WellArchitectedClient | Any, workload_id: str, lens: str) -> LensData:
    """GetLensReview and every page of ListAnswers for one workload's lens."""
    review = client.get_lens_review(WorkloadId=workload_id, LensAlias=lens)["LensReview"]
    pillars = tuple(
        (str(p["PillarId"]), str(p.get("PillarName") or p["PillarId"]))
        for p in review.get("PillarReviewSummaries", [])
    )
    answers = [
        dict(answer)
        for page in all_pages(client.list_answers, WorkloadId=workload_id, LensAlias=lens)
        for answer in page.get("AnswerSummaries", [])
    ]
    return LensData(str(review.get("LensVersion") or ""), pillars, tuple(answers))


def read_with_scratch_workload(
    client: WellArchitectedClient | Any, lens: str, region: str, now: datetime
) -> LensData:
    """Create a scratch workload with the lens, read it, and delete it whatever happens; a
    failed delete is reported on stderr (with the workload's ID), not raised."""
    name = SCRATCH_PREFIX + now.strftime("%Y%m%dT%H%M%SZ")
    created = client.create_workload(
        WorkloadName=name,
        Description=SCRATCH_DESCRIPTION,
        Environment="PREPRODUCTION",
        Lenses=[lens],
        AwsRegions=[region],
        ClientRequestToken=str(uuid.uuid4()),
    )
    workload_id = str(created["WorkloadId"])
    try:
        return read_lens(client, workload_id, lens)
    finally:
        try:
            client.delete_workload(WorkloadId=workload_id, ClientRequestToken=str(uuid.uuid4()))
        except (BotoCoreError, ClientError) as exc:
            print(
                f"warning: the scratch workload {name} ({workload_id}) was not deleted: "
                f"{describe_failure(exc)} Delete it in the Well-Architected Tool console or with "
                f"`aws wellarchitected delete-workload --workload-id {workload_id}`.",
                file=sys.stderr,
            )
        else:
            print(f"Deleted the scratch workload {name} ({workload_id}).")


# ---------------------------------------------------------------------------------------------
# Building the catalog
# ---------------------------------------------------------------------------------------------


def _url(choice: dict[str, Any], old: Choice | None) -> str | None:
    for key in ("ImprovementPlan", "HelpfulResource"):
        url = (choice.get(key) or {}).get("Url")
        if url:
            return str(url).strip()
    return old.url if old is not None else None


def _risk(title: str, old: Choice | None) -> str:
    if title == NONE_TITLE:
        return "none"
    if old is not None and old.risk != "none":
        return old.risk
    return "unknown"


def build_catalog(
    data: LensData, lens: str, source: str, old: Catalog | None
) -> tuple[Catalog, list[str]]:
    """The catalog the API describes, with risks and question sources kept from ``old``; and
    warnings about data the catalog cannot hold (dropped)."""
    warnings: list[str] = []
    by_pillar: dict[str, list[Question]] = {}
    for answer in data.answers:
        question_id = str(answer["QuestionId"])
        pillar_id = str(answer.get("PillarId") or "")
        old_question = old.question(question_id) if old is not None else None
        choices = []
        for raw in answer.get("Choices", []):
            choice_id = str(raw["ChoiceId"])
            title = " ".join(str(raw.get("Title") or choice_id).split())
            old_choice = old_question.choice(choice_id) if old_question is not None else None
            choices.append(
                Choice(choice_id, title, _risk(title, old_choice), _url(raw, old_choice))
            )
        if not choices:
            warnings.append(f"warning: question {question_id} has no choices; left out")
            continue
        title = " ".join(str(answer.get("QuestionTitle") or question_id).split())
        source_url = old_question.source if old_question is not None else None
        question = Question(question_id, pillar_id, title, tuple(choices), source_url)
        by_pillar.setdefault(pillar_id, []).append(question)

    names = dict(data.pillars)
    order = [pillar_id for pillar_id, _ in data.pillars]
    for pillar_id in by_pillar:
        if pillar_id not in names:
            warnings.append(f"warning: pillar {pillar_id} is not in GetLensReview; named by its ID")
            order.append(pillar_id)
    pillars = []
    questions: list[Question] = []
    for pillar_id in order:
        if not by_pillar.get(pillar_id):
            warnings.append(f"warning: pillar {pillar_id} has no questions; left out")
            continue
        pillars.append(Pillar(pillar_id, names.get(pillar_id, pillar_id)))
        questions += by_pillar[pillar_id]
    catalog = Catalog(
        lens=lens,
        lens_version=data.version,
        confirmed=True,
        source=source,
        pillars=tuple(pillars),
        questions=tuple(questions),
    )
    return catalog, warnings


def describe_changes(old: Catalog | None, new: Catalog) -> list[Change]:
    """What differs between the catalog and the API, then every choice whose risk is unknown."""
    changes: list[Change] = []
    if old is None:
        changes.append(Change("lens", f"new catalog for lens {new.lens}"))
        old = replace(new, pillars=(), questions=())
    if old.lens_version != new.lens_version:
        changes.append(Change("lens", f"lens_version {old.lens_version} -> {new.lens_version}"))
    if old.confirmed != new.confirmed:
        changes.append(Change("lens", "confirmed: the catalog now comes from the API"))
    old_pillars = {p.id: p.name for p in old.pillars}
    new_pillars = {p.id: p.name for p in new.pillars}
    for pillar_id, name in new_pillars.items():
        if pillar_id not in old_pillars:
            changes.append(Change("pillar", f"pillar added: {pillar_id} ({name})"))
        elif old_pillars[pillar_id] != name:
            changes.append(
                Change("title", f"pillar {pillar_id}: name {old_pillars[pillar_id]!r} -> {name!r}")
            )
    for pillar_id in old_pillars:
        if pillar_id not in new_pillars:
            changes.append(Change("pillar", f"pillar removed: {pillar_id}"))

    for question in new.questions:
        before = old.question(question.id)
        if before is None:
            changes.append(
                Change(
                    "question",
                    f"question added: {question.pillar}/{question.id} ({len(question.choices)} "
                    f"choices): {question.title}",
                )
            )
            continue
        if before.title != question.title:
            changes.append(
                Change("title", f"{question.id}: title {before.title!r} -> {question.title!r}")
            )
        if before.pillar != question.pillar:
            changes.append(
                Change("question", f"{question.id}: pillar {before.pillar} -> {question.pillar}")
            )
        for choice in question.choices:
            was = before.choice(choice.id)
            if was is None:
                changes.append(
                    Change("choice", f"{question.id}: choice added: {choice.id} ({choice.title})")
                )
            elif was.title != choice.title:
                changes.append(
                    Change(
                        "title",
                        f"{question.id}/{choice.id}: title {was.title!r} -> {choice.title!r}",
                    )
                )
        for choice in before.choices:
            if question.choice(choice.id) is None:
                changes.append(
                    Change("choice", f"{question.id}: choice removed: {choice.id} ({choice.title})")
                )
    for question in old.questions:
        if new.question(question.id) is None:
            changes.append(Change("question", f"question removed: {question.pillar}/{question.id}"))
    for question in new.questions:
        for choice in question.choices:
            if choice.risk == "unknown":
                changes.append(
                    Change(
                        "risk",
                        f"risk unknown: {question.id}/{choice.id} ({choice.title}); set it from "
                        f"{choice.url or 'the best practice page'}",
                    )
                )
    return changes


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Refresh a Well-Architected question catalog from the Well-Architected Tool."
    )
    parser.add_argument(
        "--lens", default=DEFAULT_LENS, help=f"lens alias (default: {DEFAULT_LENS})"
    )
    parser.add_argument(
        "--workload-id",
        help="read this workload (which has the lens) instead of a scratch workload",
    )
    parser.add_argument(
        "--region", help=f"AWS region to call (default: profile's, else {DEFAULT_REGION})"
    )
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--endpoint-url", help="Well-Architected Tool endpoint, e.g. an emulator")
    parser.add_argument(
        "--catalog", type=Path, help="catalog file (default: guard's file for the lens)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the diff; write nothing")
    return parser


def _client(args: argparse.Namespace) -> tuple[Any, str]:
    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    region = session.region_name or DEFAULT_REGION
    client = session.client("wellarchitected", region_name=region, endpoint_url=args.endpoint_url)
    return client, region


def _error(message: str) -> int:
    print(f"error: {message} Nothing was written.", file=sys.stderr)
    return 2


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def main(
    argv: Sequence[str] | None = None, *, client: Any = None, now: datetime | None = None
) -> int:
    """Run the refresh; tests pass a stubbed client and a fixed ``now``."""
    args = _parser().parse_args(argv)
    lens: str = args.lens
    path: Path = args.catalog or catalog_path(lens)
    now = now or datetime.now(UTC)
    old: Catalog | None = None
    old_text = ""
    if path.exists():
        try:
            old = load_catalog_file(path)
        except CatalogError as exc:
            return _error(f"the catalog is malformed: {exc}")
        old_text = path.read_text(encoding="utf-8")
        if old.lens != lens:
            return _error(f"{path} is the catalog of lens {old.lens}, not {lens}.")

    try:
        if client is None:
            client, region = _client(args)
        else:
            region = args.region or client.meta.region_name
        if args.workload_id:
            data = read_lens(client, args.workload_id, lens)
            via = f"workload {args.workload_id}"
        else:
            data = read_with_scratch_workload(client, lens, region, now)
            via = "a scratch workload"
    except (BotoCoreError, ClientError) as exc:
        return _error(describe_failure(exc))
    if not data.answers:
        return _error(f"ListAnswers returned no questions for lens {lens}.")
    if not data.version:
        return _error(f"GetLensReview returned no LensVersion for lens {lens}.")

    source = (
        f"Well-Architected Tool API ({region}), GetLensReview and ListAnswers of lens {lens} "
        f"through {via}, {now.date().isoformat()}, by scripts/refresh_wellarchitected_catalog.py"
    )
    new, warnings = build_catalog(data, lens, source, old)
    for warning in warnings:
        _stderr(warning)
    changes = describe_changes(old, new)
    if old is not None and replace(new, source=old.source) == old:
        # Nothing but the date changed: keep the file as it is.
        print(f"No changes: the catalog matches the API (lens {lens} {new.lens_version}).")
        return 0
    new_text = dump_catalog(new, HEADER.format(lens=lens))
    try:
        parse_catalog(yaml.safe_load(new_text), str(path))
    except CatalogError as exc:
        return _error(f"the refreshed catalog would be invalid: {exc}")

    for change in changes:
        print(change)
    if not any(change.kind != "risk" for change in changes):
        print("Only links or the order of questions or choices changed.")
    if args.dry_run:
        sys.stdout.writelines(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"{path} (current)",
                tofile=f"{path} (refreshed)",
            )
        )
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new_text, encoding="utf-8")
    print(f"Wrote {path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
