"""``guard audit --stack NAME``: the live account against the stack, read-only.

Plans the stack offline (the program ``pulumi up`` runs, under mocks) for what it declares, reads
the account with boto3 (:mod:`guard.audit_aws`), judges (:mod:`guard.audit_checks`) and prints
(:mod:`guard.audit_render`). Exit 0 without gaps, 1 with gaps, 2 when the audit cannot be made
(usage, config, credentials, access, connection, throttling, the wrong account), with one line
and no traceback. ``--notify`` publishes a short summary to the stack's normal alert topic.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.exit_codes import EXIT_CONFIG, EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:  # boto3 and the audit modules load only when the command runs
    import boto3

    from guard.audit_aws import AwsReader, Live
    from guard.audit_checks import Audit
    from guard.audit_expect import Expected

AUDIT_DESCRIPTION = """\
Compare the live AWS account with the stack, read-only: internet-facing ALBs (in the stack's
regions) and CloudFront distributions that are in no product (uncovered) and endpoints of the
stack that no longer exist (gone); the web ACL actually associated with each planned endpoint
and the logging of each planned web ACL; with guard:logs.alb, whether each planned ALB's access
logs go to the stack's bucket and prefix; the Shield Advanced subscription, protections, SRT role
and proactive engagement; and the findings board: Security Hub active findings (workflow NEW or
NOTIFIED) by severity and control with the oldest finding's age, GuardDuty findings by severity
band, Trusted Advisor checks in warning or error. The stack is planned offline for what it
declares; the account is read with the standard AWS credential chain (the preview role's
permissions are enough, see docs/audit.md).
"""

AUDIT_EPILOG = """\
formats (--format, default: text):
  text      for a terminal: coverage, WAF, ALB access logs, Shield, the findings board, then
            the gaps
  markdown  the weekly posture issue: gaps first, the findings board, details folded
  json      for tools and --previous: {"stack", "account", "regions", "generated_at",
            "coverage", "waf", "alb_access_logs", "shield", "findings", "gaps"}
            (docs/audit.md)

exit codes:
  0   audited, no gaps
  1   audited, gaps: an uncovered or gone endpoint, a missing or wrong web ACL, a planned
      web ACL without logging, an ALB whose access logs are off or go elsewhere (with
      guard:logs.alb), a missing Shield protection, subscription, SRT role or proactive
      engagement, Critical/High findings, detection the stack enables turned off
  2   the audit could not be made: usage or configuration error, no credentials, access
      denied, credentials for another account than guard:account_id, an unreachable
      endpoint, throttling after retries, an unreadable --previous file (one line on stderr)
"""

NOTES = {
    "securityhub": "Security Hub is not enabled in {region}",
    "guardduty": "GuardDuty has no detector in {region}",
    "trusted_advisor": (
        "not available: the account's support plan does not include the Trusted Advisor API "
        "(Business, Enterprise On-Ramp or Enterprise); see the Trusted Advisor console"
    ),
}


def new_session() -> boto3.Session:
    """The boto3 session the audit reads with (the standard credential chain)."""
    import boto3

    return boto3.Session()


def now() -> datetime:
    return datetime.now(UTC)


def read_live(reader: AwsReader, expected: Expected, regions: tuple[str, ...]) -> Live:
    """Everything the judgement needs, read once; the account is checked first."""
    from guard.audit_aws import GLOBAL_REGION, AuditError, Live

    account = reader.account(expected.region)
    if account != expected.account:
        raise AuditError(
            f"the credentials are for account {account}, the stack is for {expected.account} "
            "(guard:account_id): assume a role in the stack's account"
        )
    live = Live(account)
    for region in regions:
        live.endpoints += reader.load_balancers(region)
        for name, arn in reader.web_acls("REGIONAL", region).items():
            live.web_acls[("REGIONAL", region, name)] = arn
    live.endpoints += reader.distributions(account)
    for name, arn in reader.web_acls("CLOUDFRONT", GLOBAL_REGION).items():
        live.web_acls[("CLOUDFRONT", GLOBAL_REGION, name)] = arn
    # Logging is read for the planned web ACLs only: the plan says which must log.
    planned = {(e.scope, e.acl_region, e.web_acl or "") for e in expected.endpoints if e.logged}
    for scope, acl_region, acl_name in sorted(planned):
        logged = live.web_acls.get((scope, acl_region, acl_name))
        if logged is not None and reader.is_logged(logged, acl_region):
            live.logged_web_acls.add(logged)
    # Access logs are read for the planned ALBs the account has, when the stack gives them a
    # bucket (guard:logs.alb); an ALB in a region not read is not known to exist.
    if expected.alb_access_logs is not None:
        existing = {e.arn for e in live.endpoints if e.kind == "alb"}
        for endpoint in expected.endpoints:
            if endpoint.label in expected.alb_access_logs and endpoint.arn in existing:
                live.access_logs[endpoint.arn] = reader.access_logs(endpoint.arn, endpoint.region)
    live.shield = reader.shield()
    live.securityhub = reader.securityhub_findings(expected.region)
    if live.securityhub is None:
        live.securityhub_note = NOTES["securityhub"].format(region=expected.region)
    live.guardduty = reader.guardduty_severities(expected.region)
    if live.guardduty is None:
        live.guardduty_note = NOTES["guardduty"].format(region=expected.region)
    live.trusted_advisor = reader.trusted_advisor()
    if live.trusted_advisor is None:
        live.trusted_advisor_note = NOTES["trusted_advisor"]
    return live


def read_audit_file(path: Path, option: str) -> Any:
    """The JSON of a file given as ``option`` (``--previous``, ``--audit``): ValueError naming
    the option, the file and, for bad JSON, the line and column. The caller checks its keys."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{option} {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{option} {path}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{option} {path}:{error.lineno}:{error.colno}: not JSON ({error.msg})"
        ) from None


def read_previous(path: Path) -> dict[str, Any]:
    """An earlier ``guard audit --format json``, for the trend line."""
    from guard.audit_aws import AuditError

    try:
        document = read_audit_file(path, "--previous")
    except ValueError as error:
        raise AuditError(str(error)) from None
    hub = document.get("findings", {}).get("securityhub") if isinstance(document, dict) else None
    if not isinstance(hub, dict) or not all(
        isinstance(hub.get(key), int) for key in ("critical", "high", "total")
    ):
        raise AuditError(
            f"--previous {path}: not a guard audit JSON (findings.securityhub.critical, high and "
            "total are missing)"
        )
    return document


def publish_summary(reader: AwsReader, expected: Expected, result: Audit) -> None:
    """``--notify``: the summary to the normal topic, with the reader's clients and errors."""
    from guard.audit_render import chatbot_summary

    assert expected.normal_topic is not None  # checked before reading
    reader.call(
        "sns",
        expected.region,
        "Publish",
        TopicArn=expected.normal_topic,
        Message=json.dumps(chatbot_summary(result)),
    )


def add_audit_parser(commands: Any, stack_help: str, config_file_help: str, internal: str) -> None:
    """``guard audit``'s arguments (called by :mod:`guard.cli`)."""
    parser = commands.add_parser(
        "audit",
        help="compare the live account with the stack: coverage, web ACLs, Shield, findings",
        description=AUDIT_DESCRIPTION,
        epilog=AUDIT_EPILOG + internal,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", required=True, help=stack_help)
    parser.add_argument("--config-file", type=Path, metavar="PATH", help=config_file_help)
    parser.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format"
    )
    parser.add_argument(
        "--endpoint-url", help="send every AWS call to this endpoint (default: AWS's own)"
    )
    parser.add_argument(
        "--region",
        action="append",
        metavar="R",
        help="look for ALBs in this region (repeatable; default: the stack's region and its "
        "ALBs' regions)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="FILE",
        help="an earlier guard audit --format json, for the findings trend",
    )
    parser.add_argument(
        "--json-file",
        type=Path,
        metavar="PATH",
        help="also write the JSON contract to PATH (one read of the account for a report and "
        "next week's --previous); not written when the audit could not be made",
    )
    parser.add_argument(
        "--notify",
        action="store_true",
        help="publish a short summary to the stack's normal alert topic (AWS Chatbot to Slack)",
    )


def run_audit(args: argparse.Namespace) -> int:
    from guard.audit_aws import AuditError, AwsReader, client_factory
    from guard.audit_checks import audit
    from guard.audit_expect import expected_from_plan
    from guard.config import ConfigError, load_stack_file
    from guard.config.loader import stack_file_for
    from guard.plan import run_program

    path = args.config_file or Path(stack_file_for(args.stack))
    try:
        loaded = load_stack_file(path)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        print("nothing was audited", file=sys.stderr)
        return EXIT_CONFIG
    expected = expected_from_plan(run_program(loaded, args.stack))
    if args.notify and expected.normal_topic is None:
        print(
            f"guard audit: --notify needs guard:alerts in {path} (the summary goes to the normal "
            "route's topic)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    regions = tuple(dict.fromkeys(args.region)) if args.region else expected.regions
    reader = AwsReader(client_factory(args.endpoint_url, new_session()))
    try:
        previous = read_previous(args.previous) if args.previous else None
        live = read_live(reader, expected, regions)
        result = audit(expected, live, now=now(), regions=regions, previous=previous)
        _print(result, args.format)
        if args.json_file is not None:
            _write_json(result, args.json_file)
        if args.notify:
            publish_summary(reader, expected, result)
    except AuditError as error:
        sys.stdout.flush()
        print(f"guard audit: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_POLICY if result.gaps else EXIT_OK


def _write_json(result: Audit, path: Path) -> None:
    from guard.audit_aws import AuditError
    from guard.audit_render import render_json

    try:
        path.write_text(render_json(result), encoding="utf-8")
    except OSError as error:
        raise AuditError(f"--json-file {path}: {error.strerror}") from None


def _print(result: Audit, form: str) -> None:
    from guard.audit_render import render_json, render_markdown, render_text

    render = {"json": render_json, "markdown": render_markdown, "text": render_text}[form]
    sys.stdout.write(render(result))
