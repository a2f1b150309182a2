"""``guard diff``'s output for hand-built results: the verdict, weakening changes first, one line
per change, markdown that values from a stack file cannot inject into, byte-stable JSON."""

from __future__ import annotations

import json
from typing import Any

from guard.diff import DiffResult, Status
from guard.diff_model import Change, Effect
from guard.diff_render import (
    code,
    escape_markdown,
    render_json,
    render_markdown,
    render_plan_with_diff,
    render_text,
    verdict,
)


def change(effect: Effect, reason: str, **fields: Any) -> Change:
    values: dict[str, Any] = {
        "area": "waf",
        "subject": "ebook/web",
        "kind": "changed",
        "path": "",
        "before": None,
        "after": None,
        "effect": effect,
        "reason": reason,
    }
    values.update(fields)
    return Change(**values)


SQLI = change(
    "weakens",
    "SQLi_QUERYARGUMENTS no longer blocks on /search",
    kind="added",
    path="rules[aws-sqli].exclusions[0]",
    after={"rule": "SQLi_QUERYARGUMENTS", "paths": ["/search"]},
)
BLOCKLIST = change(
    "weakens", "blocklist loses 203.0.113.128/25", subject="ebook", path="ip_blocklist"
)
RATE = change("strengthens", "login rate limit 1000 → 100 per 5 minutes", path="rules[rate-login]")
TAGS = change("neutral", "tags.owner: team-a → team-b", area="other", path="tags.owner")


def result(*changes: Change, status: Status = "changed") -> DiffResult:
    ordered = tuple(sorted(changes, key=Change.sort_key))
    return DiffResult("prod", "origin/main", "working tree", status, ordered)


# --- verdict -----------------------------------------------------------------------------------


def test_verdict_lines() -> None:
    assert verdict(result(SQLI, BLOCKLIST, RATE)) == (
        "2 changes weaken protection — security review needed"
    )
    assert verdict(result(SQLI)) == "1 change weakens protection — security review needed"
    assert verdict(result(RATE, TAGS, TAGS)) == "no change weakens protection; 3 changes"
    assert verdict(result(RATE)) == "no change weakens protection; 1 change"
    assert verdict(result(status="unchanged")) == "no change to protections"


def test_verdict_says_new_stack_and_stack_removed_first() -> None:
    assert verdict(result(RATE, status="new stack")) == (
        "new stack: no change weakens protection; 1 change"
    )
    assert verdict(result(SQLI, status="stack removed")) == (
        "stack removed: 1 change weakens protection — security review needed"
    )


# --- text --------------------------------------------------------------------------------------


def test_text_leads_with_the_header_and_verdict_then_weakens_strengthens_neutral() -> None:
    text = render_text(result(TAGS, RATE, SQLI, BLOCKLIST))
    lines = text.splitlines()
    assert lines[0] == "guard diff: stack prod (origin/main → working tree)"
    assert lines[1] == "2 changes weaken protection — security review needed"
    rows = [line for line in lines[2:] if line]
    assert [row.split()[0] for row in rows] == ["WEAKENS", "WEAKENS", "STRENGTHENS", "NEUTRAL"]
    # One line per change: effect, area, subject, the path when it adds something, the reason.
    assert (
        "  WEAKENS      waf    ebook/web  rules[aws-sqli].exclusions[0]: "
        "SQLi_QUERYARGUMENTS no longer blocks on /search"
    ) in lines
    # A path the reason already quotes is not repeated.
    assert "  NEUTRAL      other  ebook/web  tags.owner: team-a → team-b" in lines
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_text_keeps_each_change_on_one_line() -> None:
    evil = change("weakens", "first\nsecond\r\x1b[31mred", subject="a\nb")
    text = render_text(result(evil))
    assert len(text.splitlines()) == 4  # header, verdict, blank, the change
    assert "\x1b" not in text


def test_text_without_changes() -> None:
    assert render_text(result(status="unchanged")) == (
        "guard diff: stack prod (origin/main → working tree)\nno change to protections\n"
    )


def test_text_of_a_urn_path_shows_only_the_subject() -> None:
    removed = change(
        "weakens",
        "aws:sns/topic:Topic alerts is deleted; guard does not know what it protected: review it",
        area="other",
        subject="alerts (Topic)",
        kind="removed",
        path="urn:pulumi:prod::guard::aws:sns/topic:Topic::alerts",
    )
    assert "urn:pulumi" not in render_text(result(removed))


# --- markdown ----------------------------------------------------------------------------------


def test_markdown_comment_layout() -> None:
    markdown = render_markdown(result(TAGS, RATE, SQLI, BLOCKLIST))
    lines = markdown.splitlines()
    assert lines[0] == "<!-- guard-plan:prod -->"
    assert lines[1] == "## guard diff: `prod`"
    assert "**2 changes weaken protection — security review needed**" in lines
    weakens = lines.index("### Weakens protection (2)")
    others = lines.index("### Other changes (2)")
    strengthens = lines.index("**Strengthens protection (1)**")
    neutral = lines.index("**Neutral (1)**")
    assert weakens < others < strengthens < neutral
    assert (
        "- **waf** · `ebook/web` · SQLi\\_QUERYARGUMENTS no longer blocks on /search · "
        "`rules[aws-sqli].exclusions[0]`"
    ) in lines
    assert "- **waf** · `ebook` · blocklist loses 203.0.113.128/25 · `ip_blocklist`" in lines
    assert markdown.count("<!-- guard-plan:") == 1


def test_markdown_without_weakening_changes_has_no_weakens_section() -> None:
    markdown = render_markdown(result(RATE))
    assert "Weakens protection" not in markdown
    assert "**no change weakens protection; 1 change**" in markdown


def test_markdown_folds_many_neutral_changes() -> None:
    many = [change("neutral", f"tag {i} changed", path=f"tags.t{i:02}") for i in range(12)]
    markdown = render_markdown(result(SQLI, *many))
    assert "<details><summary>Neutral (12)</summary>" in markdown
    assert markdown.index("### Weakens protection") < markdown.index("<details>")
    assert markdown.count("</details>") == 1
    few = render_markdown(result(SQLI, *many[:3]))
    assert "<details>" not in few and "**Neutral (3)**" in few


def test_markdown_of_an_unchanged_stack_is_one_line_after_the_marker() -> None:
    markdown = render_markdown(result(status="unchanged"))
    assert markdown.splitlines() == [
        "<!-- guard-plan:prod -->",
        "no change to protections in `prod` (`origin/main` → `working tree`)",
    ]


def test_markdown_new_stack_and_stack_removed() -> None:
    assert "**new stack: no change weakens protection; 1 change**" in render_markdown(
        result(RATE, status="new stack")
    )
    assert "**stack removed: 1 change weakens" in render_markdown(
        result(SQLI, status="stack removed")
    )


def test_markdown_escapes_values_from_the_stack_file() -> None:
    evil = change(
        "weakens",
        "<!-- guard-plan:prod --> <img src=x> **bold** [link](http://x) $x$ @octocat & `tick`",
        subject="we`b <b>",
        path="rules[`x`]",
    )
    markdown = render_markdown(result(evil))
    (line,) = [line for line in markdown.splitlines() if line.startswith("- ")]
    # Subject and path are code spans (shown as written, HTML included) that a backtick in
    # the value cannot close; the reason is text with every markup character escaped.
    assert line.startswith("- **waf** · ``we`b <b>`` · ")
    assert line.endswith(" · ``rules[`x`]``")
    reason = line.removeprefix("- **waf** · ``we`b <b>`` · ").removesuffix(" · ``rules[`x`]``")
    assert "<" not in reason and ">" not in reason
    assert "&lt;!-- guard-plan:prod --&gt;" in reason and "&lt;img src=x&gt;" in reason
    assert "\\*\\*bold\\*\\*" in reason and "\\[link\\](http://x)" in reason
    assert "\\$x\\$" in reason and "@\u200boctocat" in reason and "&amp;" in reason
    assert "\\`tick\\`" in reason
    assert markdown.count("<!-- guard-plan:") == 1


def test_escape_helpers() -> None:
    assert escape_markdown("a_b*c") == "a\\_b\\*c"
    assert escape_markdown("line\nbreak") == "line break"
    assert code("plain") == "`plain`"
    assert code("`x`") == "`` `x` ``"


def test_plan_with_diff_leads_with_the_diff_and_folds_the_plan() -> None:
    diff = render_markdown(result(SQLI, RATE))
    plan = (
        "<!-- guard-plan:prod -->\n## guard plan: `prod`\n\n"
        "**Policies: all mandatory policies pass; 0 advisory.**\n\nthe plan body\n"
    )
    comment = render_plan_with_diff(diff, plan)
    lines = comment.splitlines()
    assert lines[0] == "<!-- guard-plan:prod -->"
    assert comment.count("<!-- guard-plan:") == 1
    assert comment.index("### Weakens protection") < comment.index("<details>")
    assert "<details><summary>Full plan</summary>" in lines
    # The policy verdict stays visible above the fold.
    assert comment.index("**Policies:") < comment.index("<details>")
    assert comment.index("## guard plan: `prod`") > comment.index("<details>")
    assert lines[-1] == "</details>" and comment.endswith("</details>\n")
    unchanged = render_plan_with_diff(render_markdown(result(status="unchanged")), plan)
    assert unchanged.splitlines()[1].startswith("no change to protections in `prod`")


# --- JSON --------------------------------------------------------------------------------------


def test_json_is_the_documented_contract_and_byte_stable() -> None:
    first = render_json(result(TAGS, RATE, SQLI, BLOCKLIST))
    again = render_json(result(TAGS, RATE, SQLI, BLOCKLIST))
    assert first == again and first.encode() == again.encode()
    document = json.loads(first)
    assert list(document) == [
        "stack",
        "base",
        "head",
        "status",
        "changes",
        "summary",
        "costs",
        "pull_request_policies",
    ]
    assert document["summary"] == {"weakens": 2, "strengthens": 1, "neutral": 1}
    assert [c["effect"] for c in document["changes"]] == [
        "weakens",
        "weakens",
        "strengthens",
        "neutral",
    ]
    for item in document["changes"]:
        assert list(item) == [
            "area",
            "subject",
            "kind",
            "path",
            "before",
            "after",
            "effect",
            "reason",
        ]
    assert first == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    assert "→" in first  # not escaped to \u2192
