"""Every stack enables Security Hub with at least one standard subscription."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from policies.framework import Meta, Report, stack_config, stack_policy

META = Meta(
    name="securityhub-standard",
    description="The stack enables Security Hub, protected from deletion, and subscribes to at "
    "least one standard (an organization stack: its central configuration policy enables one); "
    "every standard guard:detection lists has its subscription.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare guard:detection with security_hub.standards (e.g. aws-foundational); "
    "components/detection.py subscribes to each.",
    control="AWS-Config securityhub-enabled",
)
ACCOUNT = "aws:securityhub/account:Account"
SUBSCRIPTION = "aws:securityhub/standardsSubscription:StandardsSubscription"
CONFIGURATION_POLICY = "aws:securityhub/configurationPolicy:ConfigurationPolicy"


def _central_standards(policy: object) -> bool:
    """Whether a central configuration policy enables Security Hub with a standard."""
    if not isinstance(policy, dict) or policy.get("serviceEnabled") is not True:
        return False
    return bool(policy.get("enabledStandardArns"))


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    detection = loaded.config.detection if loaded is not None else None
    if detection is not None and detection.managed_by == "organization":
        return  # the organization stack's policy (detection-managed-by-organization)
    accounts = [r for r in args.resources if r.resource_type == ACCOUNT]
    if not accounts:
        if loaded is not None and detection is None:
            report("guard:detection is not configured, so Security Hub is not enabled.", None)
        else:
            report("the stack does not enable Security Hub.", None)
        return
    for account in accounts:
        if not account.opts.protect:
            report(
                f"Security Hub account {account.name} is not protected from deletion "
                "(disabling Security Hub deletes its findings).",
                account.urn,
            )
    subscriptions = [r for r in args.resources if r.resource_type == SUBSCRIPTION]
    central = [
        r
        for r in args.resources
        if r.resource_type == CONFIGURATION_POLICY
        and _central_standards(r.props.get("configurationPolicy"))
    ]
    if central and not subscriptions:
        return  # central configuration: the policy enables its standards in every account
    if not subscriptions:
        report("Security Hub has no standard subscription: no control is ever checked.", None)
        return
    if detection is None:
        return
    try:
        # guard builds the ARNs from the catalog as plain text, so they are known at preview.
        subscribed = {str(r.props.get("standardsArn")) for r in subscriptions}
    except UnknownValueError:
        return
    from guard.detection_catalog import SECURITY_HUB_STANDARDS

    for alias in detection.security_hub.standards:
        # The ARN's resource part ("standards/...") names the standard in every region and
        # partition; matching on it spares a partition lookup per standard.
        resource = SECURITY_HUB_STANDARDS[alias].arn_template.rsplit("::", 1)[1]
        if not any(arn.endswith(f"::{resource}") for arn in subscribed):
            report(f"Security Hub standard {alias} is configured but not subscribed to.", None)


POLICY = stack_policy(META, check)
