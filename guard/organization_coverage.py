"""Which organization stack enables detection for a member stack (``managed_by: organization``).

A member stack declares no detector of its own, so the claim "the organization enables it here"
must be true of a stack planned from the same repository: an organization stack in the same
stacks directory whose GuardDuty auto-enables members, in the member's region, and whose
Security Hub configuration policy reaches the member's account (the root, the account itself,
or an OU; OU membership is not known offline and is reported as assumed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from guard.config import ConfigError, load_stack_file
from guard.config.organization import OrganizationConfig

#: Only files that mention it are read: a member stack is planned beside many others.
ORGANIZATION_KEY = "guard:organization"


@dataclass(frozen=True)
class OrganizationStack:
    """An organization stack found beside a member stack."""

    stack: str
    account_id: str
    region: str
    organization: OrganizationConfig


@dataclass(frozen=True)
class Coverage:
    """The organization stack that enables a member's detection, or why none does."""

    stack: str | None
    #: Why each organization stack found does not cover the member (empty when one does).
    gaps: tuple[str, ...] = ()
    #: What is taken on trust (OU membership).
    assumed: str | None = None


def organization_stacks(directory: Path) -> list[OrganizationStack]:
    """The valid organization stacks in ``directory``, by name; invalid files are skipped (their
    own plan reports them)."""
    found = []
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        try:
            if ORGANIZATION_KEY not in path.read_text(encoding="utf-8"):
                continue
            config = load_stack_file(path).config
        except (OSError, UnicodeDecodeError, ConfigError):
            continue
        if config.organization is not None:
            name = path.name[len("Pulumi.") : -len(".yaml")]
            found.append(
                OrganizationStack(name, config.account_id, config.region, config.organization)
            )
    return found


def coverage(account_id: str, region: str, candidates: list[OrganizationStack]) -> Coverage:
    """Whether one of ``candidates`` enables GuardDuty and Security Hub for the member."""
    gaps = []
    for candidate in candidates:
        organization = candidate.organization
        if region not in organization.regions:
            gaps.append(
                f"{candidate.stack} runs detection in {', '.join(organization.regions)}, "
                f"not {region}"
            )
            continue
        if organization.guardduty.auto_enable == "none":
            gaps.append(f"{candidate.stack} does not auto-enable GuardDuty for members")
            continue
        if account_id == organization.management_account_id:
            gaps.append(
                f"{candidate.stack}: {account_id} is the management account, which GuardDuty "
                "does not auto-enable"
            )
            continue
        targets = organization.security_hub.targets
        if targets is None or candidate.account_id == account_id:
            return Coverage(candidate.stack)
        if any(t.account == account_id for t in targets):
            return Coverage(candidate.stack)
        units = [t.ou for t in targets if t.ou is not None]
        if units:
            return Coverage(
                candidate.stack,
                assumed=f"account {account_id} is in {' or '.join(units)} "
                f"(Security Hub targets of {candidate.stack})",
            )
        gaps.append(f"{candidate.stack}'s Security Hub targets do not include {account_id}")
    return Coverage(None, tuple(gaps))
