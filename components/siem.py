"""The SIEM's retention as code: an ISM policy applied to the OpenSearch domain on deploy.

SIEM on Amazon OpenSearch Service ships no "days to keep" setting. guard declares a small
function, ``guard-<stack>-siem-retention`` (``functions/siem_retention/``: boto3 credentials and
opensearch-py with SigV4 signing, in the domain's VPC with ``guard:siem.network``), and an
``aws.lambda_.Invocation`` of it whose input is the policy document
(:func:`guard.siem_ism.retention_policy`). Pulumi invokes the function when the invocation is
created and again whenever its input changes, that is whenever the policy does; the function
creates or updates the policy with its sequence numbers and attaches it to existing indices. An
error of the function fails the invocation, and so the deploy, with the function's message.

Not here: the S3 notifications that feed the SIEM's loader belong to the log buckets
(``components/waf_logs.py``, ``components/alb_logs.py``), which declare one notification each.
"""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_aws as aws

from components.iam import PermissionsBoundary
from components.lambda_function import FunctionSpec, lambda_function
from components.providers import Providers, opts
from components.tags import guard_tags
from functions.siem_retention.bundle import archive_files, bundled_packages
from guard.ci_scope import PARTITION
from guard.config.stack import StackConfig
from guard.siem_ism import policy_id, retention_event, retention_policy, sorted_patterns
from guard.siem_policies import retention_function_policy

RETENTION_CODE = "functions/siem_retention"
RETENTION_HANDLER = "handler.handler"
RETENTION_RUNTIME = "python3.12"
#: A policy write and an attach per index pattern; a cold VPC function needs its interface first.
RETENTION_TIMEOUT_SECONDS = 120
RETENTION_LOG_DAYS = 90


def retention_function_name(stack: str) -> str:
    return f"guard-{stack}-siem-retention"


class SiemRetention(pulumi.ComponentResource):
    """Keeps the SIEM's indices ``guard:siem.retention.hot_days`` in the domain.

    Children: the retention function with its role and log group, and its invocation
    (``apply``), whose input is the ISM policy; the function runs once per policy change.
    """

    function: aws.lambda_.Function
    invocation: aws.lambda_.Invocation

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:siem:SiemRetention", "siem-retention", None, opts_)
        siem = config.siem
        if siem is None or siem.retention is None or siem.domain_endpoint is None:
            raise ValueError("SiemRetention needs guard:siem.domain_endpoint and retention")
        assert siem.domain is not None, "the config model requires a domain name"
        retention = siem.retention
        region, account = config.region, config.account_id
        provider = providers.regional
        tags = guard_tags(stack)
        name = retention_function_name(stack)
        network = siem.network
        body = retention_policy(
            hot_days=retention.hot_days,
            warm_days=retention.warm_days,
            indices=retention.indices,
            description=(
                # Sorted as in the body: reordering the config changes nothing.
                f"guard {stack}: keep {', '.join(sorted_patterns(retention.indices))} "
                f"{retention.hot_days} days hot"
                + (f", then {retention.warm_days} days warm" if retention.warm_days else "")
                + ", then delete (the logs stay in S3; guard siem reload re-indexes a day)"
            ),
        )
        self.function = lambda_function(
            self,
            FunctionSpec(
                name=name,
                description=f"guard {stack}: applies the SIEM's ISM retention policy on deploy",
                role_description="The SIEM retention function: the domain's ISM API only",
                code=RETENTION_CODE,
                handler=RETENTION_HANDLER,
                runtime=RETENTION_RUNTIME,
                timeout=RETENTION_TIMEOUT_SECONDS,
                log_days=RETENTION_LOG_DAYS,
                policy=retention_function_policy(
                    partition=PARTITION,
                    region=region,
                    account_id=account,
                    domain=siem.domain,
                    log_group=f"/aws/lambda/{name}",
                    subnet_ids=network.subnet_ids if network is not None else (),
                    security_group_ids=network.security_group_ids if network is not None else (),
                ),
                bundle={**archive_files(), **bundled_packages()},
                vpc=(
                    {
                        "subnet_ids": list(network.subnet_ids),
                        "security_group_ids": list(network.security_group_ids),
                    }
                    if network is not None
                    else None
                ),
                # Deploys invoke it one at a time; nothing else should.
                reserved_concurrency=1,
            ),
            provider=provider,
            tags=tags,
            boundary=boundary,
        )
        event = retention_event(
            endpoint=siem.domain_endpoint,
            region=region,
            policy_id=policy_id(stack),
            body=body,
        )
        document = json.dumps(event, sort_keys=True)
        # RequestResponse: Pulumi waits for the function and fails the deploy on its error. A
        # changed trigger re-invokes it (pulumi-aws lambda.Invocation, "triggers"); the input
        # is the whole policy, so any change of the policy changes the trigger.
        self.invocation = aws.lambda_.Invocation(
            "apply",
            function_name=self.function.name,
            input=document,
            triggers={"policy_sha256": hashlib.sha256(document.encode()).hexdigest()},
            opts=opts(self, provider),
        )
        self.register_outputs({"function": self.function.name, "policy_id": policy_id(stack)})
