"""Pull-request policies: rules about what a change does, judged with both sides in view.

Pulumi's policy engine sees one state, the one a deploy would produce, so a rule about a change
(how much it adds to the monthly bill) cannot be a CrossGuard policy. ``guard diff`` and
``guard plan --base`` see the base and the head: they run these, one per module here, each
defining ``POLICY`` (a :class:`policies.framework.PullRequestPolicy`).
"""
