"""A web ACL as the WAF policies judge it: its settings and guard's rules, wherever they live.

guard declares a web ACL's rules inline (``ruleJson``) when it owns the whole list, or as
``aws:wafv2/webAclRule:WebAclRule`` children of the web ACL when a tuning service owns part of
it. Either way a policy sees the rules guard deploys, in priority order, as AWS's JSON. The
tuner's own rules are written in AWS by the tuner and are never visible offline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs, StackValidationPolicy

from guard.config.products import WafConfig
from guard.config.tuner import WafTuner
from guard.waf_rule_form import rules_by_web_acl
from guard.waf_rules import waf_for_tags
from policies.framework import (
    WEB_ACL,
    Meta,
    Report,
    Subject,
    stack_config,
    stack_policy,
)


@dataclass(frozen=True)
class WebAclView:
    """One web ACL: its URN, name, inputs, guard's rules and the WAF settings it was built from
    (by its tags; None when they name nothing of the stack's config)."""

    urn: str
    name: str
    props: Mapping[str, Any]
    rules: list[dict[str, Any]]
    waf: WafConfig | None

    @property
    def tuner(self) -> WafTuner | None:
        """The tuning service that shares the web ACL."""
        return self.waf.tuner if self.waf is not None else None

    def unseen(self) -> str:
        """What a finding about guard's rules cannot see, for its message ('' without a tuner)."""
        if self.tuner is None:
            return ""
        return (
            f" (the {self.tuner.rule_prefix}* rules {self.tuner.service} writes are not visible "
            "offline and are not counted)"
        )


def _waf(props: Mapping[str, Any]) -> WafConfig | None:
    loaded = stack_config()
    found = waf_for_tags(loaded.config.products, props.get("tags")) if loaded else None
    return found[1] if found is not None else None


def web_acl_views(resources: Sequence[PolicyResource]) -> list[WebAclView]:
    """Every web ACL of the stack with guard's rules (inline, or its WebAclRule children)."""
    rules_of = rules_by_web_acl(
        (r.resource_type, r.urn, r.parent.urn if r.parent is not None else None, r.props)
        for r in resources
    )
    return [
        WebAclView(
            urn=resource.urn,
            name=str(resource.props.get("name") or resource.name),
            props=resource.props,
            rules=rules_of[resource.urn],
            waf=_waf(resource.props),
        )
        for resource in resources
        if resource.resource_type == WEB_ACL
    ]


def _on(view: WebAclView, report: Report) -> Report:
    """``report`` with findings landing on the web ACL unless a rule names another resource."""

    def on_acl(message: str, urn: str | None = None, *, subject: Subject | None = None) -> None:
        report(message, urn or view.urn, subject=subject)

    return on_acl


def web_acl_policy(
    meta: Meta, check: Callable[[WebAclView, Report], None]
) -> StackValidationPolicy:
    """A policy judging each web ACL with its rules; findings land on the web ACL."""

    def judge(args: StackValidationArgs, report: Report) -> None:
        for view in web_acl_views(args.resources):
            check(view, _on(view, report))

    return stack_policy(meta, judge)
