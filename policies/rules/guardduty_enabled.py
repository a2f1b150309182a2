"""Every stack runs an enabled, protected GuardDuty detector with the features its config lists."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs

from policies.framework import Meta, Report, stack_config, stack_policy

META = Meta(
    name="guardduty-enabled",
    description="The stack has an enabled GuardDuty detector, protected from deletion, with an "
    "enabled DetectorFeature for every feature guard:detection lists (an organization stack: "
    "one per region). A member stack whose detection is managed_by: organization is judged by "
    "detection-managed-by-organization instead.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare guard:detection (and guard:alerts) in the stack file; every stack runs "
    "GuardDuty, and the detector is declared by components/detection.py with protect=True.",
    control="Security Hub GuardDuty.1",
)
DETECTOR = "aws:guardduty/detector:Detector"
FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"


def _features_of(detector: PolicyResource, resources: list[PolicyResource]) -> dict[str, str]:
    # detectorId is the detector's output (unknown at preview); the dependency is known.
    return {
        str(r.props.get("name")): str(r.props.get("status"))
        for r in resources
        if r.resource_type == FEATURE
        and any(d.urn == detector.urn for d in r.property_dependencies.get("detectorId", []))
    }


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    detection = loaded.config.detection if loaded is not None else None
    if detection is not None and detection.managed_by == "organization":
        return  # the organization stack's detectors (detection-managed-by-organization)
    detectors = [r for r in args.resources if r.resource_type == DETECTOR]
    if not detectors:
        if loaded is not None and detection is None:
            report(
                "guard:detection is not configured, so the stack has no GuardDuty detector.", None
            )
        else:
            report("the stack declares no GuardDuty detector.", None)
        return
    for detector in detectors:
        if detector.props.get("enable") is False:
            report(f"GuardDuty detector {detector.name} is disabled.", detector.urn)
        if not detector.opts.protect:
            report(
                f"GuardDuty detector {detector.name} is not protected from deletion "
                "(deleting it discards every finding).",
                detector.urn,
            )
    if detection is None:
        return
    from guard.detection_catalog import GUARDDUTY_FEATURES

    enabled = {
        name
        for detector in detectors
        for name, status in _features_of(detector, args.resources).items()
        if status == "ENABLED"
    }
    for alias in detection.guardduty.features:
        if GUARDDUTY_FEATURES[alias].name not in enabled:
            report(
                f"GuardDuty feature {alias} ({GUARDDUTY_FEATURES[alias].name}) is configured "
                "but no enabled DetectorFeature of the detector declares it.",
                None,
            )


POLICY = stack_policy(META, check)
