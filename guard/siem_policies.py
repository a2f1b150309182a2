"""What the SIEM retention Lambda's role may do, as plain data.

The function talks to one domain, over HTTP, only on the ISM API paths it calls; IAM checks
``es:ESHttp*`` against ``arn:aws:es:<region>:<account>:domain/<domain>/<path>`` (Amazon OpenSearch
Service Developer Guide, "Identity and Access Management in Amazon OpenSearch Service",
resource-based and identity-based policies with paths). In a VPC, Lambda itself uses the
function's role to manage the network interfaces it attaches (the actions of AWS's managed
policy AWSLambdaVPCAccessExecutionRole), scoped here to the configured subnets and security
groups wherever IAM's authorization data lets an action be scoped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guard.iam_boundary import POLICY_VERSION

#: The domain paths the function calls: the ISM API (policies, explain, add, change_policy).
DOMAIN_PATHS = ("_plugins/_ism/*",)
ES_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut")


def domain_arn(*, partition: str, region: str, account_id: str, domain: str) -> str:
    return f"arn:{partition}:es:{region}:{account_id}:domain/{domain}"


def retention_function_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    domain: str,
    log_group: str,
    subnet_ids: Sequence[str] = (),
    security_group_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """The retention function's inline policy: its log group, the domain's ISM API, and (in a
    VPC) the network interfaces Lambda attaches for it."""
    arn = domain_arn(partition=partition, region=region, account_id=account_id, domain=domain)
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group}:*",
        },
        {
            "Sid": "ManageRetentionPolicy",
            "Effect": "Allow",
            "Action": list(ES_ACTIONS),
            "Resource": [f"{arn}/{path}" for path in DOMAIN_PATHS],
        },
    ]
    if subnet_ids:
        statements += [
            {
                "Sid": "AttachToDomainVpc",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [
                    f"{ec2}:network-interface/*",
                    *(f"{ec2}:subnet/{s}" for s in subnet_ids),
                    *(f"{ec2}:security-group/{g}" for g in security_group_ids),
                ],
            },
            {
                "Sid": "ManageOwnInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": f"{ec2}:network-interface/*",
            },
            {
                # Describe* actions take no resource (AWS's authorization data).
                "Sid": "SeeInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
        ]
    return {"Version": POLICY_VERSION, "Statement": statements}
