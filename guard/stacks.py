"""``guard stacks``: the stacks the pipeline plans and deploys, read from the stack files.

Every ``Pulumi.<name>.yaml`` in the stacks directory (:func:`guard.config.loader.stacks_dir`)
is a stack. The workflows build their matrices from this list, so a new stack file is planned
and deployed without touching them, and a role ARN is written nowhere but here: the pipeline
roles come from :func:`guard.ci_scope.pipeline_role_arn`, which also names the roles the
program declares.

Every file is validated first; one invalid file lists nothing (:class:`StacksError`), so a
workflow never runs on half of the stacks.

``guard stacks --origin`` also tells, for every leaf config key of each stack, the ``file:line``
it comes from: the stack file, or the defaults file it names (``guard:defaults``, see
:mod:`guard.config.defaults`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from guard.ci_scope import pipeline_role_arn
from guard.config import ConfigError, Problem, load_stack_file
from guard.config.ci import PipelineConfig
from guard.config.loader import stack_file_origins, stacks_dir

#: Where each leaf config key of a stack comes from (``file:line``), by key path.
Origins = Mapping[str, str]

#: The deploy order of a stack without ``guard:pipeline``: the field's default.
DEFAULT_DEPLOY_ORDER: int = PipelineConfig.model_fields["deploy_order"].default
#: Pulumi's rule for stack names. The name also reaches shell scripts and CI expressions
#: through the workflows' matrices, so anything else is refused rather than quoted.
STACK_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
#: A secrets provider URL is one word; it also reaches CI logs and scripts.
SECRETS_PROVIDER_RE = re.compile(r"\S+")
STACK_FILE_PREFIX, STACK_FILE_SUFFIX = "Pulumi.", ".yaml"


class StacksError(Exception):
    """One or more stack files are invalid: the errors of every file, as ``ConfigError``s."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        super().__init__(f"{len(errors)} invalid stack file(s)")
        self.errors = tuple(errors)

    def render(self) -> str:
        return "\n".join(error.render() for error in self.errors)


@dataclass(frozen=True)
class Stack:
    """What CI needs to know about one stack."""

    name: str
    file: str
    region: str
    account: str
    preview_role: str | None
    deploy_role: str | None
    backend: str | None
    secrets_provider: str | None
    deploy_order: int
    #: The stack has guard:alerts: the weekly ``guard audit --notify`` has a topic to post to.
    alerts: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stack_name(path: Path) -> str:
    """``prod`` for ``Pulumi.prod.yaml``."""
    return path.name[len(STACK_FILE_PREFIX) : -len(STACK_FILE_SUFFIX)]


def _secrets_provider(path: Path) -> str | None:
    """The top-level ``secretsprovider`` Pulumi writes on ``pulumi stack init``."""
    # load_stack_file has parsed the file already, so it is valid YAML and a mapping.
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    value = document.get("secretsprovider")
    if value is None:
        return None
    if not isinstance(value, str) or not SECRETS_PROVIDER_RE.fullmatch(value):
        raise ConfigError(
            str(path),
            [
                Problem(
                    ("secretsprovider",),
                    "must be the provider URL pulumi stack init wrote, e.g. "
                    "awskms://alias/guard-<stack>-secrets?region=<region>",
                    value,
                )
            ],
        )
    return value


def read_stack(path: Path) -> Stack:
    """Validate one stack file and describe it; raises :class:`ConfigError`."""
    name = stack_name(path)
    if not STACK_NAME_RE.fullmatch(name):
        raise ConfigError(
            str(path),
            [
                Problem(
                    (),
                    f"{name!r} is not a stack name: Pulumi.<name>.yaml with letters, digits, "
                    "'-', '_' or '.' in the name",
                )
            ],
        )
    config = load_stack_file(path).config
    pipeline = config.pipeline
    return Stack(
        name=name,
        file=str(path),
        region=config.region,
        account=config.account_id,
        preview_role=pipeline_role_arn(config.account_id, name, "preview") if pipeline else None,
        deploy_role=pipeline_role_arn(config.account_id, name, "deploy") if pipeline else None,
        backend=f"s3://{pipeline.state_bucket}" if pipeline else None,
        secrets_provider=_secrets_provider(path),
        deploy_order=pipeline.deploy_order if pipeline else DEFAULT_DEPLOY_ORDER,
        alerts=config.alerts is not None,
    )


def list_stacks(directory: Path | None = None) -> list[Stack]:
    """Every stack in ``directory`` (default: the stacks directory), in deploy order.

    Raises :class:`StacksError` with the errors of every invalid file.
    """
    directory = stacks_dir() if directory is None else directory
    paths = sorted(directory.glob(f"{STACK_FILE_PREFIX}*{STACK_FILE_SUFFIX}"))
    stacks: list[Stack] = []
    errors: list[ConfigError] = []
    for path in paths:
        try:
            stacks.append(read_stack(path))
        except ConfigError as error:
            errors.append(error)
    if errors:
        raise StacksError(errors)
    return sorted(stacks, key=lambda s: (s.deploy_order, s.name))


def list_origins(stacks: Sequence[Stack]) -> dict[str, Origins]:
    """Where each stack's leaf config keys come from, by stack name (``guard stacks --origin``).

    Raises :class:`StacksError` with the errors of every file that cannot be read.
    """
    origins: dict[str, Origins] = {}
    errors: list[ConfigError] = []
    for stack in stacks:
        try:
            origins[stack.name] = stack_file_origins(Path(stack.file))
        except ConfigError as error:
            errors.append(error)
    if errors:
        raise StacksError(errors)
    return origins


def render_json(stacks: Sequence[Stack], origins: Mapping[str, Origins] | None = None) -> str:
    """``{"stacks": [...]}``, byte-stable: sorted keys, a trailing newline. With ``origins``,
    each stack has ``"origins": {"guard:alerts.slack.workspace_id": "defaults/x.yaml:4", ...}``.
    """
    entries = [s.to_json() for s in stacks]
    if origins is not None:
        entries = [
            {**e, "origins": dict(origins[s.name])} for e, s in zip(entries, stacks, strict=True)
        ]
    document = {"stacks": entries}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_text(stacks: Sequence[Stack], origins: Mapping[str, Origins] | None = None) -> str:
    """One aligned line per stack: name, account, region, order, backend, secrets provider, file.

    With ``origins``, each stack's line is followed by one indented line per leaf config key:
    the key path and the ``file:line`` it comes from, aligned within the stack.
    """
    rows = [
        (
            s.name,
            s.account,
            s.region,
            f"order={s.deploy_order}",
            s.backend or "(no guard:pipeline)",
            s.secrets_provider or "(no secretsprovider)",
            s.file,
        )
        for s in stacks
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(7)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    ]
    if origins is None:
        return "".join(lines)
    return "".join(
        line + _origin_lines(origins[s.name]) for line, s in zip(lines, stacks, strict=True)
    )


def _origin_lines(origins: Origins) -> str:
    width = max((len(key) for key in origins), default=0)
    return "".join(f"  {key.ljust(width)}  {where}\n" for key, where in origins.items())
