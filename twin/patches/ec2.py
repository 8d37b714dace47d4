"""EC2 as the network role meets it: tag resource types, and Elastic IPs freed by deleted NAT gateways.

- DescribeTags: moto reports and filters Elastic IPs as ``vpc-elastic-ip``, NAT gateways as
  ``nat-gateway`` and flow logs as ``flow-logs``; AWS says ``elastic-ip``, ``natgateway`` and
  ``vpc-flow-log``. amazon.aws reads tags through a ``resource-type`` filter (``ec2_eip``,
  ``ec2_vpc_nat_gateway``), so under moto it finds none, adds them again on every run and reports a
  change: the network role's NAT gateways and their Elastic IPs would never converge.
- The app servers' image: the app_tier role launches Debian 12 from Debian's own account
  (136693071363), which moto's image list lacks. Every region gets one such image, and the twin's
  instances plane boots it as its app host image (twin.hosts.APP_IMAGE).
- DeleteNatGateway: AWS disassociates the gateway's Elastic IP (and keeps it allocated); moto leaves
  it associated, so a NAT gateway recreated on the same address, as the network role does after a
  gateway is lost, fails with ``Resource.AlreadyAssociated``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.ec2.models.amis import Ami, AmiBackend
from moto.ec2.models.nat_gateways import NatGateway

from twin.patching import patch_point

# The one mapping DescribeTags reads (id prefix -> type); ID generation uses the reverse one.
AWS_RESOURCE_TYPES = patch_point(
    "moto.ec2.utils.EC2_PREFIX_TO_RESOURCE",
    kind="update",
    why="DescribeTags reports and filters resource types as AWS names them",
)({"eipalloc": "elastic-ip", "nat": "natgateway", "fl": "vpc-flow-log"})


DEBIAN_OWNER = "136693071363"
DEBIAN_IMAGE = {
    "name": "debian-12-amd64-20261201-2000",
    "description": "Debian 12 (20261201-2000)",
    "owner_id": DEBIAN_OWNER,
    "public": True,
    "virtualization_type": "hvm",
    "architecture": "x86_64",
    "root_device_type": "ebs",
    "root_device_name": "/dev/xvda",
    "hypervisor": "xen",
    "sriov": "simple",
}


@patch_point(
    "moto.ec2.models.amis.AmiBackend._load_amis",
    kind="wrap",
    params="self",
    why="Debian 12 from Debian's account, the image the app servers launch",
)
def _load_amis_with_debian(original: Callable[..., None], self: AmiBackend) -> None:
    original(self)
    # One id per region, the same on every run, as a published image's is.
    ami_id = "ami-0deb12" + format(sum(map(ord, self.region_name)) % 0xFFFFFFFFFF, "011x")
    self.amis[ami_id] = Ami(self, ami_id, region_name=self.region_name, **DEBIAN_IMAGE)


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
