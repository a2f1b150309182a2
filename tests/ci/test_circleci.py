"""The CircleCI pipeline: OIDC-only credentials, offline plans first, and loops over the stacks
that `guard stacks` lists (its scripts run here with bash and jq, against stand-ins for guard,
aws and pulumi)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.support import CIRCLECI, guard_stacks
from tests.stack_files import write_stack_file

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


def step_names(job: dict[str, Any]) -> list[str]:
    """A CircleCI job's steps: a command's name, or the ``name`` of a ``run`` step."""
    names = []
    for step in job["steps"]:
        if isinstance(step, str):
            names.append(step)
        elif "run" in step:
            names.append(str(step["run"]["name"]))
        else:
            names.append(next(iter(step)))
    return names


def run_command(steps_: list[Any], name: str) -> str:
    """The script of the ``run`` step called ``name``, as CircleCI hands it to bash."""
    (command,) = [
        s["run"]["command"]
        for s in steps_
        if isinstance(s, dict) and "run" in s and s["run"]["name"] == name
    ]
    # CircleCI turns an escaped "\<<" (not a parameter) into "<<".
    return str(command).replace("\\<<", "<<")


def command_script(command: str) -> str:
    """The script of a reusable command's (only) ``run`` step."""
    (step,) = [s for s in circleci()["commands"][command]["steps"] if "run" in s]
    return run_command([step], step["run"]["name"])


PREVIEW_LOOP = "pulumi preview of each stack with a preview role"
DEPLOY_LOOP = "pulumi up of each stack with a deploy role, in deploy order"


def test_circleci_uses_oidc_v2_and_bash_env() -> None:
    text = CIRCLECI.read_text(encoding="utf-8")
    assert "CIRCLE_OIDC_TOKEN_V2" in text
    assert "CIRCLE_OIDC_TOKEN " not in text and "CIRCLE_OIDC_TOKEN}" not in text
    command = command_script("aws-session")
    assert "aws sts assume-role-with-web-identity" in command
    assert '--web-identity-token "${CIRCLE_OIDC_TOKEN_V2}"' in command
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert f"export {var}=" in command
    # Only the function goes to $BASH_ENV (sourced by later steps), never a session.
    assert "cat <<'SH' >> \"$BASH_ENV\"" in command


def test_circleci_preview_on_branches_deploy_on_main_after_approval() -> None:
    config = circleci()
    preview = workflow_jobs(config, "preview")
    deploy = workflow_jobs(config, "deploy")
    for _, params in preview.values():
        assert params["filters"]["branches"] == {"ignore": "main"}
    for _, params in deploy.values():
        assert params["filters"]["branches"] == {"only": "main"}
    assert deploy["hold"][1]["type"] == "approval"
    assert deploy["hold"][1]["requires"] == ["check"]
    assert preview["preview"] == ("preview", preview["preview"][1])
    assert preview["preview"][1]["requires"] == ["check"]
    job, params = deploy["deploy"]
    assert job == "deploy" and params["requires"] == ["hold"]
    # One deploy at a time across pipelines (all stacks run in this one job).
    assert params["serial-group"] == "<< pipeline.project.slug >>/guard-deploy"


def test_circleci_jobs_with_credentials_use_a_context() -> None:
    config = circleci()
    for workflow in ("preview", "deploy"):
        (params,) = [p for job, p in workflow_jobs(config, workflow).values() if job == workflow]
        # CircleCI issues OIDC tokens only to jobs that use a context; the jobs take no
        # stack, role or region parameter: they read them from guard stacks.
        assert params.get("context") == "guard-oidc"
        assert not {"stack", "role", "region"} & set(params)
    assert "aws-session" not in step_names(config["jobs"]["check"])


def test_circleci_jobs_loop_overguard_stacks() -> None:
    config = circleci()
    assert command_script("list-stacks").splitlines()[1] == (
        ".venv/bin/guard stacks --format json > stacks.json"
    )
    for job, loop, role in (
        ("preview", PREVIEW_LOOP, "preview_role"),
        ("deploy", DEPLOY_LOOP, "deploy_role"),
    ):
        names = step_names(config["jobs"][job])
        assert names.index("list-stacks") < names.index("offline-plans") < names.index(loop)
        command = run_command(config["jobs"][job]["steps"], loop)
        assert f"jq -r '.stacks[] | select(.{role} != null) | [.name, .{role}, " in command
        assert "stacks.json" in command
        assert 'assume_role "$role" "$region" "$stack"' in command
        assert 'pulumi login "$backend"' in command
    assert "jq -r '.stacks[].name' stacks.json" in command_script("offline-plans")


def test_circleci_offline_plans_come_before_any_credentials() -> None:
    jobs = circleci()["jobs"]
    preview = step_names(jobs["preview"])
    assert (
        preview.index("offline-plans")
        < preview.index("Live previews need an OIDC token")
        < preview.index("aws-session")
        < preview.index(PREVIEW_LOOP)
    )
    deploy = step_names(jobs["deploy"])
    assert deploy.index("offline-plans") < deploy.index("aws-session") < deploy.index(DEPLOY_LOOP)
    command = run_command(jobs["deploy"]["steps"], DEPLOY_LOOP)
    assert "pulumi up --yes --non-interactive" in command
    assert "--policy-pack policies" in command
    assert "PULUMI_CONFIG_PASSPHRASE" not in command
    # The secrets provider is checked before the stack's role is assumed.
    assert command.index("awskms://*) ;;") < command.index("assume_role")


# The loops, run as CircleCI runs them (bash -eo pipefail, $BASH_ENV sourced), with stand-ins
# for guard, the AWS CLI and pulumi that log what they were asked to do.

KMS = "awskms://alias/guard-x-secrets?region=eu-west-1"
STUB_PULUMI = """#!/usr/bin/env bash
stack=""
while [ $# -gt 0 ]; do [ "$1" = --stack ] && stack="$2"; shift; done
echo "pulumi ${stack:-login} as ${AWS_ROLE:-nobody}" >> "$LOG"
[ -z "$stack" ] || [ "$stack" != "${FAIL:-}" ]
"""
# assume_role as aws-session defines it would call AWS; this one records the call instead.
STUB_BASH_ENV = """
assume_role() { echo "assume $1 $2 $3" >> "$LOG"; export AWS_ROLE="$3"; }
"""


@pytest.fixture
def circleci_stacks(tmp_path: Path) -> Path:
    """stacks.json from guard stacks: deploy order a, b, c (no secrets provider), d, offline."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    kms = {"secretsprovider": KMS}
    write_stack_file(stacks_dir, "a", pipeline={"deploy_order": 1}, top=kms)
    write_stack_file(stacks_dir, "b", pipeline={"deploy_order": 2}, top=kms)
    write_stack_file(stacks_dir, "c", pipeline={"deploy_order": 3})
    write_stack_file(stacks_dir, "d", pipeline={"deploy_order": 4}, top=kms)
    write_stack_file(stacks_dir, "offline")
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    (cwd / "stacks.json").write_text(
        json.dumps({"stacks": guard_stacks(stacks_dir)}), encoding="utf-8"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(STUB_PULUMI, encoding="utf-8")
    (bin_dir / "pulumi").chmod(0o755)
    (tmp_path / "bash_env").write_text(STUB_BASH_ENV, encoding="utf-8")
    return cwd


def _circleci_run(
    cwd: Path, script: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = cwd / "log"
    log.touch()
    result = subprocess.run(
        ["/bin/bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={
            "PATH": f"{cwd.parent / 'bin'}:{os.environ['PATH']}",
            "BASH_ENV": str(cwd.parent / "bash_env"),
            "LOG": str(log),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, log.read_text(encoding="utf-8").splitlines()


def test_circleci_deploys_in_order_and_stops_without_a_kms_provider(
    circleci_stacks: Path,
) -> None:
    script = run_command(circleci()["jobs"]["deploy"]["steps"], DEPLOY_LOOP)
    result, log = _circleci_run(circleci_stacks, script + '\necho "after=${AWS_ROLE:-}"')
    role = "arn:aws:iam::123456789012:role/guard-{}-pipeline-deploy"
    assert log == [
        f"assume {role.format('a')} eu-west-1 a",
        "pulumi login as a",
        "pulumi a as a",
        f"assume {role.format('b')} eu-west-1 b",
        "pulumi login as b",
        "pulumi b as b",
    ]
    assert result.returncode == 1
    assert "stack c has no awskms:// secrets provider" in result.stdout
    assert "after=" not in result.stdout  # the script stopped at c; d is never deployed


def test_circleci_deploy_stops_at_the_first_failure(circleci_stacks: Path) -> None:
    script = run_command(circleci()["jobs"]["deploy"]["steps"], DEPLOY_LOOP)
    result, log = _circleci_run(circleci_stacks, script, FAIL="a")
    assert result.returncode != 0
    assert [line for line in log if line.startswith("pulumi")] == [
        "pulumi login as a",
        "pulumi a as a",
    ]


def test_circleci_previews_every_stack_with_a_role_and_reports_failures(
    circleci_stacks: Path,
) -> None:
    script = run_command(circleci()["jobs"]["preview"]["steps"], PREVIEW_LOOP)
    result, log = _circleci_run(circleci_stacks, script + '\necho "after=${AWS_ROLE:-}"', FAIL="b")
    previewed = [line for line in log if line.startswith("pulumi") and "login" not in line]
    # offline has no preview role; b failing does not stop c and d; c needs no KMS to preview.
    assert previewed == ["pulumi a as a", "pulumi b as b", "pulumi c as c", "pulumi d as d"]
    assert "assume arn:aws:iam::123456789012:role/guard-a-pipeline-preview eu-west-1 a" in log
    assert result.returncode == 1
    assert "pulumi preview failed for: b" in result.stdout
    assert "after=" not in result.stdout


def test_circleci_sessions_end_with_their_stack(circleci_stacks: Path) -> None:
    script = run_command(circleci()["jobs"]["preview"]["steps"], PREVIEW_LOOP)
    result, _ = _circleci_run(circleci_stacks, script + '\necho "after=${AWS_ROLE:-}"')
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "after="  # no session left in the job's shell


def test_circleci_offline_plans_plan_every_stack_and_fail_on_any(circleci_stacks: Path) -> None:
    guard = circleci_stacks / ".venv" / "bin" / "guard"
    guard.parent.mkdir(parents=True)
    guard.write_text(
        '#!/usr/bin/env bash\necho "guard $*" >> "$LOG"\necho "# plan $3"\n'
        '[ "$3" != "${FAIL:-}" ] || exit 1\n',
        encoding="utf-8",
    )
    guard.chmod(0o755)
    result, log = _circleci_run(circleci_stacks, command_script("offline-plans"), FAIL="b")
    assert log == [
        f"guard plan --stack {stack} --format markdown" for stack in ("a", "b", "c", "d", "offline")
    ]
    assert result.returncode == 1
    assert "guard plan b: a mandatory policy is violated" in result.stdout
    assert "offline plan failed for: b" in result.stdout
    assert (circleci_stacks / "plan" / "offline.md").read_text() == "# plan offline\n"


def test_circleci_assume_role_exports_a_session(tmp_path: Path) -> None:
    aws = tmp_path / "aws"
    aws.write_text(
        '#!/usr/bin/env bash\necho "$*" > "$LOG"\nprintf "KEYID\\tSECRET\\tSESSION\\n"\n',
        encoding="utf-8",
    )
    aws.chmod(0o755)
    command = command_script("aws-session")
    function = command[command.index("assume_role() {") : command.index("\nSH")]
    function = function.replace("/tmp/awscli/bin/aws", str(aws))
    script = (
        f"{function}\n"
        "assume_role arn:aws:iam::123456789012:role/guard-x-pipeline-deploy eu-west-1 x\n"
        'echo "$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $AWS_REGION"\n'
    )
    log = tmp_path / "log"
    env = {"PATH": os.environ["PATH"], "LOG": str(log), "CIRCLE_BUILD_NUM": "42"}
    result = subprocess.run(
        ["/bin/bash", "-eo", "pipefail", "-c", script],
        env={**env, "CIRCLE_OIDC_TOKEN_V2": "token"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "KEYID SECRET SESSION eu-west-1\n"
    call = log.read_text().split()
    assert call[:2] == ["sts", "assume-role-with-web-identity"]
    args = dict(zip(call[2::2], call[3::2], strict=False))
    assert args["--role-arn"] == "arn:aws:iam::123456789012:role/guard-x-pipeline-deploy"
    assert args["--role-session-name"] == "circleci-x-42"
    assert args["--web-identity-token"] == "token"
    assert args["--duration-seconds"] == "3600"
    # Without an OIDC token (a fork build, a job without a context) nothing is assumed.
    no_token = subprocess.run(
        ["/bin/bash", "-eo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert no_token.returncode == 1
    assert "No OIDC token" in no_token.stdout


# --- the weekly posture audit --------------------------------------------------------------

POSTURE_LOOP = "guard audit of each stack with a preview role"
POSTURE_SCHEDULE = {
    "or": [
        {
            "and": [
                {"equal": ["scheduled_pipeline", "<< pipeline.trigger_source >>"]},
                {"equal": ["posture", "<< pipeline.schedule.name >>"]},
            ]
        },
        "<< pipeline.parameters.posture >>",
    ]
}


def test_circleci_posture_runs_on_its_schedule_only() -> None:
    config = circleci()
    assert config["parameters"]["posture"] == {
        "type": "boolean",
        "default": False,
        "description": config["parameters"]["posture"]["description"],
    }
    workflows = config["workflows"]
    assert workflows["posture"]["when"] == POSTURE_SCHEDULE
    # The posture schedule (or a posture=true pipeline) runs nothing else: no deploy
    # waiting for approval every week.
    for workflow in ("preview", "deploy"):
        assert workflows[workflow]["when"] == {
            "not": {
                "or": [
                    {"equal": ["posture", "<< pipeline.schedule.name >>"]},
                    "<< pipeline.parameters.posture >>",
                ]
            }
        }
    assert workflow_jobs(config, "posture") == {"posture": ("posture", {"context": "guard-oidc"})}


def test_circleci_posture_job_loops_over_guard_stacks() -> None:
    job = circleci()["jobs"]["posture"]
    assert step_names(job) == [
        "install",
        "list-stacks",
        "aws-session",
        "restore_cache",
        POSTURE_LOOP,
        "save_cache",
        "store_artifacts",
    ]
    command = run_command(job["steps"], POSTURE_LOOP)
    assert (
        "jq -r '.stacks[] | select(.preview_role != null) | [.name, .preview_role, .region, "
        "(.alerts // false)] | @tsv' stacks.json" in command
    )
    assert 'assume_role "$role" "$region" "$stack" || exit 2' in command
    assert "pulumi" not in command
    (restore,) = [s["restore_cache"] for s in job["steps"] if "restore_cache" in s]
    (save,) = [s["save_cache"] for s in job["steps"] if "save_cache" in s]
    (artifacts,) = [s["store_artifacts"] for s in job["steps"] if "store_artifacts" in s]
    # The newest cache of the branch, saved even when the audit fails the step.
    assert save["key"] == "guard-posture-v1-{{ .Branch }}-{{ epoch }}"
    assert restore["keys"] == ["guard-posture-v1-{{ .Branch }}-"]
    assert save["paths"] == ["previous"] and save["when"] == "always"
    assert artifacts == {"path": "posture", "destination": "posture", "when": "always"}


# guard audit: the report on stdout and, with --json-file, the JSON in that file, both only
# when the audit was made (exit 0 or 1), as guard does.
STUB_AUDIT = """#!/usr/bin/env bash
echo "guard $* as ${AWS_ROLE:-nobody}" >> "$LOG"
stack="$3"
json_file=""
while [ $# -gt 0 ]; do
  if [ "$1" = --json-file ]; then json_file="$2"; shift; fi
  shift
done
status_of="STATUS_${stack}"
status="${!status_of:-0}"
if [ "$status" -le 1 ]; then
  echo "# posture ${stack}"
  if [ -n "$json_file" ]; then
    printf '{"stack":"%s","findings":{"securityhub":{"critical":0,"high":%s,"total":3}}}\\n' \\
      "$stack" "$status" > "$json_file"
  fi
fi
if [ "$status" = 70 ]; then mkdir -p .guard && echo "Traceback ${stack}" > .guard/crash-1.txt; fi
exit "$status"
"""


@pytest.fixture
def posture_stacks(circleci_stacks: Path) -> Path:
    """circleci_stacks with guard:alerts in c, a guard audit stand-in and last week's audits."""
    stacks = json.loads((circleci_stacks / "stacks.json").read_text(encoding="utf-8"))
    for entry in stacks["stacks"]:
        entry["alerts"] = entry["name"] == "c"
    (circleci_stacks / "stacks.json").write_text(json.dumps(stacks), encoding="utf-8")
    guard = circleci_stacks / ".venv" / "bin" / "guard"
    guard.parent.mkdir(parents=True)
    guard.write_text(STUB_AUDIT, encoding="utf-8")
    guard.chmod(0o755)
    previous = circleci_stacks / "previous"
    previous.mkdir()
    last_week = {"stack": "a", "findings": {"securityhub": {"critical": 1, "high": 0, "total": 1}}}
    (previous / "a.json").write_text(json.dumps(last_week), encoding="utf-8")
    (previous / "b.json").write_text(json.dumps({**last_week, "stack": "b"}), encoding="utf-8")
    (previous / "c.json").write_text("{not json", encoding="utf-8")
    (previous / "d.json").write_text(json.dumps(last_week), encoding="utf-8")  # a's, not d's
    return circleci_stacks


def test_circleci_posture_audits_every_stack_and_lists_failures(posture_stacks: Path) -> None:
    script = run_command(circleci()["jobs"]["posture"]["steps"], POSTURE_LOOP)
    result, log = _circleci_run(
        posture_stacks,
        script + '\necho "after=${AWS_ROLE:-}"',
        STATUS_a="1",
        STATUS_b="2",
        STATUS_d="70",
    )
    role = "arn:aws:iam::123456789012:role/guard-{}-pipeline-preview"
    # One read of the account per stack: the report on stdout, the JSON with --json-file.
    audit = "guard audit --stack {0} --format markdown --json-file posture/{0}.json{1} as {0}"
    assert log == [
        f"assume {role.format('a')} eu-west-1 a",
        audit.format("a", " --previous previous/a.json"),
        f"assume {role.format('b')} eu-west-1 b",
        audit.format("b", " --previous previous/b.json"),
        f"assume {role.format('c')} eu-west-1 c",
        # Last week's file is not JSON: no trend; c has guard:alerts: --notify.
        audit.format("c", " --notify"),
        f"assume {role.format('d')} eu-west-1 d",
        audit.format("d", ""),  # another stack's JSON: no trend
    ]  # offline has no preview role
    assert result.returncode == 1
    assert "posture gaps in: a (posture/<stack>.md in the artifacts)" in result.stdout
    assert "could not be audited:\n  b (exit 2: the audit could not be made" in result.stdout
    assert "  d (exit 70: a bug in guard, not a gap)" in result.stdout
    assert "Traceback d" in result.stdout
    assert "after=" not in result.stdout
    reports = posture_stacks / "posture"
    assert (reports / "a.md").read_text() == "# posture a\n"
    assert "# posture a\n" in result.stdout
    # 2 and 70: the audit could not be made, guard wrote no JSON.
    assert not (reports / "b.json").exists() and not (reports / "d.json").exists()
    assert (reports / "d-crash-1.txt").read_text() == "Traceback d\n"
    assert not (posture_stacks / ".guard" / "crash-1.txt").exists()
    # This week's JSON replaces last week's; b, not audited, keeps its older one.
    previous = posture_stacks / "previous"
    for stack, high in (("a", 1), ("c", 0)):
        document = json.loads((previous / f"{stack}.json").read_text())
        assert document["findings"]["securityhub"]["high"] == high
        assert (previous / f"{stack}.json").read_text() == (reports / f"{stack}.json").read_text()
    assert json.loads((previous / "b.json").read_text())["findings"]["securityhub"]["critical"] == 1


def test_circleci_posture_passes_without_gaps(posture_stacks: Path) -> None:
    script = run_command(circleci()["jobs"]["posture"]["steps"], POSTURE_LOOP)
    result, log = _circleci_run(posture_stacks, script + '\necho "after=${AWS_ROLE:-}"')
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "after="  # no session left in the job's shell
    assert len([line for line in log if line.startswith("assume")]) == 4
    assert sorted(p.name for p in (posture_stacks / "posture").iterdir()) == [
        f"{stack}.{ext}" for stack in "abcd" for ext in ("json", "md")
    ]


def test_circleci_posture_without_a_session_could_not_audit(posture_stacks: Path) -> None:
    script = run_command(circleci()["jobs"]["posture"]["steps"], POSTURE_LOOP)
    failing = posture_stacks.parent / "bash_env_no_token"
    failing.write_text('assume_role() { echo "No OIDC token"; return 1; }\n', encoding="utf-8")
    result, log = _circleci_run(posture_stacks, script, BASH_ENV=str(failing))
    assert result.returncode == 1
    assert log == []  # guard never ran
    for stack in "abcd":
        assert f"  {stack} (exit 2: the audit could not be made" in result.stdout
    assert "posture gaps in" not in result.stdout
