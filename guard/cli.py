"""The ``guard`` command: ``guard plan`` (offline plan of a stack), ``guard drill``,
``guard bootstrap`` and ``guard stacks``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from guard.config import ConfigError, load_stack_file
from guard.config.loader import stack_file_for

EXIT_OK, EXIT_POLICY, EXIT_CONFIG = 0, 1, 2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan", help="run the stack's program offline and report what protects each endpoint"
    )
    plan.add_argument("--stack", required=True, help="stack name; reads stacks/Pulumi.<stack>.yaml")
    plan.add_argument("--config-file", type=Path, help="another stack file to read instead")
    plan.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    plan.add_argument(
        "--policy-pack",
        type=Path,
        default=Path("policies"),
        help="policy pack directory (default: policies)",
    )
    plan.add_argument(
        "--today", type=_day, help="judge expiry dates as of this day (default: today)"
    )

    drill = commands.add_parser("drill", help="rehearse an incident runbook locally")
    scenarios = drill.add_subparsers(dest="scenario", required=True)
    ddos = scenarios.add_parser(
        "ddos",
        help="feed an endpoint's DDoSDetected alarm to the SRT escalation handler on a local moto server",
    )
    ddos.add_argument("--stack", required=True, help="stack name; reads stacks/Pulumi.<stack>.yaml")
    ddos.add_argument("--endpoint", required=True, metavar="PRODUCT/ENDPOINT")
    ddos.add_argument("--config-file", type=Path, help="another stack file to read instead")
    ddos.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".guard/drill"),
        help="where the drill remembers the cases it opened, so a second run shows the dedupe",
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
            "     or AWS could not be reached"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bootstrap.add_argument(
        "--stack", required=True, help="stack name; reads stacks/Pulumi.<stack>.yaml"
    )
    bootstrap.add_argument("--config-file", type=Path, help="another stack file to read instead")
    bootstrap.add_argument(
        "--apply", action="store_true", help="create the missing pieces (default: dry run)"
    )
    bootstrap.add_argument(
        "--endpoint-url", help="send every AWS call to this endpoint (default: AWS's own)"
    )

    stacks = commands.add_parser(
        "stacks",
        help="list the stacks of the stack files in deploy order (what CI plans and deploys)",
        description=(
            "List every stacks/Pulumi.<name>.yaml (the directory in $GUARD_STACKS_DIR when set)\n"
            "in deploy order: guard:pipeline.deploy_order (lower first, default 100), then name.\n"
            "Each stack comes with its region, account, pipeline roles, state backend and\n"
            "secrets provider; a stack without guard:pipeline has no roles and no backend.\n"
            'json prints {"stacks": [...]} (null for what a stack lacks), text one line per stack.'
        ),
        epilog=(
            "exit codes:\n"
            "  0  listed (an empty list when there are no stack files)\n"
            "  2  usage error, or a stack file is invalid: its errors go to stderr and nothing\n"
            "     is listed"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stacks.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default): one aligned line per stack; json: for CI, byte-stable",
    )
    return parser


def plan_command(args: argparse.Namespace) -> int:
    from guard.plan import run_program
    from guard.policy_run import PolicyPackError, load_pack, run_policies
    from guard.report import policy_sections, render_json, render_markdown, render_text

    path = args.config_file or Path(stack_file_for(args.stack))
    try:
        loaded = load_stack_file(path, today=args.today)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        print("nothing was planned or deployed", file=sys.stderr)
        return EXIT_CONFIG
    try:
        policies = load_pack(args.policy_pack)
    except PolicyPackError as error:
        print(f"guard plan: {error}", file=sys.stderr)
        return EXIT_CONFIG
    unknown = sorted(
        {e.policy for e in loaded.config.policy_exceptions} - {p.name for p in policies}
    )
    if unknown:
        print(
            f"{path}: guard:policy_exceptions names unknown policies: {', '.join(unknown)}; "
            f"the pack has: {', '.join(p.name for p in policies)}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    result = run_program(loaded, args.stack)
    outcome = run_policies(result, policies, today=args.today)
    if args.format == "json":
        sys.stdout.write(
            render_json(
                result,
                {
                    "policies": [v.to_json() for v in outcome.violations],
                    "policy_exceptions_applied": outcome.exceptions,
                },
            )
        )
    else:
        markdown = args.format == "markdown"
        sections = policy_sections(outcome, markdown=markdown)
        render = render_markdown if markdown else render_text
        sys.stdout.write(render(result, sections))
    return EXIT_POLICY if outcome.failed else EXIT_OK


def drill_command(args: argparse.Namespace) -> int:
    from components.shield import alarm_name, metric_region
    from guard.drill import run_ddos_drill

    path = args.config_file or Path(stack_file_for(args.stack))
    try:
        config = load_stack_file(path).config
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_CONFIG
    product_name, _, endpoint_name = args.endpoint.partition("/")
    product = next((p for p in config.products if p.name == product_name), None)
    endpoint = (
        next((e for e in product.endpoints if e.name == endpoint_name), None) if product else None
    )
    if product is None or endpoint is None:
        known = ", ".join(f"{p.name}/{e.name}" for p in config.products for e in p.endpoints)
        print(
            f"guard drill: no endpoint {args.endpoint!r} in {path}; endpoints: {known}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if config.shield is None:
        print(
            f"guard drill: {path} has no guard:shield section; nothing escalates", file=sys.stderr
        )
        return EXIT_CONFIG
    escalation = config.shield.escalation
    state_path = args.state_dir / f"{args.stack}.json"
    if args.fresh:
        state_path.unlink(missing_ok=True)
    print(f"drill: alarm {alarm_name(args.stack, product.name, endpoint.name)} goes to ALARM")
    return run_ddos_drill(
        stack=args.stack,
        product=product.name,
        endpoint=endpoint.name,
        resource_arn=endpoint.arn,
        alarm_region=metric_region(endpoint, config.region),
        account_id=config.account_id,
        severity=escalation.severity if escalation else "urgent",
        dedupe_hours=escalation.dedupe_hours if escalation else 6,
        cc_emails=list(config.shield.contact_emails),
        state_path=state_path,
        out=sys.stdout,
    )


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


def stacks_command(args: argparse.Namespace) -> int:
    from guard.stacks import StacksError, list_stacks, render_json, render_text

    try:
        stacks = list_stacks()
    except StacksError as error:
        print(error.render(), file=sys.stderr)
        print("no stacks were listed", file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(render_json(stacks) if args.format == "json" else render_text(stacks))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "plan":
        return plan_command(args)
    if args.command == "bootstrap":
        return bootstrap_command(args)
    if args.command == "stacks":
        return stacks_command(args)
    return drill_command(args)


if __name__ == "__main__":
    sys.exit(main())
