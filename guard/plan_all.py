"""``guard plan --all``: plan every stack of the stacks directory, several at a time, and print
one summary table.

Pulumi's mock runtime is process-global state, so stacks are planned in parallel by worker
processes, each planning one stack after another in-process with
:func:`guard.cli_plan.plan_stack` (as the tests do). How the pool is built, with the CPU time
(user and system, the whole process tree) of 50 account stacks of 14 endpoints and an
organization stack on 2 workers, 2 to 8 runs of each way on a shared 2-core machine
(``benchmarks/plan_all.py``; docs/cli.md, "guard plan --all"):

- The parent imports what every plan needs first (the program and its components, the policy
  pack, the pulumi_aws subpackages of guard's resource types: :func:`prepare`), freezes its
  objects out of the cyclic collector (``gc.freeze``) and then forks the workers, which start
  warm: a plan in a warm process takes a fraction of a cold one (0.3 s against 2.3 s for the
  ``staging`` fixture; the rest is imports and interpreter teardown). This took 14 to 20 s of CPU; workers
  that import for themselves took 21 to 28 s, a ``spawn`` pool 31 s, and one
  ``guard plan --stack`` process per stack 83 to 108 s.
- Each worker applies the collector tuning of :mod:`guard.process` and collects once after
  each stack. With the parent's objects frozen, that collection walks only what the worker
  made since the fork, and keeps its memory flat however many stacks it plans: the largest
  worker peaked at 148 MiB, against 210 to 215 MiB without the collection (a figure that grows
  with the stacks per worker), for no CPU time this machine could measure (without: 14 to 19 s).
  Collecting without the freeze walks every imported object each time: 28 s. Replacing each
  worker after 5 stacks instead (``max_tasks_per_child``, which ``concurrent.futures``
  refuses with ``fork`` and which hung in the one run tried here with ``spawn``) took as long, at 162 to 167 MiB.
- The parent hands each worker one stack at a time over a pipe, from its main thread only (no
  other thread runs when it forks), and the worker sends back a small :class:`StackRow`, never
  the plan. A worker that dies (a signal, the out-of-memory killer) costs only the stack it was
  planning: that row says ``crashed`` and a new worker takes the next stack (in a
  ``concurrent.futures`` pool, one dead worker fails every stack still pending).

Without the ``fork`` start method (Windows), the stacks are planned one after another in this
process.
"""

from __future__ import annotations

import contextlib
import gc
import json
import keyword
import multiprocessing
import os
import signal
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from guard.exit_codes import EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_POLICY

PLAN_ALL_USAGE = (
    "guard plan --all [--jobs N] [--format text|markdown|json] [--policy-pack DIR]\n"
    "                  [--today YYYY-MM-DD]"
)
#: The first line of the markdown report (the single-stack plan's is ``<!-- guard-plan:NAME -->``).
MARKDOWN_MARKER = "<!-- guard-plan-all -->"
#: A row's result, and the exit code it stands for.
RESULT_CODES = {
    "ok": EXIT_OK,
    "policy": EXIT_POLICY,
    "invalid": EXIT_CONFIG,
    "crashed": EXIT_INTERNAL,
}
COLUMNS = ("stack", "resources", "mandatory", "advisory", "time (s)", "result")


@dataclass(frozen=True)
class Finding:
    """A mandatory policy finding, as the table's readers need it."""

    policy: str
    resource: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"policy": self.policy, "resource": self.resource, "message": self.message}


@dataclass(frozen=True)
class StackRow:
    """What a worker sends back for one stack: counts, never the plan."""

    stack: str
    result: str
    seconds: float
    #: None when the stack was not planned (invalid, crashed).
    resources: int | None = None
    mandatory: int | None = None
    advisory: int | None = None
    #: The configuration errors (invalid) or the one-line internal error (crashed).
    errors: tuple[str, ...] = ()
    #: The mandatory findings (result ``policy``).
    findings: tuple[Finding, ...] = ()

    @property
    def exit_code(self) -> int:
        return RESULT_CODES[self.result]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": self.resources,
            "mandatory": self.mandatory,
            "advisory": self.advisory,
            "seconds": round(self.seconds, 2),
            "result": self.result,
            "errors": list(self.errors),
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass(frozen=True)
class Report:
    """Every stack's row, sorted by stack name, and how the run went."""

    rows: list[StackRow]
    wall_seconds: float
    jobs: int

    @property
    def exit_code(self) -> int:
        """70 if a stack crashed, else 2 if one is invalid, 1 if one violates a mandatory
        policy, else 0."""
        codes = {row.exit_code for row in self.rows}
        for code in (EXIT_INTERNAL, EXIT_CONFIG, EXIT_POLICY):
            if code in codes:
                return code
        return EXIT_OK

    def count(self, result: str) -> int:
        return sum(1 for row in self.rows if row.result == result)

    @property
    def resources(self) -> int:
        return sum(row.resources or 0 for row in self.rows)

    def summary(self) -> dict[str, Any]:
        return {
            "stacks": len(self.rows),
            **{result: self.count(result) for result in RESULT_CODES},
            "resources": self.resources,
            "mandatory": sum(row.mandatory or 0 for row in self.rows),
            "advisory": sum(row.advisory or 0 for row in self.rows),
            "wall_seconds": round(self.wall_seconds, 2),
            "jobs": self.jobs,
            "exit_code": self.exit_code,
        }


# --- planning one stack (in a worker) ----------------------------------------------------------


def plan_one(stack: str, *, policy_pack: Path, today: date | None) -> StackRow:
    """Plan ``stack`` from its own stack file in this process; any failure becomes its row."""
    from guard import cli_plan

    start = time.perf_counter()
    try:
        planned = cli_plan.plan_stack(stack, config_file=None, policy_pack=policy_pack, today=today)
    except cli_plan.PlanError as error:
        lines = tuple(line.strip() for line in error.message.splitlines() if line.strip())
        return StackRow(stack, "invalid", time.perf_counter() - start, errors=lines)
    except Exception as error:  # a bug in guard: reported in this stack's row, the rest go on
        line = crash_line(stack, error)
        return StackRow(stack, "crashed", time.perf_counter() - start, errors=(line,))
    violations = planned.outcome.violations
    mandatory = [v for v in violations if v.mandatory]
    from guard.diff_policy import where

    return StackRow(
        stack,
        "policy" if mandatory else "ok",
        time.perf_counter() - start,
        resources=len(planned.result.resources),
        mandatory=len(mandatory),
        advisory=len(violations) - len(mandatory),
        findings=tuple(Finding(v.policy, where(v.urn), v.message) for v in mandatory),
    )


def crash_line(stack: str, error: BaseException) -> str:
    """One line for a crashed stack's row; the traceback goes to a crash file (as ``guard``'s
    own handler does, :func:`guard.cli.report_crash`)."""
    from guard import crash

    text = crash.details(error, f"command: {crash.command_line()}\nstack: {stack}\n")
    where = crash.write_crash_file(text)
    line = (
        f"internal error, a bug in guard and not a problem with the stack ({crash.summary(error)})"
    )
    return f"{line}; details in {where}" if where is not None else line


# --- the pool ----------------------------------------------------------------------------------


def aws_subpackages() -> list[str]:
    """The pulumi_aws subpackages of the resource types guard declares (guard.resource_types)."""
    from guard import resource_types

    tokens: list[str] = []
    for value in vars(resource_types).values():
        if isinstance(value, str):
            tokens.append(value)
        elif isinstance(value, (tuple, list, frozenset, set)):
            tokens += [v for v in value if isinstance(v, str)]
        elif isinstance(value, dict):
            tokens += [v for v in value.values() if isinstance(v, str)]
    names = {t.split(":")[1].split("/")[0] for t in tokens if t.startswith("aws:") and "/" in t}
    return sorted(f"{n}_" if keyword.iskeyword(n) else n for n in names)


def prepare(policy_pack: Path) -> None:
    """Import what every plan needs, so that forked workers start with it: the program and its
    components, the config checks, the policy pack (:class:`PolicyPackError` if it cannot be
    loaded) and the pulumi_aws subpackages (lazy: each loads on first use, 0.3 s for wafv2)."""
    import pulumi_aws

    import guard.cross_checks  # the config checks the loader imports on first use
    import guard.program  # noqa: F401  (its components)
    from guard.policy_run import load_pack

    load_pack(policy_pack)
    with warnings.catch_warnings():
        # Loading s3 warns about its deprecated classes, which guard does not use.
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in aws_subpackages():
            with contextlib.suppress(AttributeError, ImportError):
                # Any attribute outside pulumi's introspection set loads a lazy subpackage.
                hasattr(getattr(pulumi_aws, name), "__all__")


def _worker(conn: Connection, policy_pack: Path, today: date | None) -> None:
    """A worker process: plan the stacks the parent sends, one at a time, until it sends None."""
    from guard import process

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # Nothing but the report goes to stdout: whatever a plan prints goes to stderr.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(sys.stderr.fileno(), 1)
    sys.stdout = sys.stderr
    process.tune_collector()
    while True:
        stack = conn.recv()
        if stack is None:
            break
        conn.send(plan_one(stack, policy_pack=policy_pack, today=today))
        # The parent froze its objects before the fork (plan_stacks): this walks only what this
        # worker made since, and frees the last plan.
        gc.collect()
    conn.close()


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    stack: str | None = None


def _died(stack: str, exitcode: int | None) -> StackRow:
    how = f"exit code {exitcode}"
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            how = signal.Signals(-exitcode).name
    if how == "SIGKILL":
        how += ", perhaps out of memory"
    line = f"internal error: the worker process planning it died ({how})"
    return StackRow(stack, "crashed", 0.0, errors=(line,))


@dataclass
class _Pool:
    """Worker processes forked from this one; each is sent one stack at a time."""

    policy_pack: Path
    today: date | None
    workers: list[_Worker] = field(default_factory=list)

    def start(self) -> _Worker:
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        sys.stdout.flush()  # a buffer not yet written would be written by the child too
        sys.stderr.flush()
        child = context.Process(
            target=_worker,
            args=(theirs, self.policy_pack, self.today),
            name="guard-plan-all",
            daemon=True,
        )
        child.start()
        theirs.close()  # the pipe reads as closed once the worker is gone
        worker = _Worker(child, ours)
        self.workers.append(worker)
        return worker

    def retire(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.conn.close()
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        self.workers.remove(worker)

    def run(
        self, stacks: Sequence[str], jobs: int, on_row: Callable[[StackRow], None]
    ) -> list[StackRow]:
        pending = deque(stacks)
        rows: list[StackRow] = []
        try:
            for _ in range(min(jobs, len(pending))):
                self._give(self.start(), pending)
            while self.workers:
                ready = wait([w.conn for w in self.workers])
                for worker in [w for w in self.workers if w.conn in ready]:
                    rows.append(self._receive(worker))
                    on_row(rows[-1])
                    if worker not in self.workers:  # it died: a new one takes the next stack
                        if pending:
                            self._give(self.start(), pending)
                    elif pending:
                        self._give(worker, pending)
                    else:
                        self.retire(worker)
        finally:
            for worker in list(self.workers):  # Ctrl-C, or a bug of ours
                worker.process.kill()
                worker.process.join()
                worker.conn.close()
                self.workers.remove(worker)
        return rows

    def _receive(self, worker: _Worker) -> StackRow:
        """The row of the stack ``worker`` planned; a crashed row if the worker died."""
        assert worker.stack is not None
        try:
            row: StackRow = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join()
            worker.conn.close()
            self.workers.remove(worker)
            return _died(worker.stack, worker.process.exitcode)
        return row

    @staticmethod
    def _give(worker: _Worker, pending: deque[str]) -> None:
        worker.stack = pending.popleft()
        worker.conn.send(worker.stack)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def plan_stacks(
    stacks: Sequence[str],
    *,
    jobs: int,
    policy_pack: Path,
    today: date | None,
    on_row: Callable[[StackRow], None] = lambda row: None,
) -> list[StackRow]:
    """Plan ``stacks`` with ``jobs`` worker processes, sorted by stack name.

    :func:`prepare` must have run in this process (the workers inherit what it imported).
    """
    gc.freeze()  # the workers' collections skip everything imported so far (module docstring)
    try:
        if can_fork():
            rows = _Pool(policy_pack, today).run(stacks, jobs, on_row)
        else:
            rows = []
            for stack in stacks:
                rows.append(plan_one(stack, policy_pack=policy_pack, today=today))
                on_row(rows[-1])
                gc.collect()
    finally:
        gc.unfreeze()
    return sorted(rows, key=lambda row: row.stack)


# --- rendering ---------------------------------------------------------------------------------


def _cells(row: StackRow) -> list[str]:
    def number(value: int | None) -> str:
        return "-" if value is None else str(value)

    return [
        row.stack,
        number(row.resources),
        number(row.mandatory),
        number(row.advisory),
        f"{row.seconds:.1f}",
        row.result,
    ]


def totals_line(report: Report) -> str:
    results = ", ".join(f"{report.count(r)} {r}" for r in RESULT_CODES if report.count(r))
    stacks = f"{len(report.rows)} stack{'s' if len(report.rows) != 1 else ''}"
    return (
        f"{stacks} ({results}), {report.resources} resources, "
        f"{report.wall_seconds:.1f} s wall time, {report.jobs} job{'s' if report.jobs != 1 else ''}"
    )


def _details(report: Report) -> list[tuple[StackRow, str, list[str]]]:
    """For each stack that is not ok: its heading and its findings or errors."""
    out: list[tuple[StackRow, str, list[str]]] = []
    for row in report.rows:
        if row.result == "policy":
            lines = [f"{f.policy} on {f.resource}: {f.message}" for f in row.findings]
            out.append((row, f"{row.mandatory} mandatory violation(s)", lines))
        elif row.result in ("invalid", "crashed"):
            out.append((row, row.result, list(row.errors)))
    return out


def render_text(report: Report) -> str:
    table = [list(COLUMNS)] + [_cells(row) for row in report.rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    out = []
    for cells in table:
        # The stack name left-aligned, the figures right-aligned, the result last.
        parts = [cells[0].ljust(widths[0])]
        parts += [cells[i].rjust(widths[i]) for i in range(1, len(COLUMNS) - 1)]
        out.append("  ".join([*parts, cells[-1]]).rstrip())
    out += ["", totals_line(report)]
    for row, heading, lines in _details(report):
        out += ["", f"{row.stack}: {heading}"]
        out += [f"  {line}" for line in lines]
    return "\n".join(out) + "\n"


def _markdown_cell(text: str) -> str:
    from guard.diff_render import escape_markdown

    return escape_markdown(text).replace("|", "\\|")


def render_markdown(report: Report) -> str:
    from guard.diff_render import code

    verdict = {
        EXIT_OK: "all mandatory policies pass",
        EXIT_POLICY: "a mandatory policy is violated",
        EXIT_CONFIG: "a stack file is invalid",
        EXIT_INTERNAL: "a stack could not be planned (internal error)",
    }[report.exit_code]
    out = [MARKDOWN_MARKER, f"## guard plan --all: {len(report.rows)} stacks", ""]
    out += [f"**{verdict}**", ""]
    out += ["| " + " | ".join(COLUMNS) + " |", "|---|---:|---:|---:|---:|---|"]
    for row in report.rows:
        cells = _cells(row)
        cells[0] = code(row.stack).replace("|", "\\|")
        cells[-1] = f"**{row.result}**" if row.result != "ok" else row.result
        out.append("| " + " | ".join(cells) + " |")
    out += ["", totals_line(report)]
    for row, heading, lines in _details(report):
        out += ["", f"### {code(row.stack)}: {heading}", ""]
        out += [f"- {_markdown_cell(line)}" for line in lines]
    return "\n".join(out) + "\n"


def render_json(report: Report) -> str:
    document = {"stacks": [row.to_json() for row in report.rows], "summary": report.summary()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}


# --- the command -------------------------------------------------------------------------------


def default_jobs() -> int:
    """The CPUs this process may run on, at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def usage_problem(args: Any) -> str | None:
    """What ``guard plan --all`` cannot be combined with (None: nothing)."""
    if getattr(args, "config_file", None) is not None:
        return "--config-file cannot be used with --all: each stack reads its own stack file"
    if getattr(args, "base", None) is not None:
        return "--base cannot be used with --all: guard plan --stack NAME --base GIT_REF"
    return None


def _progress(total: int) -> Callable[[StackRow], None]:
    """One stderr line per finished stack, when stderr is a terminal."""
    done = 0

    def report(row: StackRow) -> None:
        nonlocal done
        done += 1
        if not sys.stderr.isatty():
            return
        figures = f"{row.resources} resources, " if row.resources is not None else ""
        print(
            f"guard plan --all: [{done}/{total}] {row.stack}: {row.result} "
            f"({figures}{row.seconds:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    return report


def run_plan_all(args: Any) -> int:
    """``guard plan --all``: every stack file's plan, one table on stdout; the exit code."""
    from guard.config.loader import available_stacks, stacks_dir
    from guard.policy_run import PolicyPackError

    problem = usage_problem(args)
    if problem is not None:
        print(f"usage: {PLAN_ALL_USAGE}\nguard plan: error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    start = time.perf_counter()
    stacks = available_stacks()
    if not stacks:
        print(
            f"guard plan --all: no stack files (Pulumi.<stack>.yaml) in {stacks_dir()}/; "
            "nothing was planned",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        prepare(args.policy_pack)
    except PolicyPackError as error:
        print(f"guard plan: {error}\nnothing was planned", file=sys.stderr)
        return EXIT_CONFIG
    # Never more workers than stacks; one process without fork.
    jobs = min(args.jobs or default_jobs(), len(stacks)) if can_fork() else 1
    rows = plan_stacks(
        stacks,
        jobs=jobs,
        policy_pack=args.policy_pack,
        today=args.today,
        on_row=_progress(len(stacks)),
    )
    report = Report(rows, time.perf_counter() - start, jobs)
    if args.format == "json":
        # Text and markdown list them under the table; JSON readers get them on stderr too.
        _print_errors(report.rows)
    sys.stdout.write(RENDERERS[args.format](report))
    return report.exit_code


def _print_errors(rows: Iterable[StackRow]) -> None:
    """The errors of the stacks that could not be planned, on stderr as guard plan --stack
    prints them (the JSON report on stdout has them too)."""
    for row in rows:
        if row.result in ("invalid", "crashed"):
            print(f"guard plan --all: stack {row.stack}: {row.result}", file=sys.stderr)
            for error in row.errors:
                print(error, file=sys.stderr)
