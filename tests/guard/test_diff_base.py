"""``guard diff --base REF`` on a git repository made in the test: the base is planned with its own
code and stack file in a temporary worktree that is always removed; a stack new at the head, a
bad ref and a configuration error at the base.

The subprocess tests (``guard`` run as users run it, in the temporary repository) each plan a
small stack twice; the helpers of guard.diff_base are tested in-process on a repository
without guard's sources.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guard.config.loader import STACKS_DIR_VARIABLE
from guard.diff_base import (
    BaseConfigError,
    BaseCrashError,
    BasePlan,
    Cancelled,
    _code_root,
    _mapped,
    plan_at_revision,
    resolve,
    worktree,
)
from tests.conftest import ROOT
from tests.stack_files import write_stack_file

#: What the temporary repository holds of this one: the program, its code and policy pack.
SOURCES = ("guard", "components", "policies", "functions", "pyproject.toml", "Pulumi.yaml")
#: Appended to the base's guard/__init__.py: the base process says where it imported guard from.
MARKER_CODE = (
    "\nimport os as _os\n"
    "if _os.environ.get('GUARD_TEST_MARKER'):\n"
    "    with open(_os.environ['GUARD_TEST_MARKER'], 'a', encoding='utf-8') as _f:\n"
    "        _f.write(__file__ + '\\n')\n"
)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=guard test", "-c", "user.email=test@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if
            line.startswith("worktree ")]  # fmt: skip


def guard(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m guard ARGS`` in ``repo``, with the repository's default stacks/ directory."""
    environment = {
        k: v for k, v in os.environ.items() if k not in (STACKS_DIR_VARIABLE, "PYTHONPATH")
    }
    return subprocess.run(
        [sys.executable, "-m", "guard", *args],
        cwd=repo, env={**environment, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with guard's sources and stacks/Pulumi.shop.yaml, one commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SOURCES],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    root = tmp_path / "repo"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    (root / "stacks").mkdir()
    write_stack_file(root / "stacks", "shop")
    git(root, "init", "-q", "-b", "main")
    commit(root, "base")
    return root


@pytest.fixture
def small_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository without guard's sources: stacks/Pulumi.shop.yaml, one commit."""
    monkeypatch.delenv(STACKS_DIR_VARIABLE, raising=False)
    root = tmp_path / "small"
    (root / "stacks").mkdir(parents=True)
    write_stack_file(root / "stacks", "shop")
    git(root, "init", "-q", "-b", "main")
    commit(root, "base")
    return root


def limit(path: Path, old: int, new: int) -> None:
    text = path.read_text(encoding="utf-8")
    assert f"limit: {old}\n" in text
    path.write_text(text.replace(f"limit: {old}\n", f"limit: {new}\n", 1), encoding="utf-8")


# --- guard diff --base, as users run it ---------------------------------------------------------


def test_base_is_planned_with_its_own_code_and_the_worktree_removed(
    repo: Path, tmp_path: Path
) -> None:
    init = repo / "guard" / "__init__.py"
    original = init.read_text(encoding="utf-8")
    init.write_text(original + MARKER_CODE, encoding="utf-8")
    commit(repo, "the base's own code says where it runs from")
    init.write_text(original, encoding="utf-8")  # the working tree's code does not
    limit(repo / "stacks" / "Pulumi.shop.yaml", 100, 1000)  # uncommitted
    marker = tmp_path / "imported-from"
    result = guard(
        repo, "diff", "--stack", "shop", "--base", "HEAD", "--format", "json",
        GUARD_TEST_MARKER=str(marker),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["stack"], document["base"], document["head"]) == (
        "shop",
        "HEAD",
        "working tree",
    )
    assert document["status"] == "changed"
    raised = [c for c in document["changes"] if "1000" in json.dumps(c)]
    assert raised and all(c["effect"] == "weakens" for c in raised), document["changes"]
    # The base ran the worktree's guard package (not the repository's, not this checkout's),
    # and the worktree is gone.
    (imported,) = marker.read_text(encoding="utf-8").splitlines()
    assert Path(imported).parts[-2:] == ("guard", "__init__.py")
    assert "guard-base-" in imported and not Path(imported).exists()
    assert not imported.startswith(str(repo)) and not imported.startswith(str(ROOT))
    assert worktrees(repo) == [f"worktree {repo}"]


def test_new_stack_and_removed_stack(repo: Path) -> None:
    write_stack_file(repo / "stacks", "fresh")  # only in the working tree
    result = guard(repo, "plan", "--stack", "fresh", "--format", "markdown", "--base", "HEAD")
    comment = result.stdout
    # The plan's own exit code: 1 when a mandatory policy is violated (shown above the fold).
    assert result.returncode in (0, 1), result.stderr
    above_the_fold = comment.split("<details><summary>Full plan</summary>")[0]
    assert (result.returncode == 1) == ("mandatory violation(s)" in above_the_fold)
    assert comment.startswith("<!-- guard-plan:fresh -->\n## guard diff: `fresh`\n")
    assert comment.count("<!-- guard-plan:") == 1
    assert "**new stack: " in comment
    assert comment.index("**new stack: ") < comment.index("<details><summary>Full plan</summary>")
    (repo / "stacks" / "Pulumi.shop.yaml").unlink()  # deleted in the working tree
    removed = guard(repo, "diff", "--stack", "shop", "--base", "HEAD")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.splitlines()[1].startswith("stack removed: ")
    assert worktrees(repo) == [f"worktree {repo}"]


def test_a_bad_ref_exits_2_before_planning(repo: Path) -> None:
    result = guard(repo, "diff", "--stack", "shop", "--base", "mian")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "base (mian): 'mian' names no commit in this repository; give a branch, tag or commit "
        "that exists here (in CI, fetch it first: a shallow clone lacks the base)",
        "guard diff: nothing was compared",
    ]


def test_a_configuration_error_at_the_base_names_the_base(repo: Path) -> None:
    stack_file = repo / "stacks" / "Pulumi.shop.yaml"
    limit(stack_file, 100, 5)
    commit(repo, "an invalid limit")
    limit(stack_file, 5, 100)  # fixed in the working tree
    result = guard(repo, "diff", "--stack", "shop", "--base", "HEAD")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "base (HEAD): stacks/Pulumi.shop.yaml: 1 configuration error"
    assert "rate_limits[0].limit = 5" in result.stderr and "guard-base-" not in result.stderr
    assert lines[-1] == "guard diff: nothing was compared"
    assert worktrees(repo) == [f"worktree {repo}"]


# --- the helpers, in-process -------------------------------------------------------------------


def test_resolve_names_the_commit_or_says_what_is_wrong(small_repo: Path, tmp_path: Path) -> None:
    top, sha = resolve("HEAD", small_repo)
    assert top == small_repo.resolve() and sha == git(small_repo, "rev-parse", "HEAD").strip()
    with pytest.raises(BaseConfigError, match=r"^base \(--help\): not a git revision"):
        resolve("--help", small_repo)
    with pytest.raises(BaseConfigError, match=r"^base \(HEAD~5\): 'HEAD~5' names no commit"):
        resolve("HEAD~5", small_repo)
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    with pytest.raises(BaseConfigError, match="is not in a git repository"):
        resolve("HEAD", elsewhere)


def test_the_worktree_is_removed_even_on_keyboard_interrupt(small_repo: Path) -> None:
    top, sha = resolve("HEAD", small_repo)
    with pytest.raises(KeyboardInterrupt), worktree(top, sha, "HEAD") as tree:
        assert (tree / "stacks" / "Pulumi.shop.yaml").is_file()
        assert len(worktrees(small_repo)) == 2
        raise KeyboardInterrupt
    assert not tree.exists() and not tree.parent.exists()
    assert worktrees(small_repo) == [f"worktree {small_repo}"]


def test_a_stack_file_absent_at_the_base_is_a_new_stack(
    small_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_stack_file(small_repo / "stacks", "fresh")  # uncommitted
    document = plan_at_revision("fresh", "HEAD", repo=small_repo)
    assert not document.exists and document.stack == "fresh"
    # $GUARD_STACKS_DIR inside the repository is read at the base: its own directory there.
    elsewhere = small_repo / "elsewhere"
    elsewhere.mkdir()
    write_stack_file(elsewhere, "shop")
    monkeypatch.setenv(STACKS_DIR_VARIABLE, str(elsewhere))
    assert not plan_at_revision("shop", "HEAD", repo=small_repo).exists
    assert worktrees(small_repo) == [f"worktree {small_repo}"]


def test_paths_inside_the_repository_map_into_the_worktree(tmp_path: Path) -> None:
    top, tree = tmp_path / "repo", tmp_path / "tree"
    assert _mapped(Path("policies"), top, top, tree) == tree / "policies"
    assert _mapped(top / "tests" / "stacks", top, top, tree) == tree / "tests" / "stacks"
    assert _mapped(Path("../shared"), top, top, tree) == (tmp_path / "shared").resolve()
    # The base's guard package is where this process's comes from, in the worktree; with guard
    # installed outside the repository, the base runs that one (with its own stack file).
    assert _code_root(ROOT, tree) == tree
    assert _code_root(top, tree) is None


def test_a_cancelled_base_plan_leaves_no_worktree(small_repo: Path) -> None:
    base = BasePlan("shop", "HEAD", repo=small_repo).start()
    base.cancel()
    with pytest.raises(Cancelled):
        base.result()
    assert worktrees(small_repo) == [f"worktree {small_repo}"]


#: A stand-in guard package committed at the base: ``python -m guard`` there does what
#: $FAKE_GUARD says, as guard plan would on a crash, a configuration error or a bad day.
FAKE_MAIN = """\
import os, pathlib, sys
what = os.environ["FAKE_GUARD"]
if what == "crash":
    pathlib.Path(".guard").mkdir(exist_ok=True)
    pathlib.Path(".guard/crash-1.txt").write_text("Traceback: the bug")
    sys.exit(print("guard: internal error (KeyError: 'arn'); details in .guard/crash-1.txt",
                   file=sys.stderr) or 70)
if what == "config":
    sys.exit(print(f"{os.getcwd()}/stacks/Pulumi.shop.yaml: 1 configuration error",
                   file=sys.stderr) or 2)
if what == "violation":
    print('{"stack": "shop", "resources": []}')
    sys.exit(1)
print("not JSON")
"""


@pytest.mark.parametrize(
    ("what", "error", "message"),
    [
        ("crash", BaseCrashError, "crashed with exit code 70: guard: internal error"),
        ("config", BaseConfigError, "^base \\(HEAD\\): stacks/Pulumi.shop.yaml: 1 configuration"),
        ("garbage", BaseCrashError, "printed no plan JSON"),
        ("violation", None, ""),
    ],
)
def test_how_the_base_plan_ends(
    small_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    error: type[Exception] | None,
    message: str,
) -> None:
    (small_repo / "guard").mkdir()
    (small_repo / "guard" / "__init__.py").write_text("", encoding="utf-8")
    (small_repo / "guard" / "__main__.py").write_text(FAKE_MAIN, encoding="utf-8")
    commit(small_repo, "a stand-in guard")
    monkeypatch.setenv("FAKE_GUARD", what)
    if error is None:  # exit 1: a mandatory policy is violated, still a plan
        assert plan_at_revision("shop", "HEAD", repo=small_repo).resources == ()
    else:
        with pytest.raises(error, match=message) as raised:
            plan_at_revision("shop", "HEAD", repo=small_repo)
        assert "guard-base-" not in str(raised.value)
    if what == "crash":  # the crash file outlives the worktree
        kept = small_repo / ".guard" / "base-crash-1.txt"
        assert f"kept in {kept}" in str(raised.value)
        assert kept.read_text(encoding="utf-8") == "Traceback: the bug"
    assert worktrees(small_repo) == [f"worktree {small_repo}"]
