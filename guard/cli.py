"""The ``guard`` command: ``guard plan`` (offline plan of a stack), ``guard diff`` (what a change
does to a stack's protections), ``guard drill``, ``guard bootstrap``, ``guard stacks``,
``guard audit`` (the live account against the stack), ``guard siem reload`` (replay a date
range of logs into the SIEM's loader) and ``guard wa`` (a Well-Architected review kept as a file).

:func:`main` parses the arguments and runs a command, raising what the command raises, so that
tests call it in-process. :func:`run` turns an unexpected exception into exit code 70 with one
line on stderr and the traceback in a file: CI must not read a crash as a policy verdict (exit 1)
or a configuration error (exit 2). The console script (``guard``) and ``python -m guard`` run
:func:`entry_point`: :func:`run` in a process tuned for it (:mod:`guard.process`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from guard import crash, process
from guard.cli_args import day
from guard.cli_plan import DIFF_USAGE
from guard.config import ConfigError, load_stack_file
from guard.config.loader import stack_file_for, unknown_stack_message
from guard.crash import version
from guard.exit_codes import EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK


def _internal_error(code_width: int) -> str:
    """The exit code 70 line of an ``exit codes:`` list whose codes are ``code_width`` wide."""
    pad = " " * (2 + code_width + 1)
    return (
        f"  {'70':<{code_width}} internal error: a bug in guard, not a problem with the stack;\n"
        f"{pad}one line on stderr names the file with the details (.guard/crash-*.txt)\n"
    )


INTERNAL_ERROR_LINE = _internal_error(3)

DESCRIPTION = """\
guard protects internet-facing AWS endpoints (WAF, Shield Advanced, threat detection, keyless
CI) from one stack file per stack: stacks/Pulumi.<stack>.yaml, or the directory in
$GUARD_STACKS_DIR. guard plan checks a stack offline, without credentials; pulumi up deploys it;
guard audit compares the live account with it; guard wa keeps a Well-Architected review as a
file, checked against what the stacks enforce.
"""

EPILOG = (
    'Run "guard COMMAND --help" for a command\'s options, output formats and exit codes.\n'
    "\n"
    "exit codes:\n"
    "  0   done (plan: no mandatory policy is violated; diff: whatever changed)\n"
    "  1   plan: a mandatory policy is violated; diff --fail-on weakens: a change weakens\n"
    "      protection; bootstrap: an existing bucket or key differs; drill: the rehearsal failed;\n"
    "      audit: the live account has gaps; siem reload: some messages were not sent\n"
    "  2   usage or configuration error: each error names the file, line, key, bad value and\n"
    "      what is allowed; nothing was planned, changed or deployed (audit, bootstrap: also\n"
    "      no, wrong-account or denied credentials, or AWS unreachable)\n" + INTERNAL_ERROR_LINE
)

PLAN_DESCRIPTION = """\
Run the stack's Pulumi program (the one pulumi up runs) offline under Pulumi's mocks: no
credentials, no network, nothing deployed. Every resource is checked against the policy pack,
and the plan shows what protects each endpoint. The stack file is validated first; all of its
errors are reported in one run. --all plans every stack instead, several at a time, and prints
one summary table.
"""

PLAN_EPILOG = (
    "formats (--format, default: text):\n"
    "  text      for a terminal: each web ACL with its rules and the endpoints it protects,\n"
    "            the account-level sections, then warnings and policy findings\n"
    "  markdown  the pull-request comment CI posts: policy violations first, long lists folded\n"
    "  json      for tools: resources (sorted by URN, inputs as the engine receives them),\n"
    "            outputs, warnings, policy findings and the exceptions applied; the same input\n"
    "            gives byte-identical output\n"
    "\n"
    "--base GIT_REF: also plan the stack at that git revision and lead with guard diff's\n"
    "comparison: markdown puts the diff first and folds the full plan below it (the comment\n"
    'CI posts), text prints the diff before the plan, json adds a "diff" key. The two plans\n'
    "run in parallel; the exit code stays the plan's.\n"
    "\n"
    "--all: plan every stack of stacks/ (or $GUARD_STACKS_DIR), --jobs N at a time (default:\n"
    "the number of CPUs), each in a worker process, and print one table sorted by stack name:\n"
    "resources, mandatory and advisory findings, seconds and the result (ok, policy, invalid,\n"
    "crashed), the totals, then the mandatory findings or errors of each stack that is not ok.\n"
    '--format json prints {"stacks": [...], "summary": {...}}. A stack that is invalid or\n'
    "crashes does not stop the others. --config-file and --base do not go with --all.\n"
    "\n"
    "exit codes:\n"
    "  0   planned; no mandatory policy is violated (advisory findings may be listed)\n"
    "  1   planned; a mandatory policy is violated (listed in the output); --all: in a stack\n"
    "  2   usage or configuration error (on stderr, with file, line, key and what is allowed;\n"
    "      with --base, also a bad ref or an error at the base, named as such); nothing was\n"
    "      planned; --all: a stack file is invalid (the other stacks are planned), which\n"
    "      outranks 1\n"
    + INTERNAL_ERROR_LINE
    + "      --all: a stack crashed (its row says so, the other stacks are planned); this\n"
    "      outranks 2 and 1\n"
)

DIFF_DESCRIPTION = """\
Show what a change does to a stack's protections: every change, by subject (a web ACL, a
Shield protection, a CI role, ...), marked weakens, strengthens or neutral with a one-line
reason, the weakening changes first. Compare two plan JSON files (guard plan --format json),
or plan the stack twice: at the git revision GIT_REF (with that revision's own code, stack
file and policy pack, in a temporary git worktree) and in the working tree. The two plans run
in parallel, so --base takes about as long as one plan. A stack without a stack file at
GIT_REF is a new stack; one whose file the working tree deleted is a removed stack.
"""

DIFF_EPILOG = (
    "formats (--format, default: text):\n"
    "  text      for a terminal: the verdict, then one line per change (effect, area,\n"
    "            subject, reason), weakening changes first\n"
    "  markdown  the pull-request comment: the verdict, what weakens protection, then the\n"
    "            other changes (many neutral ones folded); one line when nothing changed\n"
    '  json      for tools: {"stack", "base", "head", "status", "changes", "summary"}, each\n'
    "            change with area, subject, kind, path, before, after, effect and reason; the\n"
    "            same input gives byte-identical output\n"
    "\n"
    "exit codes:\n"
    "  0   compared, whatever changed: the diff is a report\n"
    "  1   --fail-on weakens was given and a change weakens protection\n"
    "  2   usage or configuration error of either side, named (base (GIT_REF) or working\n"
    "      tree), a ref that names no commit, or a file that is not a plan JSON document;\n"
    "      nothing was compared\n" + INTERNAL_ERROR_LINE
)

DRILL_DESCRIPTION = """\
Rehearse the DDoS escalation of one endpoint: the stack is planned offline, the endpoint's
DDoSDetected alarm goes to ALARM, and the SRT escalation handler runs against a local moto
server on 127.0.0.1 with the environment the stack deploys. It prints the support case it opens,
the earlier case it deduplicates against, or why the stack would not open one. AWS is never
contacted.
"""

DRILL_EPILOG = (
    "exit codes:\n"
    "  0   the drill ran and showed what the stack would do\n"
    "  1   the escalation handler failed, or the local sandbox was not safe to run in\n"
    "  2   refused or configuration error: the stack file is invalid, the endpoint is unknown,\n"
    "      or the stack would not escalate this endpoint (the reason is on stderr)\n"
    + INTERNAL_ERROR_LINE
)

STACK_HELP = "stack name; reads Pulumi.<stack>.yaml in stacks/ (or $GUARD_STACKS_DIR)"
CONFIG_FILE_HELP = "read this stack file instead of the stack's own"


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="guard", description=DESCRIPTION, epilog=EPILOG, formatter_class=raw
    )
    parser.add_argument("--version", action="version", version=f"guard {version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="COMMAND"
    )
    plan = commands.add_parser(
        "plan",
        help="plan a stack offline and check it against the policy pack (no credentials)",
        description=PLAN_DESCRIPTION,
        epilog=PLAN_EPILOG,
        formatter_class=raw,
    )
    target = plan.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help=STACK_HELP)
    target.add_argument(
        "--all",
        action="store_true",
        help="plan every stack, several at a time, and print one summary table (see below)",
    )
    plan.add_argument("--config-file", type=Path, metavar="PATH", help=CONFIG_FILE_HELP)
    plan.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="output format: text, markdown or json (default: %(default)s; see below)",
    )
    plan.add_argument(
        "--policy-pack",
        type=Path,
        default=Path("policies"),
        metavar="DIR",
        help="policy pack directory (default: policies)",
    )
    plan.add_argument(
        "--today",
        type=day,
        metavar="YYYY-MM-DD",
        help="judge expiry dates as of this day (default: today)",
    )
    plan.add_argument(
        "--base",
        metavar="GIT_REF",
        help="lead with the diff against the stack at this git revision (see below)",
    )
    plan.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="with --all: plan N stacks at a time (default: the number of CPUs)",
    )

    diff = commands.add_parser(
        "diff",
        help="what a change does to a stack's protections, weakening changes first",
        usage=DIFF_USAGE,
        description=DIFF_DESCRIPTION,
        epilog=DIFF_EPILOG,
        formatter_class=raw,
    )
    diff.add_argument(
        "files",
        nargs="*",
        metavar="OLD.json NEW.json",
        help="two plan JSON documents of one stack (guard plan --format json), old first",
    )
    diff.add_argument("--stack", metavar="NAME", help=STACK_HELP + "; with --base")
    diff.add_argument(
        "--base",
        metavar="GIT_REF",
        help="plan the stack at this git revision and compare it with the working tree",
    )
    diff.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="output format: text, markdown or json (default: %(default)s; see below)",
    )
    diff.add_argument(
        "--fail-on",
        choices=("weakens",),
        help="exit 1 when a change weakens protection (default: exit 0 whatever changed)",
    )
    diff.add_argument(
        "--today",
        type=day,
        metavar="YYYY-MM-DD",
        help="judge expiry dates as of this day (default: today): with --base, of both "
        "plans; in both forms, which waivers expire within 30 days",
    )
    diff.add_argument(
        "--policy-pack",
        type=Path,
        metavar="DIR",
        help="with --base: the working tree's policy pack (default: policies; the base uses "
        "the same directory at its revision)",
    )

    drill = commands.add_parser(
        "drill",
        help="rehearse an incident runbook locally (guard drill ddos)",
        description="Rehearse an incident runbook locally; AWS is never contacted.",
    )
    scenarios = drill.add_subparsers(
        dest="scenario", required=True, title="scenarios", metavar="SCENARIO"
    )
    ddos = scenarios.add_parser(
        "ddos",
        help="feed an endpoint's DDoSDetected alarm to the SRT escalation handler on a local moto server",
        description=DRILL_DESCRIPTION,
        epilog=DRILL_EPILOG,
        formatter_class=raw,
    )
    ddos.add_argument("--stack", required=True, help=STACK_HELP)
    ddos.add_argument(
        "--endpoint", required=True, metavar="PRODUCT/ENDPOINT", help="the endpoint under attack"
    )
    ddos.add_argument("--config-file", type=Path, metavar="PATH", help=CONFIG_FILE_HELP)
    ddos.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".guard/drill"),
        metavar="DIR",
        help="where the drill remembers the cases it opened, so a second run shows the dedupe "
        "(default: .guard/drill)",
    )
    ddos.add_argument("--fresh", action="store_true", help="forget earlier drill cases first")

    bootstrap = commands.add_parser(
        "bootstrap",
        help="check (and with --apply create) the state bucket and secrets key a stack's first pulumi up needs",
        description=(
            "Check the Pulumi state bucket (guard:pipeline.state_bucket) and the KMS key of the\n"
            "stack's Pulumi secrets in the stack's account and region. Read-only unless --apply\n"
            "is given; --apply creates what is missing and never changes what exists."
        ),
        epilog=(
            "exit codes:\n"
            "  0  ready: everything exists as required (or was just created)\n"
            "  1  an existing bucket or key differs from the required settings; each difference\n"
            "     is listed with the aws command that fixes it\n"
            "  2  usage or configuration error, no or wrong-account credentials, access denied,\n"
            "     or AWS could not be reached\n" + _internal_error(2)
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bootstrap.add_argument("--stack", required=True, help=STACK_HELP)
    bootstrap.add_argument("--config-file", type=Path, metavar="PATH", help=CONFIG_FILE_HELP)
    bootstrap.add_argument(
        "--apply", action="store_true", help="create the missing pieces (default: dry run)"
    )
    bootstrap.add_argument(
        "--endpoint-url", help="send every AWS call to this endpoint (default: AWS's own)"
    )

    from guard.audit import add_audit_parser

    add_audit_parser(commands, STACK_HELP, CONFIG_FILE_HELP, _internal_error(2))

    from guard.cli_siem import add_siem_parser

    add_siem_parser(commands, STACK_HELP, CONFIG_FILE_HELP, _internal_error(3))

    from guard.cli_wellarchitected import add_wa_parser

    add_wa_parser(commands, _internal_error(3))

    stacks = commands.add_parser(
        "stacks",
        help="list the stacks of the stack files in deploy order (what CI plans and deploys)",
        description=(
            "List every stacks/Pulumi.<name>.yaml (the directory in $GUARD_STACKS_DIR when set)\n"
            "in deploy order: guard:pipeline.deploy_order (lower first, default 100), then name.\n"
            "Each stack comes with its region, account, pipeline roles, state backend and\n"
            "secrets provider; a stack without guard:pipeline has no roles and no backend.\n"
            'json prints {"stacks": [...]} (null for what a stack lacks), text one line per stack.\n'
            "--origin adds where each config key comes from: the stack file or the defaults\n"
            "file it names (guard:defaults: PATH, relative to the stack file's directory)."
        ),
        epilog=(
            "exit codes:\n"
            "  0  listed (an empty list when there are no stack files)\n"
            "  2  usage error, or a stack file is invalid: its errors go to stderr and nothing\n"
            "     is listed\n" + _internal_error(2)
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stacks.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default): one aligned line per stack; json: for CI, byte-stable",
    )
    stacks.add_argument(
        "--origin",
        action="store_true",
        help=(
            "also print, for each stack, every leaf config key with the file:line it comes "
            'from (json: an "origins" object per stack)'
        ),
    )
    return parser


def _jobs(text: str) -> int:
    """``--jobs``: a positive number, or argparse's usage error saying so."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return int(text)


def plan_command(args: argparse.Namespace) -> int:
    if args.all:
        from guard.plan_all import run_plan_all

        return run_plan_all(args)
    if args.jobs is not None:
        print("guard plan: error: --jobs goes with --all", file=sys.stderr)
        return EXIT_CONFIG
    from guard.cli_plan import run_plan

    return run_plan(args)


def diff_command(args: argparse.Namespace) -> int:
    from guard.cli_plan import run_diff

    return run_diff(args)


def drill_command(args: argparse.Namespace) -> int:
    from guard.drill import ddos_command

    return ddos_command(args)


def bootstrap_command(args: argparse.Namespace) -> int:
    from guard.bootstrap import run_bootstrap

    path = args.config_file or Path(stack_file_for(args.stack))
    try:
        config = load_stack_file(path).config
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        print("nothing was changed", file=sys.stderr)
        return EXIT_CONFIG
    if config.pipeline is None:
        print(
            f"{path}: guard:pipeline is not set; bootstrap needs guard:pipeline.state_bucket",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return run_bootstrap(
        stack=args.stack,
        account_id=config.account_id,
        region=config.region,
        pipeline=config.pipeline,
        apply=args.apply,
        endpoint_url=args.endpoint_url,
        out=sys.stdout,
        err=sys.stderr,
    )


def audit_command(args: argparse.Namespace) -> int:
    from guard.audit import run_audit

    return run_audit(args)


def stacks_command(args: argparse.Namespace) -> int:
    from guard.stacks import StacksError, list_origins, list_stacks, render_json, render_text

    try:
        stacks = list_stacks()
        origins = list_origins(stacks) if args.origin else None
    except StacksError as error:
        print(error.render(), file=sys.stderr)
        print("no stacks were listed", file=sys.stderr)
        return EXIT_CONFIG
    render = render_json if args.format == "json" else render_text
    sys.stdout.write(render(stacks, origins))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``guard`` command and return its exit code; unexpected exceptions propagate."""
    args = _parser().parse_args(argv)
    if args.command == "diff":
        # A stack may be missing on one side (new or removed): diff checks both sides itself.
        return diff_command(args)
    if getattr(args, "stack", None) is not None and getattr(args, "config_file", None) is None:
        unknown = unknown_stack_message(args.stack)
        if unknown is not None:
            print(f"guard {args.command}: {unknown}", file=sys.stderr)
            return EXIT_CONFIG
    if args.command == "plan":
        return plan_command(args)
    if args.command == "bootstrap":
        return bootstrap_command(args)
    if args.command == "stacks":
        return stacks_command(args)
    if args.command == "audit":
        return audit_command(args)
    if args.command == "siem":
        from guard.cli_siem import run_siem

        return run_siem(args)
    if args.command == "wa":
        from guard.cli_wellarchitected import run_wa

        return run_wa(args)
    return drill_command(args)


def run(argv: Sequence[str] | None = None) -> int:
    """:func:`main`, with exit 70 for a bug and 141 for a reader that left early."""
    try:
        code = main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left early (`guard plan | head`): not a bug; 141 is the shell's SIGPIPE code.
        process.discard_stdout()
        code = EXIT_BROKEN_PIPE
    except Exception as error:  # SystemExit and KeyboardInterrupt are not Exceptions
        code = report_crash(error)
    return code


def entry_point() -> NoReturn:
    """The ``guard`` console script and ``python -m guard``: :func:`run` in a process tuned for
    it (collector thresholds, no teardown after the output; see :mod:`guard.process`)."""
    process.tune_collector()
    process.leave(run())


#: What a shell reports for a process killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141


def report_crash(error: BaseException) -> int:
    """Write the traceback to a crash file, say on one stderr line where it is; return 70."""
    try:
        cwd = str(Path.cwd())
    except OSError:  # the working directory was removed under us
        cwd = "(unknown)"
    text = crash.details(error, f"command: {crash.command_line()}\nworking directory: {cwd}\n")
    where = crash.write_crash_file(text)
    head = (
        "guard: internal error, a bug in guard and not a problem with the stack "
        f"({crash.summary(error)});"
    )
    if where is not None:
        print(f"{head} details in {where}; please report it", file=sys.stderr)
    else:
        print(f"{head} no crash file could be written, the details follow", file=sys.stderr)
        print(text, file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    entry_point()
