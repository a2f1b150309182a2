"""The role a WAF tuning service (WafCharm) assumes to edit its rules and read the WAF logs.

One :class:`TunerAccess` per ``guard:tuners`` entry: ``guard-<stack>-<service>``, the ARN to
register in the service's console (WafCharm: Credential Store), trusted for the service's
principal only with the external ID the console shows, and carrying the stack's permissions
boundary like every guard role. What it may do is :func:`guard.tuner_policy.tuner_permissions`.

The external ID is a Pulumi secret. In ``pulumi up`` and ``pulumi preview`` the program receives
its plaintext, and the trust policy goes to the engine as a secret (``[secret]`` in the diff,
encrypted in the state). ``guard plan`` never decrypts it: there the document carries
``[secret]`` in the external ID's place, so the plan and the policy pack still see that the
condition is there; a real deploy never runs with that placeholder (refused below).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.iam import PermissionsBoundary, bounded_role, checked_role_name
from components.providers import Providers, opts
from components.tags import guard_tags
from guard.config.ci import compact_json
from guard.config.stack import StackConfig
from guard.config.tuner import SERVICE_NAMES, SecretValue, TunerService
from guard.tuner import tuner_role_name
from guard.tuner_policy import (
    EXTERNAL_ID_PLACEHOLDER,
    TUNER_TAG,
    TunedWebAcl,
    tuned_web_acls,
    tuner_permissions,
    tuner_trust_policy,
)


class EncryptedExternalId(ValueError):
    """A deploy was asked to create the trust without the external ID's plaintext."""


def trust_policy_input(principal: str, external_id: str | SecretValue) -> pulumi.Input[str]:
    """The role's trust policy as the engine receives it.

    The plaintext external ID (a running ``pulumi up``/``preview``): the whole document as a
    Pulumi secret. The encrypted one (``guard plan``): the document with the placeholder, plain,
    so the offline plan and its policies can read the condition.
    """
    if isinstance(external_id, SecretValue):
        if not pulumi.runtime.is_dry_run():
            raise EncryptedExternalId(
                "the tuner's external ID reached a deploy still encrypted; run pulumi up with "
                "the stack's secrets provider available"
            )
        return compact_json(tuner_trust_policy(principal, EXTERNAL_ID_PLACEHOLDER))
    return pulumi.Output.secret(external_id).apply(
        lambda value: compact_json(tuner_trust_policy(principal, value))
    )


def _description(service: TunerService, stack: str, acls: Sequence[TunedWebAcl]) -> str:
    who = SERVICE_NAMES.get(service, service)
    if not acls:
        return f"guard: {who}'s role (with its external ID); no WAF of stack {stack} names it"
    rules = " and ".join(sorted({f"{a.rule_prefix}*" for a in acls}))
    count = f"{len(acls)} web ACL{'' if len(acls) == 1 else 's'}"
    return (
        f"guard: {who} (with its external ID) tunes the {rules} rules of {count} of stack "
        f"{stack} and reads their WAF logs"
    )


class TunerAccess(pulumi.ComponentResource):
    """``guard-<stack>-<service>``: its trust (principal and external ID) and inline policy."""

    role: aws.iam.Role
    service: TunerService

    def __init__(
        self,
        config: StackConfig,
        service: TunerService,
        *,
        stack: str,
        providers: Providers,
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:tuner:TunerAccess", service, None, opts_)
        self.service = service
        access = config.tuners[service]
        name = checked_role_name(tuner_role_name(stack, service))
        provider = providers.regional
        acls = tuned_web_acls(config, stack, service)
        # Logical names are the role's name: a policy exception can name it (the component's
        # own name is not part of its children's URNs).
        self.role = bounded_role(
            name,
            name=name,
            description=_description(service, stack, acls),
            trust=trust_policy_input(access.principal, access.external_id),
            boundary=boundary,
            tags={**guard_tags(stack), TUNER_TAG: service},
            opts_=opts(self, provider),
        )
        document = tuner_permissions(config, stack, service)
        if document is not None:
            # Plain JSON text, so the policy pack judges the grants at preview.
            aws.iam.RolePolicy(
                name,
                name=name,
                role=self.role.name,
                policy=compact_json(document),
                opts=opts(self, provider),
            )
        self.register_outputs({"role_arn": self.role.arn})

    @property
    def role_arn(self) -> pulumi.Output[str]:
        """The ARN to register in the service's console."""
        return self.role.arn

    @property
    def tuner_roles(self) -> dict[str, pulumi.Output[str]]:
        """``{service: role ARN}``, for the ``tuner_roles`` stack output."""
        return {self.service: self.role.arn}
