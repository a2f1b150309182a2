"""Render ``guard diff``: text for a terminal, markdown for the pull-request comment, and JSON.

The JSON is a documented contract (docs/cli.md, "guard diff"): the same result always gives
the same bytes. Text and markdown lead with a one-line verdict, then list the changes that
weaken protection, then those that strengthen it, then the neutral ones, one line each.

Subjects, paths and reasons carry values from the stack file, which a pull request (a fork's
too) controls: in markdown they are escaped, so that they cannot add markup, HTML, math,
mentions or a second comment marker.
"""

from __future__ import annotations

import json
import re

from guard.costs import quantity_text
from guard.costs_delta import signed_usd
from guard.diff import DiffResult
from guard.diff_model import EFFECT_ORDER, Change, Effect

#: The marker the workflows look for to edit a stack's comment in place (preview.yml); it is
#: the first line of the plan comment and of the diff comment.
MARKER = "<!-- guard-plan:{stack} -->"
#: Above this many neutral changes, the markdown folds them into a <details> block.
FOLD_NEUTRAL_OVER = 10
#: The text layout's subject column is at most this wide (a longer subject pushes the line).
SUBJECT_WIDTH = 28

_LABELS: dict[Effect, str] = {
    "weakens": "WEAKENS",
    "strengthens": "STRENGTHENS",
    "neutral": "NEUTRAL",
}
_HEADINGS: dict[Effect, str] = {
    "weakens": "Weakens protection",
    "strengthens": "Strengthens protection",
    "neutral": "Neutral",
}


# --- shared ----------------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verdict(result: DiffResult) -> str:
    """One line: what the change does to the stack's protections (status first if not plain)."""
    total, weakening = len(result.changes), result.weakens
    if weakening:
        verb = "weakens" if weakening == 1 else "weaken"
        core = f"{_plural(weakening, 'change')} {verb} protection — security review needed"
    elif total:
        core = f"no change weakens protection; {_plural(total, 'change')}"
    else:
        core = "no change to protections"
    if result.status in ("new stack", "stack removed"):
        return f"{result.status}: {core}"
    return core


def _one_line(text: str) -> str:
    """``text`` without line breaks or control characters (one change, one line)."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", text)


def path_adds(change: Change) -> bool:
    """Whether a change's path tells the reader more than its subject and reason do.

    A URN (what the engine reports for a resource added or removed) repeats the subject; a
    path the reason already quotes is not repeated.
    """
    path = change.path
    return (
        bool(path)
        and not path.startswith("urn:")
        and path != change.subject
        and path not in change.reason
    )


def _grouped(result: DiffResult) -> list[tuple[Effect, list[Change]]]:
    """The changes by effect, weakening first; each group keeps the engine's order."""
    groups = [(e, [c for c in result.changes if c.effect == e]) for e in EFFECT_ORDER]
    return [(effect, changes) for effect, changes in groups if changes]


# --- JSON ------------------------------------------------------------------------------------


def render_json(result: DiffResult) -> str:
    """The JSON contract: ``{"stack", "base", "head", "status", "changes", "summary"}``."""
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


# --- text ------------------------------------------------------------------------------------


def _text_line(change: Change, area_width: int, subject_width: int) -> str:
    subject = _one_line(change.subject)
    where = f"{_one_line(change.path)}: " if path_adds(change) else ""
    return (
        f"  {_LABELS[change.effect]:<11}  {change.area:<{area_width}}  "
        f"{subject:<{subject_width}}  {where}{_one_line(change.reason)}"
    ).rstrip()


def render_text(result: DiffResult) -> str:
    """For a terminal: the header, the verdict, then one aligned line per change."""
    out = [
        f"guard diff: stack {_one_line(result.stack)} "
        f"({_one_line(result.base)} → {_one_line(result.head)})",
        verdict(result),
    ]
    out += cost_lines(result)
    if result.changes:
        area_width = max(len(c.area) for c in result.changes)
        subject_width = min(SUBJECT_WIDTH, max(len(_one_line(c.subject)) for c in result.changes))
        for _, changes in _grouped(result):
            out.append("")
            out += [_text_line(c, area_width, subject_width) for c in changes]
    return "\n".join(out) + "\n"


def cost_lines(result: DiffResult) -> list[str]:
    """The monthly estimate's change and the pull-request policies' findings, as text."""
    out: list[str] = []
    costs = result.costs
    if costs is not None and costs.moved:
        out.append(f"costs: {_one_line(costs.summary())}")
        commitment = costs.commitment_line()
        if commitment:
            out.append(f"  {commitment}")
        out += [f"  note: {note}" for note in costs.notes]
    out += [
        f"{f['enforcement_level'].upper()} {f['policy']}: {_one_line(f['message'])}"
        for f in result.findings
    ]
    return out


def _cost_markdown(result: DiffResult) -> list[str]:
    costs = result.costs
    out: list[str] = []
    if costs is not None and costs.moved:
        out += [f"**Costs**: {escape_markdown(costs.summary())}", ""]
        commitment = costs.commitment_line()
        if commitment:
            out += [f"- {escape_markdown(commitment)}"]
        if costs.changes:
            out += [
                f"<details><summary>{_plural(len(costs.changes), 'cost driver')} changed</summary>",
                "",
                "| product | resource | driver | before | after | USD/month |",
                "|---|---|---|---:|---:|---:|",
            ]
            out += [
                f"| {escape_markdown(c.product)} | {code(c.resource)} | {escape_markdown(c.what)} "
                f"(`{c.driver}`) | {quantity_text(c.before_quantity)} | {quantity_text(c.after_quantity)} | "
                f"{escape_markdown(signed_usd(c.delta))} |"
                for c in costs.changes
            ]
            out += ["", "</details>"]
        out += [f"- {escape_markdown(note)}" for note in costs.notes]
        out.append("")
    out += [
        f"> **{f['enforcement_level']}** {code(f['policy'])}: {escape_markdown(f['message'])}"
        for f in result.findings
    ]
    return [*out, ""] if result.findings else out


# --- markdown --------------------------------------------------------------------------------

#: Characters with a meaning in GitHub markdown wherever they stand, backslash-escaped.
_MARKDOWN_SPECIAL = frozenset("\\`*_[]~$")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_markdown(text: str) -> str:
    """``text`` shown as written in GitHub markdown: no emphasis, links, code, math, HTML or
    @-mentions (a zero-width space after the @)."""
    out = []
    for ch in _one_line(text):
        if ch in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[ch])
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return re.sub(r"@(?=\w)", "@\u200b", "".join(out))


def code(text: str) -> str:
    """``text`` as an inline code span that holds it whatever it contains (backticks too)."""
    text = _one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _markdown_line(change: Change) -> str:
    line = f"- **{change.area}** · {code(change.subject)} · {escape_markdown(change.reason)}"
    if path_adds(change):
        line += f" · {code(change.path)}"
    return line


def render_markdown(result: DiffResult) -> str:
    """The pull-request comment: marker, heading, verdict, weakening changes, then the rest."""
    marker = MARKER.format(stack=result.stack)
    sides = f"{code(result.base)} → {code(result.head)}"
    extra = _cost_markdown(result)
    if result.status == "unchanged":
        head = f"{marker}\nno change to protections in {code(result.stack)} ({sides})\n"
        return head + ("\n" + "\n".join(extra).rstrip("\n") + "\n" if extra else "")
    out = [
        marker,
        f"## guard diff: {code(result.stack)}",
        "",
        f"**{escape_markdown(verdict(result))}**",
        "",
        f"base {code(result.base)} → head {code(result.head)}",
        "",
        *extra,
    ]
    groups = dict(_grouped(result))
    weakening = groups.get("weakens", [])
    if weakening:
        out += [f"### {_HEADINGS['weakens']} ({len(weakening)})", ""]
        out += [_markdown_line(c) for c in weakening]
        out.append("")
    others = groups.get("strengthens", []) + groups.get("neutral", [])
    if others:
        out += [f"### Other changes ({len(others)})", ""]
        for effect in ("strengthens", "neutral"):
            changes = groups.get(effect, [])
            if not changes:
                continue
            title = f"{_HEADINGS[effect]} ({len(changes)})"
            if effect == "neutral" and len(changes) > FOLD_NEUTRAL_OVER:
                out += [f"<details><summary>{title}</summary>", ""]
                out += [_markdown_line(c) for c in changes]
                out += ["", "</details>", ""]
            else:
                out += [f"**{title}**", ""]
                out += [_markdown_line(c) for c in changes]
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _without_marker(markdown: str) -> str:
    lines = markdown.splitlines()
    while lines and lines[0].startswith("<!-- guard-plan:"):
        lines.pop(0)
    return "\n".join(lines).strip("\n")


def render_plan_with_diff(diff_markdown: str, plan_markdown: str) -> str:
    """``guard plan --format markdown --base REF``: the diff, then the whole plan, folded.

    One marker line (the diff's) starts the comment, as the workflows expect. The plan's
    policy verdict stays visible above the fold. CI keeps the comment under GitHub's limit
    (65,536 characters) by cutting its end, which is the folded plan.
    """
    lines = diff_markdown.splitlines()
    marker = lines[0] if lines and lines[0].startswith("<!-- guard-plan:") else None
    if marker is None:
        plan_lines = plan_markdown.splitlines()
        if plan_lines and plan_lines[0].startswith("<!-- guard-plan:"):
            marker = plan_lines[0]
    plan = _without_marker(plan_markdown)
    policies = next((line for line in plan.splitlines() if line.startswith("**Policies:")), None)
    out = [marker] if marker else []
    out += [_without_marker(diff_markdown), ""]
    if policies:
        out += [policies, ""]
    out += ["<details><summary>Full plan</summary>", "", plan, "", "</details>"]
    return "\n".join(out) + "\n"
