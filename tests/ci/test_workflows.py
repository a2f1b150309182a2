"""What users rely on in this repository's own CI definitions.

The workflow files are parsed and checked for the properties that keep the
pipeline safe (who gets AWS credentials, with which role, when) and for the
behaviour promised in their comments. The last tests run .ci/lint-workflows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CIRCLECI = ROOT / ".circleci" / "config.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
LINT_SCRIPT = ROOT / ".ci" / "lint-workflows"

ACCOUNTS = {"prod": "111111111111", "staging": "123456789012"}
REGION = "ap-northeast-1"
ROLE_RE = re.compile(
    r"arn:aws:iam::(?P<account>\d{12}):role/guard-(?P<stack>[a-z0-9-]+)-pipeline-(?P<kind>preview|deploy)"
)
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


def matrix_entries(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["strategy"]["matrix"]["include"])


ALL_WORKFLOWS = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_expected_workflows_exist() -> None:
    assert {"preview.yml", "deploy.yml", "drift.yml"} <= set(ALL_WORKFLOWS)


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
    # Nothing else in the job (like a job-level `if`) re-admits them either.
    assert "if" not in job or excludes_forks(job["if"])


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
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["policyPacks"] == "policies"
    assert step["with"]["comment-on-pr"] is True
    aws = steps(job)[index_of(job, lambda s: uses(s, CONFIGURE_AWS))]
    assert aws["with"]["role-to-assume"] == "${{ matrix.role }}"
    assert aws["with"]["aws-region"] == "${{ matrix.region }}"


def test_deploy_job() -> None:
    workflow = load("deploy.yml")
    assert triggers(workflow) == {"push": {"branches": ["main"]}}
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["concurrency"] == {
        "group": "guard-deploy-${{ matrix.stack }}",
        "cancel-in-progress": False,
    }
    gate = index_of(job, lambda s: "guard plan" in s.get("run", ""))
    oidc = index_of(job, lambda s: uses(s, CONFIGURE_AWS))
    up = index_of(job, lambda s: "pulumi up" in s.get("run", ""))
    assert gate < oidc < up
    up_run = steps(job)[up]["run"]
    assert "pulumi up --yes" in up_run
    assert "--policy-pack policies" in up_run
    assert '--stack "$STACK"' in up_run
    assert "exit" in steps(job)[gate]["run"]  # the gate fails the job
    assert steps(job)[oidc]["with"]["role-to-assume"] == "${{ matrix.role }}"


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


# --- roles ---------------------------------------------------------------------------------

ROLE_KIND = {"preview.yml": "preview", "deploy.yml": "deploy", "drift.yml": "preview"}


@pytest.mark.parametrize(("name", "kind"), sorted(ROLE_KIND.items()))
def test_matrix_roles(name: str, kind: str) -> None:
    entries = [
        entry
        for job in load(name)["jobs"].values()
        if "strategy" in job
        for entry in matrix_entries(job)
    ]
    assert {e["stack"] for e in entries} == set(ACCOUNTS)
    for entry in entries:
        assert set(entry) == {"stack", "role", "region"}
        match = ROLE_RE.fullmatch(entry["role"])
        assert match is not None, entry["role"]
        assert match["stack"] == entry["stack"]
        assert match["account"] == ACCOUNTS[entry["stack"]]
        assert match["kind"] == kind
        assert entry["region"] == REGION


def test_role_regex_can_fail() -> None:
    assert ROLE_RE.fullmatch("arn:aws:iam::111111111111:role/guard-prod-pipeline-preview")
    assert not ROLE_RE.fullmatch("arn:aws:iam::111111111111:role/guard-prod-pipeline-admin")
    assert not ROLE_RE.fullmatch("arn:aws:iam::1111:role/guard-prod-pipeline-deploy")


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


CI_FILES = [*sorted(WORKFLOWS.glob("*.yml")), CIRCLECI, DEPENDABOT]
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
    "AWS_ACCESS_KEY_ID": "echo \"export AWS_ACCESS_KEY_ID='${key_id}'\"",
    "AWS_SECRET_ACCESS_KEY": "echo \"export AWS_SECRET_ACCESS_KEY='${secret}'\"",
    "AWS_SESSION_TOKEN": "echo \"export AWS_SESSION_TOKEN='${session}'\"",
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


# --- CircleCI ------------------------------------------------------------------------------


def circleci() -> dict[str, Any]:
    data = yaml.safe_load(CIRCLECI.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def workflow_jobs(config: dict[str, Any], workflow: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Job invocations of a workflow by name: name -> (job, parameters)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in config["workflows"][workflow]["jobs"]:
        if isinstance(item, dict):
            ((job, params),) = item.items()
        else:
            job, params = item, {}
        out[str(params.get("name", job))] = (str(job), dict(params))
    return out


def test_circleci_uses_oidc_v2_and_bash_env() -> None:
    text = CIRCLECI.read_text(encoding="utf-8")
    assert "CIRCLE_OIDC_TOKEN_V2" in text
    assert "CIRCLE_OIDC_TOKEN " not in text and "CIRCLE_OIDC_TOKEN}" not in text
    command = circleci()["commands"]["assume-role"]["steps"][0]["run"]["command"]
    assert "aws sts assume-role-with-web-identity" in command
    assert '--web-identity-token "${CIRCLE_OIDC_TOKEN_V2}"' in command
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert f"export {var}=" in command
    assert '} >> "$BASH_ENV"' in command


def test_circleci_preview_on_branches_deploy_on_main_after_approval() -> None:
    config = circleci()
    preview = workflow_jobs(config, "preview")
    deploy = workflow_jobs(config, "deploy")
    for _, params in preview.values():
        assert params["filters"]["branches"] == {"ignore": "main"}
    for _, params in deploy.values():
        assert params["filters"]["branches"] == {"only": "main"}
    assert deploy["hold"][1]["type"] == "approval"

    def upstream(name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(deploy[name][1].get("requires", []))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += deploy[current][1].get("requires", [])
        return seen

    deploy_jobs = {n: p for n, (job, p) in deploy.items() if job == "deploy"}
    assert {p["stack"] for p in deploy_jobs.values()} == set(ACCOUNTS)
    for name in deploy_jobs:
        assert "hold" in upstream(name), name


def test_circleci_roles_and_contexts() -> None:
    config = circleci()
    for workflow, kind in (("preview", "preview"), ("deploy", "deploy")):
        invocations = [p for job, p in workflow_jobs(config, workflow).values() if job == workflow]
        assert {p["stack"] for p in invocations} == set(ACCOUNTS)
        for params in invocations:
            # CircleCI issues OIDC tokens only to jobs that use a context.
            assert params.get("context"), params
            match = ROLE_RE.fullmatch(params["role"])
            assert match is not None
            assert match["stack"] == params["stack"]
            assert match["account"] == ACCOUNTS[params["stack"]]
            assert match["kind"] == kind
            assert params["region"] == REGION


def test_circleci_deploy_is_gated_and_uses_the_policy_pack() -> None:
    job = circleci()["jobs"]["deploy"]
    names = [next(iter(s)) if isinstance(s, dict) else s for s in job["steps"]]
    assert names.index("offline-plan") < names.index("assume-role")
    command = job["steps"][-1]["run"]["command"]
    assert "pulumi up --yes" in command and "--policy-pack policies" in command


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
