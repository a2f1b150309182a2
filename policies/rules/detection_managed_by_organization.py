"""A member stack that leaves detection to the organization is planned beside an organization
stack that enables it in the member's region and account."""

from __future__ import annotations

from pathlib import Path

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from policies.framework import Meta, Report, stack_config, stack_policy

META = Meta(
    name="detection-managed-by-organization",
    description="A stack whose guard:detection says managed_by: organization declares no "
    "GuardDuty detector or Security Hub of its own; an organization stack in the same stacks "
    "directory must auto-enable GuardDuty in the member's region and associate its Security Hub "
    "configuration policy with the member's account (the root, the account, or an OU, which is "
    "assumed to hold it).",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="add the member's region to guard:organization.regions (and its account or OU "
    "to security_hub.targets) in the organization stack, or remove managed_by and let the stack "
    "enable detection itself; a reviewed guard:policy_exceptions entry covers the time until the "
    "organization stack exists.",
    control="Security Hub GuardDuty.1",
)


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    if loaded is None or loaded.config.detection is None:
        return
    if loaded.config.detection.managed_by != "organization":
        return
    from guard.config.loader import stacks_dir
    from guard.organization_coverage import coverage, organization_stacks

    config = loaded.config
    source = Path(loaded.source)
    directory = source.parent if source.name.startswith("Pulumi.") else stacks_dir()
    found = coverage(config.account_id, config.region, organization_stacks(directory))
    if found.stack is not None:
        return
    why = "; ".join(found.gaps) if found.gaps else f"there is no organization stack in {directory}/"
    report(
        f"guard:detection is managed_by: organization, but no organization stack enables "
        f"GuardDuty and Security Hub for account {config.account_id} in {config.region}: {why}.",
        None,
    )


POLICY = stack_policy(META, check)
