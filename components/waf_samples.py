"""An hourly Slack digest of what WAF blocked or counted, from WAF's sampled requests.

A child of :class:`components.waf_logs.WafLogs` (``guard:logs.samples_to_slack``); the function's
code is ``functions/waf_samples/``, its permissions :func:`guard.logs_policies.digest_policy`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.iam import PermissionsBoundary
from components.lambda_function import (
    FunctionSpec,
    errors_alarm,
    invoked_by_rule,
    lambda_function,
)
from components.product import StackWebAcl
from components.providers import Providers, opts
from components.tags import guard_tags
from guard.config.stack import StackConfig
from guard.logs_layout import digest_function_name, web_acl_arn_pattern
from guard.logs_policies import digest_policy

#: The digest function's code: the folder, relative to the repository root where Pulumi runs.
DIGEST_CODE = "functions/waf_samples"
DIGEST_HANDLER = "handler.lambda_handler"
DIGEST_RUNTIME = "python3.12"
#: Minute 5 of every hour, for the previous full hour: hours tile without gaps or overlaps, and
#: WAF has settled the last minutes' samples. (GetSampledRequests reaches back 3 hours.)
DIGEST_SCHEDULE = "cron(5 * * * ? *)"
DIGEST_WINDOW_MINUTES = 60
#: WAF keeps at most 100 samples per rule and window in its console; the API allows up to 500.
DIGEST_MAX_SAMPLES = 100
#: Up to a dozen rules in each of a handful of web ACLs, each a GetSampledRequests call.
DIGEST_TIMEOUT_SECONDS = 120
DIGEST_LOG_DAYS = 30


class WafSampleDigest(pulumi.ComponentResource):
    """An hourly Slack digest of the requests WAF blocked or counted, from its sampled requests.

    One function in the stack's region reads every web ACL's samples (CloudFront's through
    us-east-1) and publishes one AWS Chatbot custom notification to the normal route, only when
    something was blocked or counted. Sampled requests are WAF's own sample (up to 100 per rule
    and hour), not the logs: the digest is a nudge to look, Athena has the whole picture.
    """

    function: aws.lambda_.Function

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        topic_arn: pulumi.Input[str],
        web_acls: Sequence[StackWebAcl],
        workgroup: str,
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:logs:WafSampleDigest", "waf-samples", None, opts_)
        from components.alerts import topic_arn as alert_topic_arn

        provider = providers.regional
        region, account = config.region, config.account_id
        tags = guard_tags(stack)
        name = digest_function_name(stack)

        # Names and scopes are plain; the ARNs carry the IDs WAF assigns on creation.
        def render(arns: list[str]) -> str:
            return json.dumps(
                [
                    {"name": acl.name, "scope": acl.scope, "arn": arn}
                    for acl, arn in zip(web_acls, arns, strict=True)
                ]
            )

        web_acls_json = pulumi.Output.all(*[acl.web_acl.arn for acl in web_acls]).apply(render)
        self.function = lambda_function(
            self,
            FunctionSpec(
                name=name,
                description="Posts an hourly digest of WAF's blocked and counted sampled requests",
                role_description="guard WAF sample digest: read sampled requests, post to the "
                "normal route",
                code=DIGEST_CODE,
                handler=DIGEST_HANDLER,
                runtime=DIGEST_RUNTIME,
                timeout=DIGEST_TIMEOUT_SECONDS,
                log_days=DIGEST_LOG_DAYS,
                policy=digest_policy(
                    stack=stack,
                    region=region,
                    account_id=account,
                    # The same ARN AlertRoutes hands out, as plain text for the policy pack.
                    topic_arn=alert_topic_arn(stack, "normal", region, account),
                    web_acl_arn_patterns=[
                        web_acl_arn_pattern(
                            name=acl.name, scope=acl.scope, region=acl.region, account_id=account
                        )
                        for acl in web_acls
                    ],
                ),
                environment={
                    "WEB_ACLS": web_acls_json,
                    "TOPIC_ARN": topic_arn,
                    "STACK": stack,
                    "WINDOW_MINUTES": str(DIGEST_WINDOW_MINUTES),
                    "MAX_SAMPLES": str(DIGEST_MAX_SAMPLES),
                    "ATHENA_WORKGROUP": workgroup,
                },
            ),
            provider=provider,
            tags=tags,
            boundary=boundary,
        )
        aws.lambda_.FunctionEventInvokeConfig(
            "async",
            function_name=self.function.name,
            # A retry after a partial failure would post the same hour twice; the failure
            # alarm below reports the lost digest instead.
            maximum_retry_attempts=0,
            opts=opts(self, provider),
        )
        schedule = aws.cloudwatch.EventRule(
            "schedule",
            name=name,
            description="Hourly WAF sample digest",
            schedule_expression=DIGEST_SCHEDULE,
            tags=tags,
            opts=opts(self, provider),
        )
        invoked_by_rule(self, "schedule", rule=schedule, function=self.function, provider=provider)
        errors_alarm(
            self,
            "failed",
            function_name=name,
            function=self.function,
            description="The WAF sample digest failed (an hour's digest is missing or "
            f"partial): read the /aws/lambda/{name} log group (docs/logs.md).",
            topic_arn=topic_arn,
            provider=provider,
            tags=tags,
        )
        self.register_outputs({"function_arn": self.function.arn})
