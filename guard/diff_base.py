"""Plan a stack as it was at a git revision: ``guard diff --base REF``'s base side.

The revision is checked out into a temporary ``git worktree`` and planned there by
``python -m guard plan --format json`` with this interpreter, in a subprocess whose working
directory is the worktree: ``python -m`` puts that directory first on ``sys.path``, so the
revision's own code, policy pack and stack file are used, not the working tree's. The worktree
is removed afterwards, whatever happens.

:class:`BasePlan` runs the same in a background thread, so that the caller plans the working
tree in-process meanwhile (the two plans take about the same time, one core each).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from guard.config.loader import STACKS_DIR_VARIABLE
from guard.diff_model import PlanDocument, PlanDocumentError
from guard.exit_codes import EXIT_CONFIG

#: ``guard plan``'s exit codes a plan comes with: 0, and 1 (a mandatory policy is violated).
PLANNED = (0, 1)

#: How long git may take for one command (rev-parse, worktree add/remove).
GIT_TIMEOUT = 300


class BasePlanError(Exception):
    """The base revision could not be planned; the message names the side (``base (REF)``)."""


class BaseConfigError(BasePlanError):
    """A usage or configuration error at the base: a bad ref, no git, an invalid stack file
    or policy pack at that revision (``guard diff`` exits 2)."""


class BaseCrashError(BasePlanError):
    """``guard plan`` at the base crashed (exit 70) or printed no plan: a bug, not a verdict."""


class Cancelled(BasePlanError):
    """:meth:`BasePlan.cancel` stopped the plan before it finished."""


def side(ref: str) -> str:
    """How messages name the base side: ``base (origin/main)``."""
    return f"base ({ref})"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise BaseConfigError("git is not installed (or not on PATH)") from None


def resolve(ref: str, repo: Path) -> tuple[Path, str]:
    """The repository's top directory and the commit ``ref`` names; :class:`BaseConfigError`
    with a clear message when there is no repository or no such commit."""
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise BaseConfigError(
            f"{side(ref)}: {repo} is not in a git repository "
            f"({top.stderr.strip() or 'git rev-parse failed'}); --base needs one"
        )
    if ref.startswith("-"):
        raise BaseConfigError(f"{side(ref)}: not a git revision (it starts with '-')")
    commit = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if commit.returncode != 0 or not commit.stdout.strip():
        raise BaseConfigError(
            f"{side(ref)}: {ref!r} names no commit in this repository; give a branch, tag or "
            "commit that exists here (in CI, fetch it first: a shallow clone lacks the base)"
        )
    return Path(top.stdout.strip()), commit.stdout.strip()


@contextlib.contextmanager
def worktree(top: Path, sha: str, ref: str) -> Iterator[Path]:
    """A detached worktree of ``sha`` in a temporary directory, removed on exit (any exit)."""
    holder = Path(tempfile.mkdtemp(prefix="guard-base-"))
    tree = holder / "tree"
    try:
        added = _git(top, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        if added.returncode != 0:
            raise BaseConfigError(
                f"{side(ref)}: git worktree add failed: {added.stderr.strip() or added.returncode}"
            )
        yield tree
    finally:
        try:
            _git(top, "worktree", "remove", "--force", str(tree))
            _git(top, "worktree", "prune")
        finally:
            shutil.rmtree(holder, ignore_errors=True)


def _inside(path: Path, root: Path) -> Path | None:
    """``path`` relative to ``root``, or None when it is not inside it."""
    try:
        return path.relative_to(root)
    except ValueError:
        return None


def _mapped(value: Path, cwd: Path, top: Path, tree: Path) -> Path:
    """A path of the working tree (absolute or relative to ``cwd``) as the same path in the
    worktree; a path outside the repository stays as it is (made absolute)."""
    absolute = (cwd / value).resolve()
    relative = _inside(absolute, top.resolve())
    return absolute if relative is None else tree / relative


def _code_root(top: Path, tree: Path) -> Path | None:
    """Where the revision's ``guard`` package is: the directory this process imported guard
    from, mapped into the worktree; None when that is not inside the repository (guard is
    installed elsewhere, and the base uses it with its own stack file)."""
    import guard

    root = Path(guard.__file__).resolve().parents[1]
    relative = _inside(root, top.resolve())
    return None if relative is None else tree / relative


class _Run:
    """One base plan; :meth:`cancel` kills its subprocess from another thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            if self.process is not None and self.process.poll() is None:
                self.process.kill()

    def communicate(
        self, command: list[str], cwd: Path, env: dict[str, str]
    ) -> tuple[int, str, str]:
        with self.lock:
            if self.cancelled:
                raise Cancelled("cancelled")
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            self.process = process
        try:
            stdout, stderr = process.communicate()
        except BaseException:  # KeyboardInterrupt included: leave no plan running
            process.kill()
            process.wait()
            raise
        if self.cancelled:
            raise Cancelled("cancelled")
        return process.returncode, stdout, stderr


def _keep_crash_files(tree_cwd: Path, cwd: Path) -> list[Path]:
    """Move the base's crash files (its .guard/crash-*.txt) out of the worktree before it goes."""
    kept = []
    for crash in sorted((tree_cwd / ".guard").glob("crash-*.txt")):
        target = cwd / ".guard" / f"base-{crash.name}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(crash), target)
        except OSError:
            continue
        kept.append(target)
    return kept


def _plan(
    stack: str,
    ref: str,
    *,
    repo: Path,
    top: Path,
    sha: str,
    today: date | None,
    policy_pack: Path | None,
    run: _Run,
) -> PlanDocument:
    cwd = repo.resolve()
    where = _inside(cwd, top.resolve()) or Path()
    with worktree(top, sha, ref) as tree:
        tree_cwd = tree / where
        env = dict(os.environ)
        stacks = env.get(STACKS_DIR_VARIABLE)
        stacks_dir = _mapped(Path(stacks), cwd, top, tree) if stacks else tree_cwd / "stacks"
        if stacks:
            env[STACKS_DIR_VARIABLE] = str(stacks_dir)
        if not (stacks_dir / f"Pulumi.{stack}.yaml").is_file():
            return PlanDocument.missing(stack)
        # The revision's guard package, from where this one comes from (the repository's top
        # directory, usually) mapped into the worktree; python -m also puts the working
        # directory first. PYTHONSAFEPATH would prevent that; PYTHONPATH may name the working
        # tree, so the worktree goes before it.
        code_root = _code_root(top, tree)
        if code_root is not None and not (code_root / "guard" / "__init__.py").is_file():
            raise BaseConfigError(
                f"{side(ref)}: there is no guard package at {ref} "
                f"({code_root.relative_to(tree) / 'guard'}); choose a later revision"
            )
        env.pop("PYTHONSAFEPATH", None)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(code_root or ""), str(tree_cwd), env.get("PYTHONPATH", "")) if p
        )
        command = [sys.executable, "-m", "guard", "plan", "--stack", stack, "--format", "json"]
        if policy_pack is not None:
            command += ["--policy-pack", str(_mapped(policy_pack, cwd, top, tree))]
        if today is not None:
            command += ["--today", today.isoformat()]
        code, stdout, stderr = run.communicate(command, tree_cwd, env)
        # Paths in messages as the reader knows them: relative, not in a removed directory.
        stderr = stderr.replace(f"{tree_cwd}{os.sep}", "").replace(f"{tree}{os.sep}", "").strip()
        if code == EXIT_CONFIG:
            raise BaseConfigError(f"{side(ref)}: {stderr or 'guard plan exited with 2'}")
        if code not in PLANNED:
            kept = _keep_crash_files(tree_cwd, cwd)
            detail = stderr.splitlines()[-1] if stderr else "no message"
            if kept:
                detail += f" (kept in {', '.join(str(k) for k in kept)})"
            raise BaseCrashError(
                f"{side(ref)}: guard plan at {sha[:12]} crashed with exit code {code}: {detail}"
            )
        try:
            return PlanDocument.from_json(json.loads(stdout), side(ref))
        except (ValueError, PlanDocumentError) as error:
            raise BaseCrashError(
                f"{side(ref)}: guard plan at {sha[:12]} printed no plan JSON ({error})"
            ) from None


def plan_at_revision(
    stack: str,
    ref: str,
    *,
    repo: Path | None = None,
    today: date | None = None,
    policy_pack: Path | None = None,
) -> PlanDocument:
    """The plan of ``stack`` at ``ref``, with that revision's code and stack file.

    A stack without a stack file at ``ref`` is :meth:`PlanDocument.missing` (a new stack).
    ``policy_pack`` (default: the revision's ``policies``) is mapped into the revision when it
    is inside the repository. Raises :class:`BaseConfigError` (bad ref, invalid stack file or
    pack at ``ref``) or :class:`BaseCrashError`.
    """
    here = repo or Path.cwd()
    top, sha = resolve(ref, here)
    return _plan(
        stack, ref, repo=here, top=top, sha=sha, today=today, policy_pack=policy_pack, run=_Run()
    )


class BasePlan:
    """:func:`plan_at_revision` in a background thread.

    The ref is resolved when the object is made (a bad ref fails at once, before anything is
    planned); :meth:`start` begins the plan, :meth:`result` waits for it and returns it or
    raises its error; :meth:`cancel` stops it and waits until the worktree is removed.
    """

    def __init__(
        self,
        stack: str,
        ref: str,
        *,
        repo: Path | None = None,
        today: date | None = None,
        policy_pack: Path | None = None,
    ) -> None:
        self.stack, self.ref = stack, ref
        self.repo = repo or Path.cwd()
        self.top, self.sha = resolve(ref, self.repo)
        self.today, self.policy_pack = today, policy_pack
        self._run = _Run()
        self._document: PlanDocument | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._target, name="guard-base-plan")

    def _target(self) -> None:
        try:
            self._document = _plan(
                self.stack,
                self.ref,
                repo=self.repo,
                top=self.top,
                sha=self.sha,
                today=self.today,
                policy_pack=self.policy_pack,
                run=self._run,
            )
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def start(self) -> BasePlan:
        self._thread.start()
        return self

    def result(self) -> PlanDocument:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._document is not None
        return self._document

    def cancel(self) -> None:
        """Stop the plan if it still runs; return once the worktree is removed."""
        self._run.cancel()
        if self._thread.is_alive():
            self._thread.join()
