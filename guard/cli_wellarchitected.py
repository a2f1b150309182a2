"""``guard wa``: a Well-Architected review kept as a file (``reviews/<workload>.yaml``).

- ``guard wa report``: offline, where the review stands (estimated risks by pillar, improvement
  items) and whether its evidence holds against the plans of the stacks it covers.
- ``guard wa plan``: what a sync would change in the Well-Architected Tool (reads it).
- ``guard wa sync``: the same, then with ``--apply`` makes the changes and records a milestone.
- ``guard wa stacks``: the stacks a review covers, one per line (for CI).

The arguments (:func:`add_wa_parser`, called by :mod:`guard.cli`) and the runs (:func:`run_wa`).
The domain is in :mod:`guard.config.wellarchitected` (the file), :mod:`guard.wellarchitected_risk`,
:mod:`guard.wellarchitected_evidence` and :mod:`guard.wellarchitected_sync`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from guard.exit_codes import EXIT_CONFIG, EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from guard.config.wellarchitected import Review
    from guard.diff_model import PlanDocument
    from guard.wellarchitected_sync import Change, SyncPlan, SyncResult

DEFAULT_POLICY_PACK = Path("policies")
T = TypeVar("T")

WA_DESCRIPTION = """\
A Well-Architected review kept as a file: reviews/<workload>.yaml names the workload, the guard
stacks it covers, the answer to each question and, for a choice, the evidence in guard behind it
(a policy, a guard audit check, a component). It is validated offline against the lens's question
catalog (guard/data/wellarchitected/), reported offline, and synced to the AWS Well-Architected
Tool. See docs/well-architected.md.
"""

REPORT_DESCRIPTION = """\
Where the review stands, offline: each pillar's questions by estimated risk (high, medium, none,
not applicable, unanswered; estimated from each best practice's published risk level, since the
Tool's own rules are not published), the improvement items of every high and medium question, and
every evidence item checked: a policy against the plan of each covered stack (guard plan, run
here unless --plan gives its JSON), an audit check against --audit (a guard audit JSON), a
component against the plan. A selected choice whose evidence fails is a contradiction, listed
first.
"""

SYNC_DESCRIPTION = """\
Compare the review with the Well-Architected Tool: the workload (found by its exact name;
created if missing, with the tag managed-by=guard), its lenses and each answered question.
Without --apply it only shows the changes (as guard wa plan does). With --apply it makes them,
retrying the Tool's optimistic-concurrency conflicts, records a milestone named after the commit
("guard <12 hex digits>") when anything changed, and prints the Tool's own risk counts. A second
run with nothing to change writes nothing. Questions the Tool has answered but the file does not
are left alone and listed.
"""


def _exit_codes(
    done: str, one: str | None = None, *, aws: bool = False, writes: bool = False
) -> str:
    """The ``exit codes:`` epilog of an action (without the internal error's line)."""
    lines = ["exit codes:", f"  0   done ({done})"]
    if one:
        lines.append(f"  1   {one}")
    lines.append(
        "  2   usage or configuration error (the review file's errors name the line, key, bad"
    )
    if not aws:
        lines.append(
            "      value and what is allowed, or a plan or audit file); nothing was changed"
        )
    elif not writes:
        lines.append(
            "      value and what is allowed), or an AWS error (one line); nothing changed"
        )
    else:
        lines += [
            "      value and what is allowed), or an AWS error (one line); with --apply, what was",
            "      changed before the error stays and a rerun makes the rest",
        ]
    return "\n".join(lines) + "\n"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--review", type=Path, required=True, metavar="FILE", help="the review file (YAML)"
    )
    parser.add_argument(
        "--policy-pack",
        type=Path,
        default=DEFAULT_POLICY_PACK,
        metavar="DIR",
        help="the policy pack whose policies evidence may name (default: policies)",
    )


def _aws(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", help="send every AWS call to this endpoint (default: AWS's own)"
    )
    parser.add_argument("--profile", help="the AWS profile (default: the environment's)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def add_wa_parser(commands: Any, internal: str) -> None:
    """``guard wa``'s arguments (called by :mod:`guard.cli`)."""
    wa = commands.add_parser(
        "wa",
        help="a Well-Architected review as a file: report, plan and sync it to the Tool",
        description=WA_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = wa.add_subparsers(dest="wa_command", required=True, metavar="ACTION")
    report = actions.add_parser(
        "report",
        help="risks by pillar, improvement items and evidence, offline",
        description=REPORT_DESCRIPTION,
        epilog=_exit_codes(
            "reported", "a contradiction: a choice marked as met whose evidence fails"
        )
        + internal,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(report)
    report.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format"
    )
    report.add_argument(
        "--plan",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a covered stack's plan JSON (guard plan --format json), instead of planning it here "
        "(repeatable)",
    )
    report.add_argument(
        "--audit",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a covered stack's last guard audit JSON, for audit evidence (repeatable)",
    )
    for name, help_text, description in (
        ("plan", "what a sync would change in the Tool (reads it)", SYNC_DESCRIPTION),
        ("sync", "sync the review to the Tool (--apply to make the changes)", SYNC_DESCRIPTION),
    ):
        action = actions.add_parser(
            name,
            help=help_text,
            description=description,
            epilog=_exit_codes(
                "planned" if name == "plan" else "synced", aws=True, writes=name == "sync"
            )
            + internal,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common(action)
        _aws(action)
        if name == "sync":
            action.add_argument("--apply", action="store_true", help="make the changes")
            action.add_argument(
                "--commit",
                metavar="SHA",
                help="the commit the milestone is named after (default: git rev-parse HEAD)",
            )
    stacks = actions.add_parser(
        "stacks",
        help="the stacks a review covers, one per line",
        description="Validate the review file and print the stacks it covers, one per line.",
        epilog=_exit_codes("listed") + internal,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(stacks)


def _vocabulary(policy_pack: Path) -> Any:
    import boto3

    from guard.audit_checks import GAP_KINDS
    from guard.config.loader import available_stacks
    from guard.config.wellarchitected import Vocabulary
    from guard.policy_run import load_pack
    from guard.resource_types import COMPONENT_TYPES

    return Vocabulary(
        policies=tuple(p.name for p in load_pack(policy_pack)),
        audit_checks=GAP_KINDS,
        components=COMPONENT_TYPES,
        stacks=tuple(available_stacks()),
        # botocore's endpoint data, offline: the Regions that serve the Tool's API.
        tool_regions=tuple(boto3.session.Session().get_available_regions("wellarchitected")),
    )


NOTHING_CHANGED = "nothing was changed"


class UsageError(Exception):
    """A problem with the arguments, a file they name or AWS (exit 2): the message, then the
    footer on its own line when there is one."""

    def __init__(self, message: str, footer: str | None = NOTHING_CHANGED) -> None:
        super().__init__(message)
        self.footer = footer


def _load(args: argparse.Namespace) -> Review:
    from guard.config import ConfigError
    from guard.config.wellarchitected import load_review
    from guard.policy_run import PolicyPackError

    try:
        return load_review(args.review, _vocabulary(args.policy_pack))
    except PolicyPackError as error:
        raise UsageError(f"guard wa: {error}") from None
    except ConfigError as error:
        raise UsageError(error.render()) from None


def run_wa(args: argparse.Namespace) -> int:
    """Run ``guard wa ACTION``; problems go to stderr with exit code 2."""
    try:
        review = _load(args)
        if args.wa_command == "stacks":
            sys.stdout.write("".join(f"{stack}\n" for stack in review.workload.stacks))
            return EXIT_OK
        if args.wa_command == "report":
            return _report(args, review)
        return _sync(args, review)
    except UsageError as error:
        sys.stdout.flush()
        print(str(error), file=sys.stderr)
        if error.footer:
            print(error.footer, file=sys.stderr)
        return EXIT_CONFIG


# --- report ---------------------------------------------------------------------------------


def _read_audit(path: Path) -> dict[str, Any]:
    from guard.audit import read_audit_file

    try:
        document = read_audit_file(path, "--audit")
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not isinstance(document, dict) or not isinstance(document.get("stack"), str):
        raise UsageError(f'--audit {path}: not a guard audit JSON (no "stack" key)')
    return document


def _by_stack(
    found: Sequence[tuple[Path, str, T]], what: str, stacks: Sequence[str]
) -> dict[str, T]:
    """Documents given on the command line (path, stack, document), keyed by the stack each is
    of, which must be one the review covers."""
    by_stack: dict[str, T] = {}
    for path, stack, document in found:
        if stack not in stacks:
            raise UsageError(
                f"{what} {path} is of stack {stack!r}, which the review does not cover "
                f"(workload.stacks: {', '.join(stacks)})"
            )
        by_stack[stack] = document
    return by_stack


def _plans(args: argparse.Namespace, stacks: Sequence[str]) -> dict[str, PlanDocument]:
    """The plan of every covered stack, in the review's order: given (read as guard diff reads
    plan files), or planned here."""
    from guard.cli_plan import PlanError, SideError, plan_stack, read_plan_file
    from guard.diff_model import PlanDocument

    read = []
    for path in args.plan:
        try:
            document = read_plan_file(path)
        except SideError as error:
            raise UsageError(f"--plan {error}") from None
        read.append((path, document.stack, document))
    given = _by_stack(read, "--plan", stacks)
    plans = {}
    for stack in stacks:
        if stack not in given:
            try:
                planned = plan_stack(
                    stack, config_file=None, policy_pack=args.policy_pack, today=None
                )
            except PlanError as error:
                raise UsageError("\n".join(error.lines(f"stack {stack}"))) from None
            given[stack] = PlanDocument.from_json(planned.document(), stack)
        plans[stack] = given[stack]
    return plans


def _report(args: argparse.Namespace, review: Review) -> int:
    from guard.wellarchitected_evidence import check_evidence
    from guard.wellarchitected_report import (
        ReviewReport,
        render_json,
        render_markdown,
        render_text,
    )
    from guard.wellarchitected_risk import estimate

    stacks = review.workload.stacks
    audits = _by_stack(
        [(path, (audit := _read_audit(path))["stack"], audit) for path in args.audit],
        "--audit",
        stacks,
    )
    checks = check_evidence(review, _plans(args, stacks), audits)
    report = ReviewReport(review, tuple(estimate(review)), tuple(checks))
    render = {"json": render_json, "markdown": render_markdown, "text": render_text}
    sys.stdout.write(render[args.format](report))
    return EXIT_POLICY if report.contradictions else EXIT_OK


# --- plan and sync --------------------------------------------------------------------------


def _client(args: argparse.Namespace, review: Review) -> Any:
    import boto3

    session = boto3.Session(profile_name=args.profile) if args.profile else boto3.Session()
    return session.client(
        "wellarchitected",
        region_name=review.tool_region,
        endpoint_url=args.endpoint_url,
    )


def _commit(given: str | None) -> str:
    if given:
        return given
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        raise UsageError(
            "guard wa sync --apply: no --commit given and git rev-parse HEAD failed; the "
            "milestone is named after the commit"
        ) from None
    return done.stdout.strip()


def _sync(args: argparse.Namespace, review: Review) -> int:
    from botocore.exceptions import BotoCoreError

    from guard.aws_errors import describe_failure
    from guard.wellarchitected_desired import REVIEW_TAG
    from guard.wellarchitected_sync import SyncError, apply_sync, milestone_name, plan_sync

    workload, answers = review.desired_workload(), review.desired_answers()
    applying = args.wa_command == "sync" and args.apply
    try:
        if applying:
            commit = _commit(args.commit)
            try:
                milestone_name(commit)
            except ValueError as error:
                raise UsageError(f"guard wa sync: --commit {commit!r}: {error}") from None
            result = apply_sync(_client(args, review), workload, answers, commit=commit)
            _print_result(args.format, review, result)
        else:
            plan = plan_sync(_client(args, review), workload, answers)
            _print_plan(args.format, review, plan)
    except SyncError as error:
        hint = ""
        if error.denied_write:
            key, value = REVIEW_TAG
            hint = (
                f" (guard's deploy role edits only workloads tagged {key}={value}: a workload "
                "created by hand needs the tag once, from an administrator)"
            )
        # One line: what failed. After a write, what was written stays (a rerun makes the rest).
        outcome = "; a rerun makes what is left" if applying else f"; {NOTHING_CHANGED}"
        raise UsageError(
            f"guard wa {args.wa_command}: {error}{hint}{outcome}", footer=None
        ) from None
    except BotoCoreError as error:  # no region, no credentials: before any call is made
        raise UsageError(
            f"guard wa {args.wa_command}: {describe_failure(error)} {NOTHING_CHANGED}",
            footer=None,
        ) from None
    return EXIT_OK


def _print_json(review: Review, document: dict[str, Any]) -> None:
    """A plan's or a sync's JSON, led by the workload's name."""
    sys.stdout.write(json.dumps({"workload": review.workload.name, **document}, indent=2) + "\n")


def _print_changes(changes: Sequence[Change]) -> None:
    for change in changes:
        print(f"  {change.kind:<17} {change.subject}: {change.detail}")


def _print_plan(fmt: str, review: Review, plan: SyncPlan) -> None:
    if fmt == "json":
        _print_json(review, plan.to_json())
        return
    name = review.workload.name
    where = f"workload {name} ({plan.workload_id or 'not created yet'}, {review.tool_region})"
    if not plan.changes:
        print(f"{where}: the Tool matches {review.source}; nothing to change")
    else:
        print(f"{where}: {len(plan.changes)} change(s)")
        _print_changes(plan.changes)
    if plan.unmanaged:
        print(f"answered in the Tool, not in the file (left alone): {', '.join(plan.unmanaged)}")


def _print_result(fmt: str, review: Review, result: SyncResult) -> None:
    if fmt == "json":
        _print_json(review, result.to_json())
        return
    name = review.workload.name
    print(f"workload {name} ({result.workload_id}): {len(result.applied)} change(s) made")
    _print_changes(result.applied)
    if result.milestone:
        print(f"milestone {result.milestone_number}: {result.milestone}")
    if result.retries:
        print(f"retried {result.retries} time(s) after the Tool reported a concurrent change")
    for lens, pillars in result.risk_counts.items():
        for pillar, counts in pillars.items():
            shown = ", ".join(f"{count} {risk.lower()}" for risk, count in counts.items() if count)
            print(f"the Tool's risks, {lens} {pillar}: {shown or 'none counted'}")
