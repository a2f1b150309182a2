"""The pack Pulumi runs: ``pulumi preview --policy-pack policies``. Only this file starts a server."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import all_policies

PolicyPack(name="guard", enforcement_level=EnforcementLevel.MANDATORY, policies=all_policies())
