"""The Well-Architected reviews in CI: a pull request that changes a review file gets its report in
the plan comment of the first stack the review covers (and fails on a contradiction or an invalid
file); a merge syncs the changed reviews with the deploy role of that stack, after the deploys.

The steps run as GitHub runs them (bash -eo pipefail) in a scratch git repository, with a
stand-in ``.venv/bin/guard`` that answers ``wa stacks``, ``wa report`` and ``stacks``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ci.test_workflows import index_of, load, steps

BASE_FILES = {"reviews/shop.yaml": "v1\n", "reviews/blog.yaml": "v1\n", "README.md": "x\n"}


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )
    return done.stdout.strip()


def _repo(tmp_path: Path, changes: dict[str, str | None]) -> tuple[Path, str, str]:
    """A repository with a base commit and a head commit making ``changes`` (None deletes)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for name, content in BASE_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD")
    for name, text in changes.items():
        path = repo / name
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "head", "--allow-empty")
    return repo, base, _git(repo, "rev-parse", "HEAD")


def _fake_guard(repo: Path, covers: dict[str, str], report_status: int = 0) -> Path:
    """``guard wa stacks`` prints the stacks in ``covers`` (review -> "a b"; "!" = invalid),
    ``guard wa report`` a marked report; every call is logged."""
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = repo / "guard.log"
    cases = "\n".join(
        f'  "{review}") '
        + (
            'echo "reviews: 1 configuration error" >&2; exit 2 ;;'
            if stacks == "!"
            else f"printf '%s\\n' {stacks}; exit 0 ;;"
        )
        for review, stacks in covers.items()
    )
    stacks_json = json.dumps(
        {
            "stacks": [
                {"name": "shop", "deploy_role": "arn:aws:iam::111111111111:role/shop-deploy"},
                {"name": "blog", "deploy_role": None},
            ]
        }
    )
    script = f"""#!/usr/bin/env bash
echo "$*" >> "{log}"
if [ "$1" = stacks ]; then echo '{stacks_json}'; exit 0; fi
review="$4"
if [ "$2" = stacks ]; then
case "$review" in
{cases}
  *) exit 2 ;;
esac
fi
if [ "$2" = report ]; then
  printf '<!-- guard-wa:%s -->\\n### Well-Architected review: %s\\n' "$review" "$review"
  exit {report_status}
fi
exit 9
"""
    guard = bin_dir / "guard"
    guard.write_text(script)
    guard.chmod(0o755)
    return log


def _run(
    step: str, repo: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output = repo / "github_output"
    output.write_text("")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step],
        cwd=repo,
        env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result, outputs


def _preview_step() -> str:
    job = load("preview.yml")["jobs"]["plan"]
    return str(steps(job)[index_of(job, lambda s: s.get("id") == "reviews")]["run"])


def test_a_changed_review_joins_the_comment_of_its_first_stack(tmp_path: Path) -> None:
    repo, base, _ = _repo(tmp_path, {"reviews/shop.yaml": "v2\n", "README.md": "y\n"})
    log = _fake_guard(repo, {"reviews/shop.yaml": "shop blog"})
    result, outputs = _run(_preview_step(), repo, BASE_SHA=base, STACK="shop")
    assert result.returncode == 0, result.stderr
    assert outputs == {"status": "0"}
    assert "<!-- guard-wa:reviews/shop.yaml -->" in (repo / "reviews.md").read_text()
    # Only the changed review; the unchanged one is not reported.
    assert log.read_text().splitlines() == [
        "wa stacks --review reviews/shop.yaml",
        "wa report --review reviews/shop.yaml --format markdown",
    ]
    # The second stack it covers does not repeat it.
    result, outputs = _run(_preview_step(), repo, BASE_SHA=base, STACK="blog")
    assert outputs == {"status": "0"}
    assert (repo / "reviews.md").read_text() == ""


def test_a_contradiction_is_reported_and_fails_later(tmp_path: Path) -> None:
    repo, base, _ = _repo(tmp_path, {"reviews/shop.yaml": "v2\n"})
    _fake_guard(repo, {"reviews/shop.yaml": "shop"}, report_status=1)
    result, outputs = _run(_preview_step(), repo, BASE_SHA=base, STACK="shop")
    assert result.returncode == 0, result.stderr  # the comment is posted first
    assert outputs == {"status": "1"}
    assert "guard-wa:reviews/shop.yaml" in (repo / "reviews.md").read_text()
    job = load("preview.yml")["jobs"]["plan"]
    order = [s.get("name") for s in steps(job)]
    assert order.index("Well-Architected reviews") < order.index("Offline plan")
    assert order.index("Post or update the plan comment") < order.index("Fail if a review failed")


def test_an_invalid_review_is_named_in_every_comment(tmp_path: Path) -> None:
    repo, base, _ = _repo(tmp_path, {"reviews/shop.yaml": "broken\n"})
    _fake_guard(repo, {"reviews/shop.yaml": "!"})
    for stack in ("shop", "blog"):
        result, outputs = _run(_preview_step(), repo, BASE_SHA=base, STACK=stack)
        assert result.returncode == 0, result.stderr
        assert outputs == {"status": "2"}
        assert "the review file is invalid" in (repo / "reviews.md").read_text()


def test_a_deleted_review_and_no_base_report_nothing(tmp_path: Path) -> None:
    repo, base, _ = _repo(tmp_path, {"reviews/blog.yaml": None})
    log = _fake_guard(repo, {})
    result, outputs = _run(_preview_step(), repo, BASE_SHA=base, STACK="shop")
    assert (result.returncode, outputs) == (0, {"status": "0"})
    result, outputs = _run(_preview_step(), repo, STACK="shop")
    assert (result.returncode, outputs) == (0, {"status": "0"})
    assert not log.exists()


def test_the_plan_step_appends_the_reviews_to_the_comment() -> None:
    job = load("preview.yml")["jobs"]["plan"]
    plan = str(steps(job)[index_of(job, lambda s: s.get("id") == "plan")]["run"])
    assert "if [ -s reviews.md ]; then cat reviews.md >> plan.md; fi" in plan


# --- deploy: sync after the deploys -----------------------------------------------------------


def _deploy_jobs() -> dict[str, Any]:
    jobs = load("deploy.yml")["jobs"]
    assert isinstance(jobs, dict)
    return jobs


def _list_step() -> str:
    job = _deploy_jobs()["reviews"]
    return str(steps(job)[index_of(job, lambda s: s.get("id") == "reviews")]["run"])


def test_a_merge_lists_the_changed_reviews_with_their_deploy_role(tmp_path: Path) -> None:
    repo, base, head = _repo(tmp_path, {"reviews/shop.yaml": "v2\n", "reviews/new.yaml": "v1\n"})
    _fake_guard(repo, {"reviews/shop.yaml": "shop", "reviews/new.yaml": "shop blog"})
    result, outputs = _run(_list_step(), repo, BEFORE=base, GITHUB_SHA=head)
    assert result.returncode == 0, result.stderr
    matrix = json.loads(outputs["matrix"])
    role = "arn:aws:iam::111111111111:role/shop-deploy"
    assert matrix == {
        "include": [
            {"review": "reviews/new.yaml", "stack": "shop", "deploy_role": role},
            {"review": "reviews/shop.yaml", "stack": "shop", "deploy_role": role},
        ]
    }
    assert outputs["count"] == "2"


@pytest.mark.parametrize("before", ["", "0" * 40])
def test_a_first_push_syncs_every_review(tmp_path: Path, before: str) -> None:
    repo, _, head = _repo(tmp_path, {})
    _fake_guard(repo, {"reviews/shop.yaml": "shop", "reviews/blog.yaml": "shop"})
    result, outputs = _run(_list_step(), repo, BEFORE=before, GITHUB_SHA=head)
    assert result.returncode == 0, result.stderr
    assert outputs["count"] == "2"


def test_a_review_of_a_stack_without_a_deploy_role_fails(tmp_path: Path) -> None:
    repo, base, head = _repo(tmp_path, {"reviews/blog.yaml": "v2\n"})
    _fake_guard(repo, {"reviews/blog.yaml": "blog"})
    result, _ = _run(_list_step(), repo, BEFORE=base, GITHUB_SHA=head)
    assert result.returncode == 1
    assert "has no deploy role" in result.stdout


def test_an_invalid_review_fails_the_listing(tmp_path: Path) -> None:
    repo, base, head = _repo(tmp_path, {"reviews/shop.yaml": "broken\n"})
    _fake_guard(repo, {"reviews/shop.yaml": "!"})
    result, _ = _run(_list_step(), repo, BEFORE=base, GITHUB_SHA=head)
    assert result.returncode != 0


def test_the_sync_runs_after_the_deploys_with_the_deploy_role() -> None:
    job = _deploy_jobs()["review-sync"]
    assert job["needs"] == ["reviews", "deploy"]
    assert job["environment"] == "production"  # the deploy role trusts only this environment
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.reviews.outputs.matrix) }}"
    assert job["if"] == "needs.reviews.outputs.count != '0'"
    aws = next(s for s in steps(job) if str(s.get("uses", "")).startswith("aws-actions/"))
    assert aws["with"]["role-to-assume"] == "${{ matrix.deploy_role }}"
    run = str(steps(job)[-1]["run"])
    assert '.venv/bin/guard wa sync --review "$REVIEW" --apply --commit "$GITHUB_SHA"' in run
    assert _deploy_jobs()["reviews"]["permissions"] == {"contents": "read"}
