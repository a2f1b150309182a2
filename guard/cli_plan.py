"""``guard plan`` and ``guard diff``: plan a stack in this process (:func:`plan_stack`), plan it
at a git revision beside it (:func:`diff_with_base`), and print either or both.

``guard.cli`` parses the arguments; these functions return the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.config import ConfigError, load_stack_file
from guard.config.errors import StackNameError
from guard.config.loader import stack_file_for, unknown_stack_message
from guard.exit_codes import EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_POLICY
from guard.suggest import did_you_mean

if TYPE_CHECKING:
    from guard.diff import DiffResult
    from guard.diff_model import PlanDocument
    from guard.plan import PlanResult
    from guard.policy_run import PolicyOutcome

DIFF_USAGE = """\
guard diff OLD.json NEW.json [--format text|markdown|json] [--fail-on weakens]
                  [--today YYYY-MM-DD]
       guard diff --stack NAME --base GIT_REF [--format text|markdown|json]
                  [--fail-on weakens] [--today YYYY-MM-DD] [--policy-pack DIR]"""


class PlanError(Exception):
    """The stack cannot be planned (exit 2): ``message``, then ``footer`` if any, on stderr."""

    def __init__(self, message: str, footer: str | None = "nothing was planned or deployed"):
        super().__init__(message)
        self.message, self.footer = message, footer

    def lines(self, side: str | None = None) -> list[str]:
        """What stderr shows; ``side`` (``working tree``) names the side of a diff."""
        head = f"{side}: {self.message}" if side else self.message
        return [head] if self.footer is None else [head, self.footer]


@dataclass(frozen=True)
class StackPlan:
    """One run of a stack's plan and policies, rendered in any format from that one run."""

    result: PlanResult
    outcome: PolicyOutcome

    @property
    def exit_code(self) -> int:
        return EXIT_POLICY if self.outcome.failed else EXIT_OK

    def json_text(self) -> str:
        """``guard plan --format json``: the plan JSON contract (README, "Plan JSON")."""
        from guard.report import render_json

        return render_json(
            self.result,
            {
                "policies": [v.to_json() for v in self.outcome.violations],
                "policy_exceptions_applied": self.outcome.exceptions,
            },
        )

    def document(self) -> dict[str, Any]:
        """The plan JSON as data, exactly as a reader of ``json_text`` sees it."""
        document: dict[str, Any] = json.loads(self.json_text())
        return document

    def render(self, fmt: str) -> str:
        """The plan in ``fmt`` (text, markdown or json)."""
        from guard.report import policy_sections, render_markdown, render_text

        if fmt == "json":
            return self.json_text()
        markdown = fmt == "markdown"
        sections = policy_sections(self.outcome, markdown=markdown)
        return (render_markdown if markdown else render_text)(self.result, sections)


def plan_stack(
    stack: str, *, config_file: Path | None, policy_pack: Path, today: date | None
) -> StackPlan:
    """Validate, plan and check the stack in this process; :class:`PlanError` if it cannot be."""
    from guard.plan import run_program
    from guard.policy_run import PolicyPackError, load_pack, run_policies

    path = config_file or Path(stack_file_for(stack))
    try:
        loaded = load_stack_file(path, today=today)
    except ConfigError as error:
        raise PlanError(error.render()) from None
    try:
        policies = load_pack(policy_pack)
    except PolicyPackError as error:
        raise PlanError(f"guard plan: {error}", footer=None) from None
    known = [p.name for p in policies]
    unknown = sorted({e.policy for e in loaded.config.policy_exceptions} - set(known))
    if unknown:
        named = ", ".join(f"{name}{did_you_mean(name, known)}" for name in unknown)
        raise PlanError(
            f"{path}: guard:policy_exceptions names unknown policies: {named}; "
            f"the pack has: {', '.join(known)}",
            footer=None,
        )
    try:
        result = run_program(loaded, stack)
    except StackNameError as error:
        raise PlanError(f"{path}: stack {stack}: {error}") from None
    return StackPlan(result, run_policies(result, policies, today=today))


class SideError(Exception):
    """One side of a diff cannot be planned or read (exit 2, or 70 for a crash at the base)."""

    def __init__(
        self, lines: list[str], code: int = EXIT_CONFIG, *, base_unplanned: bool = False
    ) -> None:
        super().__init__("\n".join(lines))
        self.lines, self.code = lines, code
        #: The base revision exists but its stack could not be planned (its own config error).
        self.base_unplanned = base_unplanned


WORKING_TREE = "working tree"


def diff_with_base(
    stack: str,
    ref: str,
    *,
    policy_pack: Path | None,
    today: date | None,
) -> tuple[DiffResult, StackPlan | None]:
    """Plan ``stack`` at ``ref`` (a subprocess, see guard.diff_base) and in the working tree
    (this process) at the same time, and compare; also the working tree's plan, if it has the
    stack. :class:`SideError` names the side that failed."""
    from guard.diff import diff_documents
    from guard.diff_base import BaseConfigError, BaseCrashError, BasePlan
    from guard.diff_model import PlanDocument

    try:
        base_plan = BasePlan(stack, ref, today=today, policy_pack=policy_pack).start()
    except BaseConfigError as error:
        raise SideError([str(error)]) from None
    try:
        planned: StackPlan | None = None
        head: PlanDocument
        if Path(stack_file_for(stack)).exists():
            try:
                planned = plan_stack(
                    stack,
                    config_file=None,
                    policy_pack=policy_pack or Path("policies"),
                    today=today,
                )
            except PlanError as error:
                raise SideError(error.lines(WORKING_TREE)) from None
            head = PlanDocument.from_json(planned.document(), WORKING_TREE)
        else:
            head = PlanDocument.missing(stack)
        try:
            base = base_plan.result()
        except BaseConfigError as error:
            raise SideError([str(error)], base_unplanned=True) from None
        except BaseCrashError as error:
            raise SideError([str(error)], EXIT_INTERNAL) from None
    finally:
        base_plan.cancel()  # nothing to stop once result() returned; the worktree is gone
    if not base.exists and not head.exists:
        known = unknown_stack_message(stack) or f"no stack {stack!r}"
        raise SideError([f"{known}; and none at {ref} either"])
    result = diff_documents(
        base,
        head,
        base_label=ref,
        head_label=WORKING_TREE,
        today=today or date.today(),
        pull_request_policies=pull_request_policies(policy_pack),
    )
    return result, planned


def pull_request_policies(policy_pack: Path | None) -> list[Any]:
    """The pack's pull-request policies (``policies/pull_request``); none, said on stderr, when
    the default pack is not here (``guard diff OLD.json NEW.json`` run elsewhere)."""
    from guard.policy_run import PolicyPackError, load_pull_request_policies

    try:
        return load_pull_request_policies(policy_pack or Path("policies"))
    except PolicyPackError as error:
        if policy_pack is not None:
            raise SideError([f"guard diff: {error}"]) from None
        print(f"guard diff: pull-request policies not run: {error}", file=sys.stderr)
        return []


def run_plan(args: argparse.Namespace) -> int:
    """``guard plan``: the plan of the working tree, led by its diff against ``--base``."""
    if args.base is not None and args.config_file is not None:
        print(
            "guard plan: --base compares the stack's own file at two revisions; "
            "it cannot be used with --config-file",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.base is None:
        try:
            planned = plan_stack(
                args.stack,
                config_file=args.config_file,
                policy_pack=args.policy_pack,
                today=args.today,
            )
        except PlanError as error:
            print("\n".join(error.lines()), file=sys.stderr)
            return EXIT_CONFIG
        sys.stdout.write(planned.render(args.format))
        return planned.exit_code
    from guard import diff_render

    try:
        diff, head_plan = diff_with_base(
            args.stack, args.base, policy_pack=args.policy_pack, today=args.today
        )
    except SideError as error:
        print("\n".join(error.lines), file=sys.stderr)
        if not error.base_unplanned:
            return error.code
        # A base that cannot be planned (main's own stack file broken) must not block the pull
        # request that fixes it: the plan is shown, saying that the diff is missing and why.
        return _plan_without_diff(args, error.lines[0])
    assert head_plan is not None  # main() refused a stack without a stack file
    if args.format == "json":
        document = head_plan.document()
        document["diff"] = diff.to_json()
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(
            diff_render.render_plan_with_diff(
                diff_render.render_markdown(diff), head_plan.render("markdown")
            )
        )
    else:
        sys.stdout.write(diff_render.render_text(diff) + "\n" + head_plan.render("text"))
    return head_plan.exit_code


def _plan_without_diff(args: argparse.Namespace, why: str) -> int:
    """The working tree's plan alone, led by a note that the base could not be planned."""
    try:
        planned = plan_stack(
            args.stack, config_file=None, policy_pack=args.policy_pack, today=args.today
        )
    except PlanError as error:
        print("\n".join(error.lines(WORKING_TREE)), file=sys.stderr)
        return EXIT_CONFIG
    note = f"no diff: {args.base} could not be planned ({why}); the plan alone follows"
    if args.format == "json":
        document = planned.document()
        document["diff"] = None
        document["diff_error"] = note
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    elif args.format == "markdown":
        marker, rest = planned.render("markdown").split("\n", 1)
        from guard.diff_render import escape_markdown

        sys.stdout.write(f"{marker}\n> **guard diff**: {escape_markdown(note)}\n\n{rest}")
    else:
        sys.stdout.write(f"guard diff: {note}\n\n{planned.render('text')}")
    return planned.exit_code


def _diff_usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with how ``guard diff`` was called (None: one of its two forms)."""
    files, by_stack = args.files, args.stack is not None or args.base is not None
    if files and by_stack:
        return "give either two plan JSON files or --stack with --base, not both"
    if files:
        if len(files) != 2:
            return f"give two plan JSON files, OLD.json and NEW.json (got {len(files)})"
        if args.policy_pack is not None:
            return "--policy-pack goes with --stack and --base (the files are plans already)"
        return None
    if args.stack is None or args.base is None:
        missing = "--base GIT_REF" if args.base is None else "--stack NAME"
        if not by_stack:
            return "give two plan JSON files (OLD.json NEW.json), or --stack NAME --base GIT_REF"
        return f"--stack and --base go together: {missing} is missing"
    return None


def read_plan_file(path: Path) -> PlanDocument:
    """A plan JSON file; :class:`SideError` naming the file (and line and column) if not one."""
    from guard.diff_model import PlanDocument, PlanDocumentError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SideError([f"{path}: cannot read it: {error.strerror or error}"]) from None
    except UnicodeDecodeError as error:
        raise SideError(
            [f"{path}: not UTF-8 text (byte {error.start}); not a plan JSON file"]
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SideError(
            [f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"]
        ) from None
    try:
        return PlanDocument.from_json(document, str(path))
    except PlanDocumentError as error:
        raise SideError([str(error)]) from None


def run_diff(args: argparse.Namespace) -> int:
    """``guard diff``: two plan files, or the stack at ``--base`` and in the working tree."""
    from guard import diff_render
    from guard.diff import diff_documents

    problem = _diff_usage_problem(args)
    if problem is not None:
        print(f"usage: {DIFF_USAGE}\nguard diff: error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.files:
            old, new = (Path(f) for f in args.files)
            base, head = read_plan_file(old), read_plan_file(new)
            if base.stack != head.stack:
                raise SideError(
                    [
                        f"{old} is a plan of stack {base.stack} and {new} of stack {head.stack}; "
                        "guard diff compares two plans of one stack"
                    ]
                )
            result = diff_documents(
                base,
                head,
                base_label=str(old),
                head_label=str(new),
                today=args.today or date.today(),
                pull_request_policies=pull_request_policies(None),
            )
        else:
            result, _ = diff_with_base(
                args.stack, args.base, policy_pack=args.policy_pack, today=args.today
            )
    except SideError as error:
        print("\n".join(error.lines), file=sys.stderr)
        print("guard diff: nothing was compared", file=sys.stderr)
        return error.code
    render = {
        "json": diff_render.render_json,
        "markdown": diff_render.render_markdown,
        "text": diff_render.render_text,
    }[args.format]
    sys.stdout.write(render(result))
    return EXIT_POLICY if args.fail_on == "weakens" and result.weakens else EXIT_OK
