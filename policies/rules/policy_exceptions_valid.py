"""Advisory: every policy exception names a real policy and has not expired."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from policies.framework import Meta, Report, stack_config, stack_policy, today

META = Meta(
    name="policy-exceptions-valid",
    description="Each entry of guard:policy_exceptions names a policy of this pack and is not past "
    "its expiry (an expired exception no longer waives anything).",
    severity=Severity.MEDIUM,
    enforcement=EnforcementLevel.ADVISORY,
    remediation="fix the finding and delete the exception, or extend it after review.",
)


def check(args: StackValidationArgs, report: Report) -> None:
    from policies import all_policies

    loaded = stack_config()
    if loaded is None:
        return
    names = {p.name for p in all_policies()}
    for index, exception in enumerate(loaded.config.policy_exceptions):
        where = f"guard:policy_exceptions[{index}] ({exception.policy} on {exception.resource})"
        if exception.policy not in names:
            report(f"{where} names no policy of this pack.", None)
        elif exception.expires < today():
            report(
                f"{where} expired on {exception.expires.isoformat()} and no longer applies.", None
            )


POLICY = stack_policy(META, check)
