"""The names and ARNs the pipeline's permissions are written against, from a stack's config.

:class:`PipelineScope` is the plain data both the deploy role's grants
(:mod:`guard.ci_permissions`) and the permissions boundary of every role guard creates
(:mod:`guard.iam_boundary`) are built from, so both documents, the components and the tests
name the same resources. Every guard-named resource of a stack starts with
``guard-<stack>-`` (Glue: ``guard_<stack>_``), which is what the patterns below rely on.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from guard.config.stack import StackConfig
from guard.organization import firewall_manager_scopes, scope_key
from guard.tuner import tuner_role_arns

PARTITION = "aws"
#: IAM's names for the two pipeline roles (``guard-<stack>-pipeline-<kind>``).
PIPELINE_KINDS = ("preview", "deploy")
#: The AWS managed policy every pipeline role reads the account with.
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def boundary_name(stack: str) -> str:
    return f"guard-{stack}-boundary"


def boundary_arn(account_id: str, stack: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:policy/{boundary_name(stack)}"


def pipeline_role_name(stack: str, kind: str) -> str:
    return f"guard-{stack}-pipeline-{kind}"


def pipeline_role_arn(account_id: str, stack: str, kind: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:role/{pipeline_role_name(stack, kind)}"


def srt_role_name(stack: str) -> str:
    return f"guard-{stack}-shield-srt-access"


def chatbot_role_name(stack: str) -> str:
    return f"guard-{stack}-chatbot"


def creates_roles(config: StackConfig) -> bool:
    """Whether any configured area declares an IAM role (and so the stack needs its boundary)."""
    return bool(config.tuners) or any(
        section is not None
        for section in (
            config.alerts,
            config.shield,
            config.logs,
            config.ci,
            config.pipeline,
            config.siem.retention if config.siem is not None else None,
        )
    )


#: Actions that let a role act as another role.
ROLE_HANDOVER_ACTIONS = ("iam:PassRole", "sts:AssumeRole")


def _role_targets(config: StackConfig) -> tuple[str, ...]:
    """The roles the products' ``ci.permissions.statements`` allow passing or assuming."""
    targets: set[str] = set()
    for product in config.products:
        if product.ci is None:
            continue
        for statement in product.ci.permissions.statements:
            hands_over = any(
                fnmatch.fnmatchcase(handover.lower(), action.lower())
                for action in statement.Action
                for handover in ROLE_HANDOVER_ACTIONS
            )
            if statement.Effect == "Allow" and hands_over:
                targets.update(statement.Resource)
    return tuple(sorted(targets))


@dataclass(frozen=True)
class PipelineScope:
    """What one stack declares, reduced to what IAM documents about it need to name."""

    account: str
    stack: str
    state_bucket: str | None = None
    secrets_key_arn: str | None = None
    secrets_alias: str | None = None
    products: bool = True
    external_rule_groups: tuple[str, ...] = ()
    alerts: bool = False
    detection: bool = False
    shield: bool = False
    shield_subscription: bool = False
    srt_role_arn: str | None = None
    srt_role_created: bool = False
    srt_log_buckets: tuple[str, ...] = ()
    escalation: bool = False
    logs_bucket: str | None = None
    #: WAF logs straight to the bucket (``guard:logs.delivery: s3``) instead of through Firehose.
    logs_to_s3: bool = False
    athena_workgroup: str | None = None
    digest: bool = False
    #: The ALB access log bucket (``guard:logs.alb``).
    alb_logs_bucket: str | None = None
    #: The SIEM retention function and its invocation on deploy (``guard:siem.retention``).
    siem_retention: bool = False
    product_roles: bool = False
    #: Roles outside guard's names that the products' own statements pass or assume.
    product_role_targets: tuple[str, ...] = ()
    #: The roles WAF tuning services assume (``guard:tuners``): they edit web ACLs too.
    tuner_roles: tuple[str, ...] = ()
    #: The organization's security tooling account (``guard:organization``): GuardDuty,
    #: Security Hub central configuration and Firewall Manager for every account.
    organization: bool = False
    #: Where the organization's detection and ALB baseline run (CloudFront's is in us-east-1).
    organization_regions: tuple[str, ...] = ()
    #: Firewall Manager's WAF baseline, its own rate-based rule groups, and Shield Advanced.
    fms_waf: bool = False
    fms_rate_groups: bool = False
    fms_shield: bool = False

    @staticmethod
    def of(config: StackConfig, stack: str) -> PipelineScope:
        shield = config.shield
        srt = shield.srt_access if shield is not None else None
        srt_role: str | None = None
        if srt is not None:
            srt_role = (
                f"arn:{PARTITION}:iam::{config.account_id}:role/{srt_role_name(stack)}"
                if srt.role == "create"
                else srt.role
            )
        pipeline = config.pipeline
        logs = config.logs
        organization = config.organization
        fms = organization.firewall_manager if organization is not None else None
        baseline = fms.waf_baseline if fms is not None else None
        return PipelineScope(
            account=config.account_id,
            stack=stack,
            state_bucket=pipeline.state_bucket if pipeline is not None else None,
            secrets_key_arn=pipeline.secrets_key_arn if pipeline is not None else None,
            secrets_alias=pipeline.secrets_alias(stack) if pipeline is not None else None,
            products=bool(config.products),
            external_rule_groups=tuple(
                sorted({g.arn for p in config.products for g in p.waf.external_rule_groups})
            ),
            alerts=config.alerts is not None,
            detection=config.detection is not None,
            shield=shield is not None,
            shield_subscription=shield is not None and shield.subscription == "create",
            srt_role_arn=srt_role,
            srt_role_created=srt is not None and srt.role == "create",
            srt_log_buckets=tuple(srt.log_buckets) if srt is not None else (),
            escalation=shield is not None and shield.escalation is not None,
            logs_bucket=logs.bucket if logs is not None else None,
            logs_to_s3=logs is not None and logs.delivery == "s3",
            athena_workgroup=(logs.athena.workgroup or f"guard-{stack}-waf-logs")
            if logs is not None
            else None,
            digest=logs is not None and logs.samples_to_slack,
            alb_logs_bucket=logs.alb.bucket if logs is not None and logs.alb is not None else None,
            siem_retention=config.siem is not None and config.siem.retention is not None,
            product_roles=any(p.ci is not None for p in config.products),
            product_role_targets=_role_targets(config),
            tuner_roles=tuple(tuner_role_arns(config, stack)),
            organization=organization is not None,
            organization_regions=tuple(organization.regions) if organization is not None else (),
            fms_waf=baseline is not None,
            fms_rate_groups=baseline is not None and baseline.rate_limit is not None,
            fms_shield=fms is not None and fms.shield is not None,
        )

    # --- ARN patterns of what this stack names ------------------------------------------------

    def arn(
        self, service: str, resource: str, region: str = "*", account: str | None = None
    ) -> str:
        account = self.account if account is None else account
        return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"

    @property
    def prefix(self) -> str:
        """Every guard-named resource of the stack starts with this."""
        return f"guard-{self.stack}-"

    @property
    def glue_prefix(self) -> str:
        return f"guard_{self.stack.lower().replace('-', '_')}_"

    @property
    def role_pattern(self) -> str:
        return f"arn:{PARTITION}:iam::{self.account}:role/{self.prefix}*"

    @property
    def boundary(self) -> str:
        return boundary_arn(self.account, self.stack)

    @property
    def pipeline_roles(self) -> tuple[str, ...]:
        return tuple(pipeline_role_arn(self.account, self.stack, k) for k in PIPELINE_KINDS)

    @property
    def pipeline_policies(self) -> str:
        """The customer managed policies of the pipeline roles (``<role>-<n>``), as one pattern:
        guard creates no other managed policy under ``guard-<stack>-pipeline-``, and the
        boundary must stay under IAM's size limit."""
        return f"arn:{PARTITION}:iam::{self.account}:policy/{self.prefix}pipeline-*"

    @property
    def deploy_role(self) -> str:
        return pipeline_role_arn(self.account, self.stack, "deploy")

    @property
    def web_acls(self) -> str:
        return self.arn("wafv2", f"*/webacl/{self.prefix}*")

    @property
    def ip_sets(self) -> str:
        return self.arn("wafv2", f"*/ipset/{self.prefix}*")

    @property
    def load_balancers(self) -> str:
        return self.arn("elasticloadbalancing", "loadbalancer/app/*")

    @property
    def topics(self) -> str:
        return self.arn("sns", f"{self.prefix}*")

    @property
    def queues(self) -> str:
        return self.arn("sqs", f"{self.prefix}*")

    @property
    def rules(self) -> str:
        return self.arn("events", f"rule/{self.prefix}*")

    @property
    def alarms(self) -> str:
        return self.arn("cloudwatch", f"alarm:{self.prefix}*")

    @property
    def functions(self) -> str:
        return self.arn("lambda", f"function:{self.prefix}*")

    @property
    def log_groups(self) -> str:
        """guard's log groups, ``/aws/lambda/guard-<stack>-*`` included, and their streams
        (``log-group:<name>:log-stream:<stream>``)."""
        return self.arn("logs", f"log-group:*{self.prefix}*")

    @property
    def delivery_streams(self) -> str:
        return self.arn("firehose", f"deliverystream/aws-waf-logs-{self.prefix}*")

    @property
    def chatbot_configurations(self) -> str:
        return self.arn("chatbot", f"chat-configuration/slack-channel/{self.prefix}*", region="")

    @property
    def keys(self) -> str:
        return self.arn("kms", "key/*")

    @property
    def key_aliases(self) -> str:
        return self.arn("kms", f"alias/{self.prefix}*")

    @property
    def protections(self) -> tuple[str, ...]:
        return (
            self.arn("shield", "protection/*", region=""),
            self.arn("shield", "protection-group/*", region=""),
        )

    @property
    def detectors(self) -> str:
        return self.arn("guardduty", "detector/*")

    @property
    def hub(self) -> str:
        return self.arn("securityhub", "hub/default")

    @property
    def fms_policies(self) -> tuple[str, ...]:
        """Where the organization's Firewall Manager policies live: each region's ALBs, and
        CloudFront's in us-east-1. Firewall Manager names a policy by the ID it generates, so
        there is no name to hold it to."""
        regions = dict.fromkeys(r for r, _, _ in firewall_manager_scopes(self.organization_regions))
        return tuple(self.arn("fms", "policy/*", region=r) for r in regions)

    @property
    def baseline_rule_groups(self) -> tuple[str, ...]:
        """The WAF baseline's rate-based rule groups, ``guard-<stack>-baseline-rate-<key>``:
        regional in each region, CloudFront's (WAF's ``global`` scope) in us-east-1."""
        return tuple(
            self.arn(
                "wafv2",
                f"{'global' if scope == 'CLOUDFRONT' else 'regional'}/rulegroup/"
                f"{self.prefix}baseline-rate-{scope_key(region, scope)}/*",
                region=region,
            )
            for region, scope, _ in firewall_manager_scopes(self.organization_regions)
        )

    @property
    def glue_resources(self) -> tuple[str, str, str]:
        """The catalog, guard's databases and their tables."""
        return (
            self.arn("glue", "catalog"),
            self.arn("glue", f"database/{self.glue_prefix}*"),
            self.arn("glue", f"table/{self.glue_prefix}*/*"),
        )

    def bucket(self, name: str) -> tuple[str, str]:
        return f"arn:{PARTITION}:s3:::{name}", f"arn:{PARTITION}:s3:::{name}/*"
