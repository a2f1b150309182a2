"""The role a WAF tuning service assumes requires its external ID and trusts no wildcard.

A tuning service (WafCharm) assumes roles in many customers' accounts from its own. The external
ID it shows each customer is what stops another customer from pointing the service at this
account's role (the confused deputy): a trust statement without ``sts:ExternalId`` lets anyone
the service acts for assume it.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from guard.config.base import SECRET_PLACEHOLDER
from guard.config.tuner import SERVICE_NAMES
from guard.tuner_policy import EXTERNAL_ID_KEY, TUNER_TAG, trust_problems, tuner_service_of
from policies.framework import Meta, Report, policy_document, resource_policy, stack_of

META = Meta(
    name="tuner-role-external-id",
    description="The role a WAF tuning service assumes (guard-<stack>-wafcharm or "
    f"guard-<stack>-other, or tagged {TUNER_TAG}) requires {EXTERNAL_ID_KEY} with StringEquals "
    "in every Allow statement of its trust policy and trusts no wildcard principal.",
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare the role through guard:tuners (components/tuner.py builds its trust "
    "with guard.tuner_policy.tuner_trust_policy: the service's principal and its external ID).",
)
ROLE = "aws:iam/role:Role"


def check(args: ResourceValidationArgs, report: Report) -> None:
    props = args.props
    name = props.get("name") or args.name
    service = tuner_service_of(stack_of(args.urn), props.get("name"), props.get("tags"))
    if service is None:
        return
    who = SERVICE_NAMES.get(service, service)
    raw = props.get("assumeRolePolicy")
    document = policy_document(raw)
    if document is None:
        hidden = "a secret" if raw == SECRET_PLACEHOLDER else "not known"
        report(
            f"{name} ({who}'s role): its trust policy is {hidden} at preview, so nothing checks "
            f"that it requires {EXTERNAL_ID_KEY}.",
            None,
        )
        return
    for problem in trust_problems(document):
        report(f"{name} ({who}'s role): {problem}.", None)


POLICY = resource_policy(META, [ROLE], check)
