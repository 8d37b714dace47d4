"""EC2 DescribeTags names resource types as AWS does.

moto reports and filters Elastic IPs as ``vpc-elastic-ip``, NAT gateways as ``nat-gateway`` and flow
logs as ``flow-logs``; AWS says ``elastic-ip``, ``natgateway`` and ``vpc-flow-log``. amazon.aws reads
tags through a ``resource-type`` filter (``ec2_eip``, ``ec2_vpc_nat_gateway``), so under moto it finds
none, adds them again on every run and reports a change: the network role's NAT gateways and their
Elastic IPs would never converge.
"""

from __future__ import annotations

from moto.ec2 import utils

AWS_RESOURCE_TYPES = {"eipalloc": "elastic-ip", "nat": "natgateway", "fl": "vpc-flow-log"}


def install() -> None:
    # The one mapping DescribeTags reads (id prefix -> type); ID generation uses the reverse one.
    utils.EC2_PREFIX_TO_RESOURCE.update(AWS_RESOURCE_TYPES)
