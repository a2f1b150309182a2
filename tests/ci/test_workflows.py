"""What users rely on in this repository's own CI definitions.

The workflow files are parsed and checked for the properties that keep the
pipeline safe (who gets AWS credentials, with which role, when) and for the
behaviour promised in their comments. The last tests run .ci/lint-workflows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.config.loader import STACKS_DIR_VARIABLE as STACKS_VARIABLE
from tests.ci.support import CIRCLECI, DEPENDABOT, ROOT, WORKFLOWS, guard_stacks
from tests.conftest import STACKS as FIXTURE_STACKS
from tests.stack_files import write_stack_file

LINT_SCRIPT = ROOT / ".ci" / "lint-workflows"
CI_FILES = [*sorted(WORKFLOWS.glob("*.yml")), CIRCLECI, DEPENDABOT]

#: The per-stack job of each workflow and the pipeline role it assumes.
STACK_JOBS = {
    "preview.yml": "plan",
    "deploy.yml": "deploy",
    "drift.yml": "drift",
    "posture.yml": "posture",
}
ROLE_KIND = {
    "preview.yml": "preview",
    "deploy.yml": "deploy",
    "drift.yml": "preview",
    "posture.yml": "preview",
}
#: The per-stack jobs' matrix: what the `stacks` job built from `guard stacks`.
STACKS_MATRIX = "${{ fromJSON(needs.stacks.outputs.matrix) }}"
#: A matrix cannot be empty: the per-stack jobs are skipped when there is no stack.
HAS_STACKS = "needs.stacks.outputs.count != '0'"
#: Role ARNs and the example stack names, which no CI file may name: the stacks come from the
#: stack files, through `guard stacks`.
ROLE_ARN_RE = re.compile(r"arn:aws:iam::\d*:role/")
STACK_NAME_RE = re.compile(r"\b(prod|staging)\b", re.IGNORECASE)
NOT_FORK = "github.event.pull_request.head.repo.fork == false"
CONFIGURE_AWS = "aws-actions/configure-aws-credentials@"
PULUMI_ACTION = "pulumi/actions@"
CHECKOUT = "actions/checkout@"


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), on
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(step: dict[str, Any], prefix: str) -> bool:
    return str(step.get("uses", "")).startswith(prefix)


def index_of(job: dict[str, Any], predicate: Any) -> int:
    for i, step in enumerate(steps(job)):
        if predicate(step):
            return i
    raise AssertionError("no such step")


def excludes_forks(condition: object) -> bool:
    """True when a step condition requires a non-fork pull request.

    The fork test must be a conjunct: an "||" anywhere could let forks back in.
    """
    text = " ".join(str(condition or "").split())
    return NOT_FORK in text and "||" not in text


def step_with_id(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return steps(job)[index_of(job, lambda s: s.get("id") == step_id)]


def runs(workflow: dict[str, Any]) -> list[str]:
    return [str(s["run"]) for job in workflow["jobs"].values() for s in steps(job) if "run" in s]


ALL_WORKFLOWS = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_expected_workflows_exist() -> None:
    assert {"preview.yml", "deploy.yml", "drift.yml", "posture.yml"} <= set(ALL_WORKFLOWS)


# --- permissions and credentials -----------------------------------------------------------


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_top_level_permissions_grant_nothing_writable(name: str) -> None:
    permissions = load(name)["permissions"]
    assert permissions == {} or set(permissions.values()) <= {"read", "none"}


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_every_job_declares_its_permissions(name: str) -> None:
    for job_id, job in load(name)["jobs"].items():
        assert "permissions" in job, job_id


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_only_jobs_assuming_a_role_get_an_oidc_token(name: str) -> None:
    for job_id, job in load(name)["jobs"].items():
        assumes = any(uses(s, CONFIGURE_AWS) for s in steps(job))
        assert (job["permissions"].get("id-token") == "write") == assumes, job_id


def test_preview_plan_job_permissions_are_exact() -> None:
    jobs = load("preview.yml")["jobs"]
    oidc_jobs = [j for j in jobs.values() if any(uses(s, CONFIGURE_AWS) for s in steps(j))]
    assert len(oidc_jobs) == 1
    assert oidc_jobs[0]["permissions"] == {
        "id-token": "write",
        "contents": "read",
        "pull-requests": "write",
    }


def test_preview_runs_on_pull_request_not_pull_request_target() -> None:
    on = triggers(load("preview.yml"))
    assert set(on) == {"pull_request"}


def test_fork_prs_never_reach_the_oidc_step() -> None:
    job = load("preview.yml")["jobs"]["plan"]
    aws_steps = [s for s in steps(job) if uses(s, CONFIGURE_AWS) or uses(s, PULUMI_ACTION)]
    assert aws_steps, "the plan job has no live preview steps"
    for step in aws_steps:
        assert excludes_forks(step.get("if")), step.get("name")
    # The job-level `if` only skips the job when there is no stack; it admits no one.
    assert job["if"] == HAS_STACKS


def test_excludes_forks_helper_can_fail() -> None:
    assert not excludes_forks(None)
    assert not excludes_forks("github.event_name == 'pull_request'")
    assert not excludes_forks(f"{NOT_FORK} || github.actor == 'me'")


def test_preview_offline_plan_is_posted_before_failing() -> None:
    job = load("preview.yml")["jobs"]["plan"]
    plan = index_of(job, lambda s: "guard plan" in s.get("run", ""))
    comment = index_of(job, lambda s: "gh api" in s.get("run", ""))
    fail = index_of(job, lambda s: s.get("name") == "Fail if the plan failed")
    oidc = index_of(job, lambda s: uses(s, CONFIGURE_AWS))
    assert plan < comment < fail < oidc
    run = steps(job)[plan]["run"]
    assert '--stack "$STACK"' in run and "--format markdown" in run
    assert "steps.plan.outputs.status" in steps(job)[fail]["if"]
    # The comment does not depend on the plan succeeding.
    assert "steps.plan" not in str(steps(job)[comment].get("if", ""))


def test_preview_comment_is_edited_in_place() -> None:
    job = load("preview.yml")["jobs"]["plan"]
    step = steps(job)[index_of(job, lambda s: "gh api" in s.get("run", ""))]
    assert 'marker="<!-- guard-plan:${STACK} -->"' in step["run"]
    assert "--method PATCH" in step["run"] and "--method POST" in step["run"]
    assert "uses" not in step  # gh CLI, no third-party comment action


def test_preview_live_step() -> None:
    job = load("preview.yml")["jobs"]["plan"]
    step = steps(job)[index_of(job, lambda s: uses(s, PULUMI_ACTION))]
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.name }}"
    assert step["with"]["cloud-url"] == "${{ matrix.backend }}"
    assert step["with"]["policyPacks"] == "policies"
    assert step["with"]["comment-on-pr"] is True
    aws = steps(job)[index_of(job, lambda s: uses(s, CONFIGURE_AWS))]
    # Stacks without guard:pipeline (preview_role null) get the offline plan only.
    for live in (step, aws):
        assert str(live["if"]).startswith("matrix.preview_role != '' && "), live["name"]
    for other in steps(job):
        if other not in (step, aws):
            assert "preview_role" not in str(other.get("if", "")), other.get("name")


def test_deploy_job() -> None:
    workflow = load("deploy.yml")
    assert triggers(workflow) == {"push": {"branches": ["main"]}}
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["concurrency"] == {
        "group": "guard-deploy-${{ matrix.name }}",
        "cancel-in-progress": False,
    }
    # One stack at a time, in the matrix's (guard stacks', deploy_order) order; a failure
    # cancels the stacks after it.
    assert job["strategy"]["max-parallel"] == 1
    assert job["strategy"]["fail-fast"] is True
    gate = index_of(job, lambda s: "guard plan" in s.get("run", ""))
    secrets = index_of(job, lambda s: "SECRETS_PROVIDER" in s.get("env", {}))
    oidc = index_of(job, lambda s: uses(s, CONFIGURE_AWS))
    up = index_of(job, lambda s: "pulumi up --yes" in s.get("run", ""))
    assert gate < secrets < oidc < up
    up_step = steps(job)[up]
    assert up_step["env"] == {"BACKEND_URL": "${{ matrix.backend }}"}
    assert up_step["run"].splitlines() == [
        'pulumi login "$BACKEND_URL"',
        'pulumi up --yes --non-interactive --stack "$STACK" --policy-pack policies --diff',
    ]
    assert "exit" in steps(job)[gate]["run"]  # the gate fails the job
    assert steps(job)[secrets]["env"] == {"SECRETS_PROVIDER": "${{ matrix.secrets_provider }}"}


def test_no_workflow_sets_a_passphrase() -> None:
    # A KMS secrets provider or nothing: a passphrase in CI would be a stored secret.
    for path in CI_FILES:
        assert "PULUMI_CONFIG_PASSPHRASE" not in path.read_text(encoding="utf-8"), path


def _secrets_check(provider: str) -> subprocess.CompletedProcess[str]:
    job = load("deploy.yml")["jobs"]["deploy"]
    step = steps(job)[index_of(job, lambda s: "SECRETS_PROVIDER" in s.get("env", {}))]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={"PATH": os.environ["PATH"], "STACK": "mine", "SECRETS_PROVIDER": provider},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("provider", ["", "passphrase", "gcpkms://projects/p/keys/k"])
def test_deploy_stops_without_a_kms_secrets_provider(provider: str) -> None:
    result = _secrets_check(provider)
    assert result.returncode == 1
    assert result.stdout.startswith("::error::stack mine has no awskms:// secrets provider")
    assert "guard bootstrap" in result.stdout
    assert "pulumi stack init mine --secrets-provider awskms://" in result.stdout
    assert "docs/first-deploy.md" in result.stdout


def test_deploy_goes_on_with_a_kms_secrets_provider() -> None:
    result = _secrets_check("awskms://alias/guard-mine-secrets?region=eu-west-1")
    assert result.returncode == 0, result.stdout
    assert "::error::" not in result.stdout


def test_drift_workflow() -> None:
    workflow = load("drift.yml")
    on = triggers(workflow)
    assert "workflow_dispatch" in on
    (schedule,) = on["schedule"]
    assert len(schedule["cron"].split()) == 5
    job = workflow["jobs"]["drift"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    runs = "\n".join(s.get("run", "") for s in steps(job))
    preview = next(line for line in runs.splitlines() if "pulumi preview" in line)
    assert "--refresh" in preview and "--expect-no-changes" in preview
    assert "--diff" in runs
    assert 'title="Drift detected in stack ${STACK}"' in runs
    assert "--label drift" in runs
    assert "gh issue create" in runs and "gh issue edit" in runs and "gh issue close" in runs
    assert "LIMIT = 65536" in runs
    open_step = steps(job)[index_of(job, lambda s: "gh issue create" in s.get("run", ""))]
    close_step = steps(job)[index_of(job, lambda s: "gh issue close" in s.get("run", ""))]
    assert open_step["if"] == "steps.drift.outputs.status != '0'"
    assert close_step["if"] == "steps.drift.outputs.status == '0'"
    login = steps(job)[index_of(job, lambda s: "pulumi login" in s.get("run", ""))]
    assert login["env"] == {"BACKEND_URL": "${{ matrix.backend }}"}
    assert login["run"].strip() == 'pulumi login "$BACKEND_URL"'


# --- the weekly posture audit (posture.yml) -------------------------------------------------

POSTURE_TITLE = 'title="Posture gaps in stack ${STACK}"'
#: The audit's exit code, as the audit step records it.
AUDIT_STATUS = "steps.audit.outputs.status"
RUN_URL = "https://github.com/my-org/my-infra/actions/runs/77"


def posture_step(name: str) -> dict[str, Any]:
    job = load("posture.yml")["jobs"]["posture"]
    return steps(job)[index_of(job, lambda s: s.get("name") == name)]


def test_posture_workflow() -> None:
    workflow = load("posture.yml")
    on = triggers(workflow)
    assert on["workflow_dispatch"] is None
    (schedule,) = on["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert minute.isdigit() and hour.isdigit()
    assert (day, month) == ("*", "*") and weekday.isdigit()  # once a week
    assert workflow["permissions"] == {}
    assert workflow["concurrency"] == {"group": "guard-posture", "cancel-in-progress": False}
    job = workflow["jobs"]["posture"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    assert job["strategy"]["fail-fast"] is False
    assert all(isinstance(j["timeout-minutes"], int) for j in workflow["jobs"].values())
    # guard audit plans in-process: no Pulumi CLI, no state backend.
    assert not any(uses(s, PULUMI_ACTION) for s in steps(job))
    assert "pulumi" not in "\n".join(runs(workflow))
    previous = index_of(job, lambda s: s.get("id") == "previous")
    oidc = index_of(job, lambda s: uses(s, CONFIGURE_AWS))
    audit = index_of(job, lambda s: s.get("id") == "audit")
    text = index_of(job, lambda s: s.get("name") == "Write the posture issue text")
    open_ = index_of(job, lambda s: "gh issue create" in s.get("run", ""))
    close = index_of(job, lambda s: "gh issue close" in s.get("run", ""))
    fail = index_of(job, lambda s: s.get("name") == "Fail when the audit could not be made")
    assert previous < oidc < audit < text < open_ < close < fail
    # Only the steps before the credentials and after the audit talk to GitHub.
    for i, step in enumerate(steps(job)):
        if "gh " in step.get("run", ""):
            assert i in {previous, open_, close}, step.get("name")


def test_posture_issue_steps_follow_the_exit_code() -> None:
    job = load("posture.yml")["jobs"]["posture"]
    text = posture_step("Write the posture issue text")
    open_ = steps(job)[index_of(job, lambda s: "gh issue create" in s.get("run", ""))]
    close = steps(job)[index_of(job, lambda s: "gh issue close" in s.get("run", ""))]
    fail = posture_step("Fail when the audit could not be made")
    # 1 gaps: open or update; 0 no gaps: close; anything else (2, 70): fail, no issue touched.
    assert open_["if"] == f"{AUDIT_STATUS} == '1'"
    assert close["if"] == f"{AUDIT_STATUS} == '0'"
    assert text["if"] == f"{AUDIT_STATUS} == '0' || {AUDIT_STATUS} == '1'"
    assert fail["if"] == f"{AUDIT_STATUS} != '0' && {AUDIT_STATUS} != '1'"
    assert "gh " not in fail["run"]
    for step in (text, fail):
        assert step["env"] == {"AUDIT_STATUS": "${{ steps.audit.outputs.status }}"}
    for step in (open_, close, step_with_id(job, "previous")):
        assert POSTURE_TITLE in step["run"]
    assert "--label posture" in open_["run"] and "--state open --label posture" in close["run"]
    assert "LIMIT = 65536" in text["run"]
    audit = step_with_id(job, "audit")
    assert audit["env"] == {"ALERTS": "${{ matrix.alerts }}"}


# The posture steps, run as GitHub runs them, with stand-ins for guard and gh.

# guard audit: the report on stdout and, with --json-file, the JSON in that file, both only
# when the audit was made (exit 0 or 1), as guard does.
STUB_AUDIT = """#!/usr/bin/env bash
echo "guard $*" >> "$LOG"
json_file=""
while [ $# -gt 0 ]; do
  if [ "$1" = --json-file ]; then json_file="$2"; shift; fi
  shift
done
status="${GUARD_STATUS:-0}"
if [ "$status" -le 1 ]; then
  cat "$AUDIT_MD"
  if [ -n "$json_file" ]; then cp "$AUDIT_JSON" "$json_file"; fi
fi
if [ "$status" = 70 ]; then mkdir -p .guard && echo "Traceback: a bug" > .guard/crash-1.txt; fi
exit "$status"
"""
STUB_GH = """#!/usr/bin/env bash
echo "gh $*" >> "$LOG"
case "$1 $2" in
  "issue list") case " $* " in *" --state all "*) cat "$GH_ALL" ;; *) cat "$GH_OPEN" ;; esac ;;
  "issue view") cat "$GH_VIEW" ;;
esac
"""


def audit_json(**changes: Any) -> dict[str, Any]:
    """A ``guard audit --format json`` document of stack ``mine``."""
    return {
        "stack": "mine",
        "account": "123456789012",
        "regions": ["eu-west-1"],
        "generated_at": "2026-11-23T22:23:00+00:00",
        "coverage": {"uncovered": [], "gone": []},
        "waf": [],
        "shield": {},
        "findings": {
            "securityhub": {"critical": 1, "high": 2, "total": 5, "by_control": [], "trend": None},
            "guardduty": {"critical": 0, "high": 0},
        },
        "gaps": [{"kind": "finding", "subject": "S3.1", "detail": "an <b>--></b> in a title"}],
        **changes,
    }


@pytest.fixture
def posture(tmp_path: Path) -> Path:
    """A checkout for the posture steps: guard and gh stand-ins, no issue yet."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    cwd = tmp_path / "checkout"
    venv_bin = cwd / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    (venv_bin / "guard").write_text(STUB_AUDIT, encoding="utf-8")
    (venv_bin / "guard").chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(STUB_GH, encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)
    for name in ("gh_open.json", "gh_all.json"):
        (tmp_path / name).write_text("[]", encoding="utf-8")
    (tmp_path / "audit.json").write_text(json.dumps(audit_json()), encoding="utf-8")
    (tmp_path / "audit.md").write_text("## guard audit: `mine` (gaps)\n", encoding="utf-8")
    return cwd


def _posture_run(
    cwd: Path, name: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, str]]:
    tmp = cwd.parent
    log, output = tmp / "log", tmp / "github_output"
    log.write_text("", encoding="utf-8")
    output.write_text("", encoding="utf-8")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", posture_step(name)["run"]],
        cwd=cwd,
        env={
            "PATH": f"{tmp / 'bin'}:{os.environ['PATH']}",
            "LOG": str(log),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "my-org/my-infra",
            "GITHUB_RUN_ID": "77",
            "STACK": "mine",
            "GH_OPEN": str(tmp / "gh_open.json"),
            "GH_ALL": str(tmp / "gh_all.json"),
            "GH_VIEW": str(tmp / "gh_view.json"),
            "AUDIT_JSON": str(tmp / "audit.json"),
            "AUDIT_MD": str(tmp / "audit.md"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result, log.read_text(encoding="utf-8").splitlines(), outputs


#: The one read of the account: the report on stdout, the JSON for the issue's record.
AUDIT_RUN = "guard audit --stack mine --format markdown --json-file posture.json"


@pytest.mark.parametrize(
    ("guard_status", "alerts"),
    [
        ("0", "true"),
        ("1", "false"),
        ("1", "true"),
        ("2", "true"),  # the audit could not be made: no JSON
        ("70", "false"),
        ("137", "true"),
    ],
)
def test_posture_audit_step(posture: Path, guard_status: str, alerts: str) -> None:
    result, log, outputs = _posture_run(posture, "Audit", GUARD_STATUS=guard_status, ALERTS=alerts)
    assert result.returncode == 0, result.stderr  # the status decides the later steps
    assert outputs == {"status": guard_status}
    # One read of the account; the Slack summary only for a stack with guard:alerts.
    notify = " --notify" if alerts == "true" else ""
    assert log == [AUDIT_RUN + notify]
    report = (posture.parent / "audit.md").read_text()
    if guard_status in ("0", "1"):
        # The report from stdout, the JSON from --json-file.
        assert (posture / "posture.md").read_text() == report
        assert report in result.stdout
        assert (posture / "posture.json").read_text() == (posture.parent / "audit.json").read_text()
    else:
        assert not (posture / "posture.json").exists()
    assert ("Traceback: a bug" in result.stdout) == (guard_status == "70")


def test_posture_audit_step_with_a_previous_audit(posture: Path) -> None:
    (posture / "previous.json").write_text(json.dumps(audit_json()), encoding="utf-8")
    _, log, _ = _posture_run(posture, "Audit", ALERTS="")
    assert log == [f"{AUDIT_RUN} --previous previous.json"]
    _, log, _ = _posture_run(posture, "Audit", ALERTS="true")
    assert log == [f"{AUDIT_RUN} --previous previous.json --notify"]


@pytest.mark.parametrize("guard_status", ["0", "1"])
def test_posture_issue_text_is_the_one_audit(posture: Path, guard_status: str) -> None:
    # The issue text is written from what the audit step left: its report and its JSON.
    result, _, outputs = _posture_run(posture, "Audit", GUARD_STATUS=guard_status)
    assert result.returncode == 0, result.stderr
    result, _, _ = _posture_run(
        posture, "Write the posture issue text", AUDIT_STATUS=outputs["status"]
    )
    assert result.returncode == 0, result.stderr
    body = (posture / ("issue.md" if guard_status == "1" else "closing.md")).read_text()
    assert (posture.parent / "audit.md").read_text() in body
    assert _records(body) == [audit_json()]


def _records(text: str) -> list[dict[str, Any]]:
    found = re.findall(r"<!-- guard-audit-json\n(.*?)\n-->", text, re.DOTALL)
    return [json.loads(raw) for raw in found]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_posture_issue_text_with_gaps(posture: Path) -> None:
    (posture / "posture.md").write_text("## guard audit\n", encoding="utf-8")
    (posture / "posture.json").write_text(json.dumps(audit_json()), encoding="utf-8")
    result, _, _ = _posture_run(posture, "Write the posture issue text", AUDIT_STATUS="1")
    assert result.returncode == 0, result.stderr
    body = (posture / "issue.md").read_text(encoding="utf-8")
    assert body.startswith(
        f"`guard audit` found gaps between stack `mine` and its account in {RUN_URL}"
    )
    assert "## guard audit\n" in body
    # The record is the audit JSON, whole; nothing in it can end the HTML comment early.
    assert body.count("-->") == 1
    assert _records(body) == [audit_json()]
    assert not (posture / "closing.md").exists()


def test_posture_closing_text(posture: Path) -> None:
    (posture / "posture.md").write_text("## guard audit: no gaps\n", encoding="utf-8")
    (posture / "posture.json").write_text(json.dumps(audit_json(gaps=[])), encoding="utf-8")
    result, _, _ = _posture_run(posture, "Write the posture issue text", AUDIT_STATUS="0")
    assert result.returncode == 0, result.stderr
    body = (posture / "closing.md").read_text(encoding="utf-8")
    assert body.startswith(f"No gaps in stack `mine` as of {RUN_URL}.")
    assert _records(body) == [audit_json(gaps=[])]
    assert not (posture / "issue.md").exists()


@pytest.mark.parametrize(("rows", "lines"), [(6000, 10), (10, 6000)], ids=["details", "fence"])
def test_posture_issue_text_stays_under_githubs_limit(posture: Path, rows: int, lines: int) -> None:
    # A report too long for an issue, cut inside its <details> table or inside its code fence,
    # with characters outside the BMP (two UTF-16 units each), and a JSON too long to keep whole.
    report = (
        "## guard audit\n\n<details><summary>Security Hub by control</summary>\n\n"
        + "| 🔥 control |\n" * rows
        + "</details>\n\n```\n"
        + "endpoint 🔥 uncovered\n" * lines
        + "```\n"
    )
    assert _units(report) > 80000
    (posture / "posture.md").write_text(report, encoding="utf-8")
    big = audit_json(coverage={"uncovered": [{"arn": "x" * 100}] * 400, "gone": []})
    assert _units(json.dumps(big)) > 65536 // 2
    (posture / "posture.json").write_text(json.dumps(big), encoding="utf-8")
    result, _, _ = _posture_run(posture, "Write the posture issue text", AUDIT_STATUS="1")
    assert result.returncode == 0, result.stderr
    body = (posture / "issue.md").read_text(encoding="utf-8")
    assert 64000 < _units(body) <= 65536
    kept = body[: body.index("\n\n[truncated: see the full report in ")]
    if rows > lines:
        assert "```" not in kept and kept.endswith("| 🔥 control |\n</details>")
    else:
        assert kept.endswith("endpoint 🔥 uncovered\n```")
    # What the cut left open is closed, so the record stays an HTML comment.
    assert body.count("<details>") == body.count("</details>") == 1
    assert sum(line.startswith("```") for line in body.splitlines()) == 2 * (rows < lines)
    # The record keeps what --previous reads.
    (record,) = _records(body)
    assert record == {k: big[k] for k in ("stack", "account", "generated_at", "findings")}
    assert body.endswith("\n-->\n")


def test_posture_previous_audit_without_an_issue(posture: Path) -> None:
    result, log, _ = _posture_run(posture, "Read the previous audit")
    assert result.returncode == 0, result.stderr
    assert "this audit has no trend" in result.stdout
    assert not (posture / "previous.json").exists()
    assert log == ["gh issue list --state all --label posture --limit 200 --json number,title"]


def test_posture_previous_audit_round_trip(posture: Path) -> None:
    # Last week's audit opened the issue; this one reads its record back for --previous.
    (posture / "posture.md").write_text("## guard audit\n", encoding="utf-8")
    (posture / "posture.json").write_text(json.dumps(audit_json()), encoding="utf-8")
    _posture_run(posture, "Write the posture issue text", AUDIT_STATUS="1")
    body = (posture / "issue.md").read_text(encoding="utf-8")
    (posture / "issue.md").unlink()
    newer = audit_json(generated_at="2026-11-30T22:23:00+00:00")
    forged = audit_json(generated_at="2026-12-01T00:00:00+00:00")
    other_stack = audit_json(stack="other", generated_at="2026-12-02T00:00:00+00:00")

    def comment(login: str, record: dict[str, Any]) -> dict[str, Any]:
        text = f"No gaps\n<!-- guard-audit-json\n{json.dumps(record)}\n-->\n"
        return {"author": {"login": login}, "body": text}

    tmp = posture.parent
    (tmp / "gh_all.json").write_text(
        json.dumps(
            [
                {"number": 12, "title": "Posture gaps in stack mine"},
                {"number": 40, "title": "Posture gaps in stack mine-too"},
                {"number": 3, "title": "Posture gaps in stack mine"},
            ]
        ),
        encoding="utf-8",
    )
    view: dict[str, Any] = {
        "author": {"login": "github-actions"},
        "body": body.replace("\n", "\r\n"),  # as GitHub may hand it back
        "comments": [
            {"author": {"login": "github-actions"}, "body": f"Still open in {RUN_URL}"},
            comment("mallory", forged),  # not the issue's author: ignored
            comment("github-actions", other_stack),  # another stack's: ignored
            comment("github-actions", newer),
            {"author": {"login": "github-actions"}, "body": "<!-- guard-audit-json\n{\n-->"},
        ],
    }
    (tmp / "gh_view.json").write_text(json.dumps(view), encoding="utf-8")
    result, log, _ = _posture_run(posture, "Read the previous audit")
    assert result.returncode == 0, result.stderr
    assert log[1] == "gh issue view 12 --json author,body,comments"  # the newest issue
    previous = posture / "previous.json"
    assert json.loads(previous.read_text()) == newer
    assert "Trend against the audit of 2026-11-30T22:23:00+00:00 (issue #12)." in result.stdout
    # Without the closing comment, the body's record; both pass guard audit --previous.
    view["comments"] = view["comments"][:3]
    (tmp / "gh_view.json").write_text(json.dumps(view), encoding="utf-8")
    _posture_run(posture, "Read the previous audit")
    assert json.loads(previous.read_text()) == audit_json()
    from guard.audit import read_previous

    assert read_previous(previous) == audit_json()
    reduced = {k: newer[k] for k in ("stack", "account", "generated_at", "findings")}
    previous.write_text(json.dumps(reduced), encoding="utf-8")
    assert read_previous(previous) == reduced


def test_posture_gaps_open_an_issue(posture: Path) -> None:
    (posture / "issue.md").write_text("report", encoding="utf-8")
    result, log, _ = _posture_run(posture, "Open or update the posture issue")
    assert result.returncode == 1
    assert "::error::posture gaps in stack mine" in result.stdout
    assert log[-1] == (
        "gh issue create --title Posture gaps in stack mine --label posture --body-file issue.md"
    )
    assert not [line for line in log if "issue edit" in line or "issue comment" in line]


def test_posture_gaps_update_the_open_issue(posture: Path) -> None:
    (posture / "issue.md").write_text("report", encoding="utf-8")
    (posture.parent / "gh_open.json").write_text(
        json.dumps(
            [
                {"number": 9, "title": "Posture gaps in stack mine-too"},
                {"number": 5, "title": "Posture gaps in stack mine"},
            ]
        ),
        encoding="utf-8",
    )
    result, log, _ = _posture_run(posture, "Open or update the posture issue")
    assert result.returncode == 1
    assert log[-2:] == [
        "gh issue edit 5 --body-file issue.md",
        f"gh issue comment 5 --body Still open in {RUN_URL}",
    ]
    assert not [line for line in log if "issue create" in line]


def test_posture_without_gaps_closes_the_open_issue(posture: Path) -> None:
    (posture.parent / "gh_open.json").write_text(
        json.dumps([{"number": 5, "title": "Posture gaps in stack mine"}]), encoding="utf-8"
    )
    result, log, _ = _posture_run(posture, "Close the posture issue")
    assert result.returncode == 0, result.stderr
    assert log[-2:] == [
        "gh issue comment 5 --body-file closing.md",
        "gh issue close 5 --reason completed",
    ]
    (posture.parent / "gh_open.json").write_text("[]", encoding="utf-8")
    result, log, _ = _posture_run(posture, "Close the posture issue")
    assert result.returncode == 0, result.stderr
    assert len(log) == 1 and "gh issue list --state open" in log[0]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("2", "::error::stack mine could not be audited (exit 2: configuration, credentials"),
        ("70", "::error::guard audit crashed on stack mine (exit 70: a bug in guard, not a gap"),
        ("137", "::error::guard audit exited with 137 on stack mine"),
    ],
)
def test_posture_fails_when_the_audit_could_not_be_made(
    posture: Path, status: str, message: str
) -> None:
    result, log, _ = _posture_run(
        posture, "Fail when the audit could not be made", AUDIT_STATUS=status
    )
    assert result.returncode == 1
    assert result.stdout.startswith(message)
    assert "the posture issue is unchanged" in result.stdout
    assert log == []  # gh is not called


# --- stacks: from the stack files, through `guard stacks` ----------------------------------


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_stacks_job_lists_the_stacks(name: str) -> None:
    jobs = load(name)["jobs"]
    job = jobs["stacks"]
    assert job["permissions"] == {"contents": "read"}
    assert job["outputs"] == {
        "matrix": "${{ steps.stacks.outputs.matrix }}",
        "count": "${{ steps.stacks.outputs.count }}",
    }
    # Set up exactly as the per-stack job, without the dev extras it does not need.
    per_stack = jobs[STACK_JOBS[name]]
    setup = [s for s in steps(job) if uses(s, "actions/setup-python@")]
    assert setup == [s for s in steps(per_stack) if uses(s, "actions/setup-python@")]
    assert len(setup) == 1
    assert uses(steps(job)[0], CHECKOUT)
    assert steps(job)[2]["run"] == "python -m venv .venv && .venv/bin/pip install -e ."
    run = step_with_id(job, "stacks")["run"]
    assert run.splitlines()[1] == ".venv/bin/guard stacks --format json > stacks.json"


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_per_stack_jobs_run_on_the_stacks_matrix(name: str) -> None:
    jobs = load(name)["jobs"]
    matrix_jobs = {job_id for job_id, job in jobs.items() if "strategy" in job}
    # deploy.yml's other matrix is over the changed review files (tests/ci/test_review_workflows.py).
    assert matrix_jobs - {"review-sync"} == {STACK_JOBS[name]}
    job = jobs[STACK_JOBS[name]]
    assert job["strategy"]["matrix"] == STACKS_MATRIX
    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
    assert "stacks" in needs
    assert job["if"] == HAS_STACKS
    assert job["env"]["STACK"] == "${{ matrix.name }}"
    assert job["name"].endswith("(${{ matrix.name }})")


@pytest.mark.parametrize(("name", "kind"), sorted(ROLE_KIND.items()))
def test_roles_and_regions_come_from_the_matrix(name: str, kind: str) -> None:
    job = load(name)["jobs"][STACK_JOBS[name]]
    (aws,) = [s for s in steps(job) if uses(s, CONFIGURE_AWS)]
    assert aws["with"]["role-to-assume"] == f"${{{{ matrix.{kind}_role }}}}"
    assert aws["with"]["aws-region"] == "${{ matrix.region }}"
    assert "${{ matrix.name }}" in aws["with"]["role-session-name"]
    assert aws["with"]["role-duration-seconds"] == 3600


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_run_scripts_read_no_stack_file_and_hold_no_expression(name: str) -> None:
    for run in runs(load(name)):
        # zizmor's template-injection: values reach scripts through env:, never ${{ }}.
        assert "${{" not in run, run
        # The backend and roles come from the matrix, not from parsing stack files here.
        assert "import yaml" not in run and "state_bucket" not in run, run


@pytest.mark.parametrize("path", [*CI_FILES], ids=lambda p: str(p.relative_to(ROOT)))
def test_ci_files_name_no_role_and_no_stack(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not ROLE_ARN_RE.search(text)
    assert not STACK_NAME_RE.search(text), STACK_NAME_RE.search(text)


def test_role_and_stack_patterns_can_fail() -> None:
    assert ROLE_ARN_RE.search("role: arn:aws:iam::111111111111:role/guard-prod-pipeline-preview")
    assert STACK_NAME_RE.search("stack: prod") and STACK_NAME_RE.search("guard-staging-x")
    assert not STACK_NAME_RE.search("environment: production")


# The stacks step, run as GitHub runs it, on stack files of each kind.


def _fake_venv(cwd: Path) -> None:
    """``.venv/bin/guard`` in ``cwd``: this checkout's guard, on this interpreter."""
    guard = cwd / ".venv" / "bin" / "guard"
    guard.parent.mkdir(parents=True)
    guard.write_text(
        f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m guard "$@"\n',
        encoding="utf-8",
    )
    guard.chmod(0o755)


def _run_stacks_step(name: str, stacks_dir: Path, cwd: Path) -> tuple[int, dict[str, str]]:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    _fake_venv(cwd)
    output = cwd / "github_output"
    output.touch()
    run = step_with_id(load(name)["jobs"]["stacks"], "stacks")["run"]
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
        cwd=cwd,
        env={**os.environ, "GITHUB_OUTPUT": str(output), STACKS_VARIABLE: str(stacks_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result.returncode, values


#: Which stacks each workflow runs per-stack jobs for.
EXPECTED_STACKS = {
    "preview.yml": ["staging", "prod", "offline"],  # offline: the offline plan only
    "deploy.yml": ["staging", "prod"],
    "drift.yml": ["staging", "prod"],
    "posture.yml": ["staging", "prod"],
}


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_stacks_step_builds_the_matrix_from_the_stack_files(name: str, tmp_path: Path) -> None:
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    for stack in ("prod", "staging"):
        shutil.copy(FIXTURE_STACKS / f"Pulumi.{stack}.yaml", stacks_dir)
    write_stack_file(stacks_dir, "offline")  # no guard:pipeline, so no roles
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    status, outputs = _run_stacks_step(name, stacks_dir, cwd)
    assert status == 0
    matrix = json.loads(outputs["matrix"])
    assert [entry["name"] for entry in matrix["include"]] == EXPECTED_STACKS[name]
    assert outputs["count"] == str(len(EXPECTED_STACKS[name]))
    # Each entry is guard stacks' own, unchanged: the roles, region and backend jobs use.
    by_name = {entry["name"]: entry for entry in guard_stacks(stacks_dir)}
    assert matrix["include"] == [by_name[n] for n in EXPECTED_STACKS[name]]


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_stacks_step_with_only_a_new_stack(name: str, tmp_path: Path) -> None:
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    write_stack_file(stacks_dir, "mine", pipeline={})
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    status, outputs = _run_stacks_step(name, stacks_dir, cwd)
    assert status == 0
    (entry,) = json.loads(outputs["matrix"])["include"]
    assert entry["name"] == "mine"
    assert entry[f"{ROLE_KIND[name]}_role"] == (
        f"arn:aws:iam::123456789012:role/guard-mine-pipeline-{ROLE_KIND[name]}"
    )
    assert outputs["count"] == "1"


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_stacks_step_without_stack_files_skips_the_stack_jobs(name: str, tmp_path: Path) -> None:
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    status, outputs = _run_stacks_step(name, stacks_dir, cwd)
    assert status == 0
    assert outputs == {"matrix": '{"include":[]}', "count": "0"}  # HAS_STACKS is false


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_stacks_step_fails_on_an_invalid_stack_file(name: str, tmp_path: Path) -> None:
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    write_stack_file(stacks_dir, "good", pipeline={})
    (stacks_dir / "Pulumi.bad.yaml").write_text("config:\n  aws:region: nowhere\n")
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    status, outputs = _run_stacks_step(name, stacks_dir, cwd)
    assert status != 0
    assert outputs == {}  # no matrix: no per-stack job runs


# --- hygiene -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_checkout_never_persists_credentials(name: str) -> None:
    for job in load(name)["jobs"].values():
        for step in steps(job):
            if uses(step, CHECKOUT):
                assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_actions_are_pinned_to_commits_with_their_release(name: str) -> None:
    lines = [
        line
        for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(-\s+)?uses:", line)
    ]
    assert lines
    for line in lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_only_first_party_and_vendor_actions(name: str) -> None:
    for job in load(name)["jobs"].values():
        for step in steps(job):
            if "uses" in step:
                owner = step["uses"].split("/")[0]
                assert owner in {"actions", "aws-actions", "pulumi"}, step["uses"]


FORBIDDEN = [
    # a GitHub secret or variable holding AWS credentials
    re.compile(r"(secrets|vars)\.AWS_", re.IGNORECASE),
    # configure-aws-credentials' static key inputs
    re.compile(r"aws-access-key-id|aws-secret-access-key|aws-session-token", re.IGNORECASE),
    # config-file / orb parameter spellings
    re.compile(r"aws_access_key_id|aws_secret_access_key|aws_session_token"),
    # an access key id itself
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
]
# The only mentions of the key variables allowed anywhere: CircleCI exporting
# the session that assume-role-with-web-identity just returned.
ALLOWED_KEY_LINES = {
    "AWS_ACCESS_KEY_ID": 'export AWS_ACCESS_KEY_ID="$key_id"',
    "AWS_SECRET_ACCESS_KEY": 'export AWS_SECRET_ACCESS_KEY="$secret"',
    "AWS_SESSION_TOKEN": 'export AWS_SESSION_TOKEN="$session"',
}


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stored_aws_keys(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in FORBIDDEN:
        assert not pattern.search(text), f"{pattern.pattern} in {path}"
    for line in text.splitlines():
        for var, allowed in ALLOWED_KEY_LINES.items():
            if var in line:
                assert path == CIRCLECI, line
                assert line.strip() == allowed, line


def test_no_stored_aws_keys_can_fail() -> None:
    bad = "      aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}"
    assert sum(bool(p.search(bad)) for p in FORBIDDEN) == 2
    assert any(p.search("aws_access_key_id = AKIAABCDEFGHIJKLMNOP") for p in FORBIDDEN)
    assert any(p.search("key: ${{ vars.AWS_KEY }}") for p in FORBIDDEN)
    assert not any(p.search(ALLOWED_KEY_LINES["AWS_ACCESS_KEY_ID"]) for p in FORBIDDEN)


# --- Dependabot ----------------------------------------------------------------------------


def test_dependabot_weekly_actions_and_pip() -> None:
    config = yaml.safe_load(DEPENDABOT.read_text(encoding="utf-8"))
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    for update in updates.values():
        assert update["schedule"]["interval"] == "weekly"
        assert update["directory"] == "/"


# --- the lint script -----------------------------------------------------------------------


def _tool_dir() -> str | None:
    """A directory holding both linters: this interpreter's bin dir, or PATH."""
    here = Path(sys.executable).parent
    if (here / "zizmor").exists() and (here / "check-jsonschema").exists():
        return str(here)
    zizmor, checker = shutil.which("zizmor"), shutil.which("check-jsonschema")
    if zizmor and checker and Path(zizmor).parent == Path(checker).parent:
        return str(Path(zizmor).parent)
    return None


def _run_lint(root: Path) -> subprocess.CompletedProcess[str]:
    tool_dir = _tool_dir()
    if tool_dir is None:
        pytest.skip("zizmor or check-jsonschema is not installed")
    env = {**os.environ, "VENV": str(Path(tool_dir).parent)}
    env.pop("ZIZMOR_CONFIG", None)
    return subprocess.run(
        [str(root / ".ci" / "lint-workflows")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_lint_script_is_executable() -> None:
    assert os.access(LINT_SCRIPT, os.X_OK)


def test_lint_workflows_passes() -> None:
    result = _run_lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lint-workflows: all clean" in result.stdout


def _copy_ci(tmp_path: Path) -> Path:
    for rel in (".ci/lint-workflows", ".github", ".circleci"):
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, tmp_path / rel)
        else:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp_path / rel)
    return tmp_path


@pytest.mark.parametrize(
    ("target", "old", "new"),
    [
        # zizmor: credentials persisted by checkout
        (".github/workflows/deploy.yml", "persist-credentials: false", "fetch-depth: 1"),
        # zizmor: a tag instead of a commit
        (
            ".github/workflows/drift.yml",
            "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d # v7.0.0",
            "pulumi/actions@v7",
        ),
        # schema: not a workflow key
        (".github/workflows/preview.yml", "timeout-minutes: 30", "timeout-minutez: 30"),
        # schema: not a CircleCI job key
        (".circleci/config.yml", "executor: python", "executer: python"),
    ],
)
def test_lint_workflows_catches_problems(tmp_path: Path, target: str, old: str, new: str) -> None:
    root = _copy_ci(tmp_path)
    path = root / target
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = _run_lint(root)
    assert result.returncode == 1, result.stdout + result.stderr
