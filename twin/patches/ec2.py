"""EC2 as the network role meets it: tag resource types, and Elastic IPs freed by deleted NAT gateways.

- DescribeTags: moto reports and filters Elastic IPs as ``vpc-elastic-ip``, NAT gateways as
  ``nat-gateway`` and flow logs as ``flow-logs``; AWS says ``elastic-ip``, ``natgateway`` and
  ``vpc-flow-log``. amazon.aws reads tags through a ``resource-type`` filter (``ec2_eip``,
  ``ec2_vpc_nat_gateway``), so under moto it finds none, adds them again on every run and reports a
  change: the network role's NAT gateways and their Elastic IPs would never converge.
- DeleteNatGateway: AWS disassociates the gateway's Elastic IP (and keeps it allocated); moto leaves
  it associated, so a NAT gateway recreated on the same address, as the network role does after a
  gateway is lost, fails with ``Resource.AlreadyAssociated``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.ec2.models.nat_gateways import NatGateway

from twin.patching import patch_point

# The one mapping DescribeTags reads (id prefix -> type); ID generation uses the reverse one.
AWS_RESOURCE_TYPES = patch_point(
    "moto.ec2.utils.EC2_PREFIX_TO_RESOURCE",
    kind="update",
    why="DescribeTags reports and filters resource types as AWS names them",
)({"eipalloc": "elastic-ip", "nat": "natgateway", "fl": "vpc-flow-log"})


@patch_point(
    "moto.ec2.models.nat_gateways.NatGatewayBackend.delete_nat_gateway",
    kind="wrap",
    params="self, nat_gateway_id",
    why="deleting a NAT gateway disassociates its Elastic IPs",
)
def _delete_nat_gateway_freeing_its_addresses(
    original: Callable[..., NatGateway], self: Any, nat_gateway_id: str
) -> NatGateway:
    nat_gateway = original(self, nat_gateway_id)
    allocation_ids = [a["allocationId"] for a in nat_gateway.address_set if a.get("allocationId")]
    for address in self.address_by_allocation(allocation_ids) if allocation_ids else []:
        if address.association_id:
            self.disassociate_address(association_id=address.association_id)
    return nat_gateway
