"""EventBridge's input transformer, rebuilt from the rules the EventBridge documentation states.

LocalStack's transformer (``localstack.services.events.target.replace_template_placeholders``)
is not used: its module does not import on Python 3.11 (PEP 695 syntax), and it turns every
``\\n`` of a template into a raw newline before parsing, which makes a JSON template that escapes
its newlines invalid, against the rules below. The rules, quoted from the EventBridge User Guide
(input transformation, "Common issues") and the InputTransformer API reference:

- InputPathsMap uses "dot notation, dashes, underscores, alphanumeric characters, array
  indices, wildcards, forward slashes"; guard uses all but wildcards.
- "If you specify a variable to match a JSON path that doesn't exist in the event, that
  variable isn't created and won't appear in the output": its placeholder becomes nothing.
- A placeholder standing alone as a JSON value becomes the value as JSON; "EventBridge doesn't
  escape values extracted by Input Path, when populating the Input Template": inside a quoted
  string the value is pasted raw.
- "The JSON that is passed to the target is minified and escaped": the template is JSON, so its
  own escapes (``\\n``, ``\\"``, ``\\\\``) stay JSON escapes and mean a line break, a quote, a
  backslash once the target parses the document.
- "The placeholder cannot be used as an object key."
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

MISSING = object()
SEGMENT = re.compile(r"\.([A-Za-z0-9_/-]+)|\[(\d+)\]")
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def extract(event: Any, path: str) -> Any:
    """The value at ``path`` in ``event``, or ``MISSING``."""
    assert path.startswith("$"), path
    value, pos = event, 1
    while pos < len(path):
        step = SEGMENT.match(path, pos)
        assert step, f"unsupported JSONPath {path!r} at {pos}"
        key, index = step.group(1), step.group(2)
        if key is not None:
            value = value.get(key, MISSING) if isinstance(value, dict) else MISSING
        else:
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else MISSING
        if value is MISSING:
            return MISSING
        pos = step.end()
    return value


def _scan(template: str) -> list[tuple[int, re.Match[str], bool]]:
    """Each placeholder with its position and whether it sits inside a quoted string; the
    template's escapes inside strings are skipped whole, so ``\\n<x>`` is an escape, then ``<x>``."""
    found, in_string, i = [], False, 0
    while i < len(template):
        char = template[i]
        if in_string and char == "\\":
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<" and (match := PLACEHOLDER.match(template, i)):
            found.append((i, match, in_string))
            i = match.end()
            continue
        i += 1
    return found


def _is_key(template: str, match: re.Match[str], in_string: bool) -> bool:
    end = match.end()
    if in_string:  # the rest of this string, then what follows it
        while end < len(template) and template[end] != '"':
            end += 2 if template[end] == "\\" else 1
        end += 1
    return template[end:].lstrip().startswith(":")


def placeholders(template: str) -> dict[str, set[str]]:
    """Each placeholder and where it stands: "value" (a whole JSON value), "string" (inside a
    quoted string) and "key" when it is (part of) an object key."""
    where: dict[str, set[str]] = {}
    for _, match, in_string in _scan(template):
        kinds = where.setdefault(match.group(1), set())
        kinds.add("string" if in_string else "value")
        if _is_key(template, match, in_string):
            kinds.add("key")
    return where


def render_text(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The filled template, as text."""
    values = {name: extract(event, path) for name, path in transformer["input_paths"].items()}
    out, last = [], 0
    template = transformer["input_template"]
    for start, match, in_string in _scan(template):
        value = values.get(match.group(1), MISSING)
        if value is MISSING:
            text = ""
        elif in_string:
            text = value if isinstance(value, str) else json.dumps(value)
        else:
            text = json.dumps(value)
        out += [template[last:start], text]
        last = match.end()
    return "".join(out) + template[last:]


def render(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """The document the target receives, parsed: json.loads fails if it is not one JSON value."""
    return json.loads(render_text(transformer, event))
