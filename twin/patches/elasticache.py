"""ElastiCache replication groups as the cache role and elasticache_replication_group use them.

Gaps in moto 5.2.5 closed here:

- NumCacheClusters is ignored for a cluster-mode-disabled group: moto creates one node whatever it
  says, so a primary with replicas cannot be built;
- the member cache clusters do not exist, so DescribeCacheClusters cannot show what only a node
  carries (engine version, parameter group, security groups, subnet group, maintenance window);
- ModifyReplicationGroup drops everything but description, node type, failover, Multi-AZ and
  snapshot retention: engine version, parameter group, security groups, windows and the AUTH token
  strategies (ROTATE, SET, DELETE) are ignored;
- IncreaseReplicaCount and DecreaseReplicaCount are not implemented;
- DeleteReplicationGroup leaves the group "deleting" for ever, so the delete waiter never ends;
- none of ElastiCache's parameter checks: the AUTH token needs in-transit encryption and has a
  format, automatic failover needs a replica, Multi-AZ needs automatic failover, a subnet group
  must exist, preferred AZs must match the node count;
- a group has no ReaderEndpoint, and DescribeCacheClusters never shows CacheNodes.

In a running twin each member of a cluster-mode-disabled group is also a real Redis server
(twin.redis): the primary, and a replica of it for every other member, each on 127.0.0.1 and a port
of its own. The primary endpoint is the primary's port, the reader endpoint a replica's (the
primary's when there is none), each member's read endpoint and node endpoint its own server's; the
AUTH tokens are every server's passwords as ModifyReplicationGroup leaves them; the replica count
operations start and stop replicas, and deleting the group stops every server. Where only these
patches are installed (module unit tests) groups are records.

The twin applies every modification at once, whatever ApplyImmediately says.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult, PaginatedResult
from moto.core.utils import utcnow
from moto.elasticache.exceptions import (
    CacheSubnetGroupNotFound,
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    ReplicationGroupNotFound,
)
from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup
from moto.elasticache.responses import ElastiCacheResponse

from twin import fidelity
from twin.patching import patch_point
from twin.redis import LOOPBACK
from twin.redis import Group as RedisGroup

# 16 to 128 printable ASCII characters, none of / " @ (ElastiCache's AUTH token rule).
AUTH_TOKEN = re.compile(r"^[\x20-\x7e]{16,128}$")
AUTH_TOKEN_FORBIDDEN = set('/"@')


@patch_point(
    "moto.elasticache.models.ElastiCacheBackend.create_replication_group",
    kind="wrap",
    params="self, ...",
    why="ElastiCache's parameter checks, NumCacheClusters honoured, member cache clusters created",
)
def _create_replication_group(
    original: Callable[..., ReplicationGroup], self: ElastiCacheBackend, **kwargs: Any
) -> ReplicationGroup:
    _check_create(self, kwargs)
    if kwargs.get("cluster_mode") != "enabled" and kwargs.get("num_cache_clusters"):
        # moto sizes a cluster-mode-disabled group from ReplicasPerNodeGroup only.
        kwargs["replicas_per_node_group"] = kwargs["num_cache_clusters"] - 1
    group = original(self, **kwargs)
    group.__dict__["_twin_auth_tokens"] = [kwargs["auth_token"]] if kwargs.get("auth_token") else []
    group.kms_key_id = kwargs.get("kms_key_id")
    group.auto_minor_version_upgrade = (
        True if kwargs.get("auto_minor_version_upgrade") is None else kwargs["auto_minor_version_upgrade"]
    )
    group.cache_parameter_group_name = kwargs.get("cache_parameter_group_name") or _default_parameter_group(
        group.engine, kwargs.get("engine_version"), group.cluster_mode == "enabled"
    )
    for node_group in group.node_groups:
        if "reader_endpoint_address" in node_group:
            node_group["reader_endpoint"] = {"address": node_group["reader_endpoint_address"], "port": group.port}
        for member in node_group["node_group_members"]:
            _add_member(self, group, member["cache_cluster_id"], member["preferred_availability_zone"])
    _start_servers(self, group)
    return group


@patch_point(
    "moto.elasticache.models.ElastiCacheBackend.delete_replication_group",
    kind="wrap",
    params="self, replication_group_id, retain_primary_cluster",
    why="a deleted group is gone at once, with its member clusters unless the primary is retained",
)
def _delete_replication_group(
    original: Callable[..., ReplicationGroup],
    self: ElastiCacheBackend,
    replication_group_id: str,
    retain_primary_cluster: bool | None,
) -> ReplicationGroup:
    group = self.replication_groups.get(replication_group_id)
    primary = _primary_id(group) if group else None
    deleted = original(self, replication_group_id, retain_primary_cluster)
    self.tagging_service.delete_all_tags_for_resource(deleted.arn)
    _forget(self, replication_group_id, primary if retain_primary_cluster else None)
    plane = fidelity.redis_plane()
    if plane:
        plane.delete(self.region_name, replication_group_id)
    return deleted


def _forget(backend: ElastiCacheBackend, replication_group_id: str, retained: str | None = None) -> None:
    """The group and its member clusters are gone; a retained primary stays as a cluster of its own."""
    backend.replication_groups.pop(replication_group_id, None)
    for member in list(backend.cache_clusters.values()):
        if member.replication_group_id != replication_group_id:
            continue
        if member.cache_cluster_id == retained:
            member.replication_group_id = None
        else:
            backend.cache_clusters.pop(member.cache_cluster_id, None)


# -- the Redis servers behind a group -----------------------------------------------------------


def _redis_group(backend: ElastiCacheBackend, group: ReplicationGroup) -> RedisGroup | None:
    plane = fidelity.redis_plane()
    return plane.find(backend.region_name, group.replication_group_id) if plane else None


def _start_servers(backend: ElastiCacheBackend, group: ReplicationGroup) -> None:
    """A cluster-mode-disabled group gets a server per member, its primary first."""
    plane = fidelity.redis_plane()
    if plane is None or group.cluster_mode == "enabled":
        return
    members = sorted(
        (m for node_group in group.node_groups for m in node_group["node_group_members"]),
        key=lambda m: m.get("current_role") != "primary",
    )
    try:
        plane.create(
            backend.region_name,
            group.replication_group_id,
            [m["cache_cluster_id"] for m in members],
            list(group.__dict__["_twin_auth_tokens"]),
            bool(group.transit_encryption_enabled),
        )
    except Exception as exc:
        _forget(backend, group.replication_group_id)
        raise ElastiCacheException("InternalFailure", f"the twin could not start Redis: {exc}") from exc
    _point_endpoints(backend, group)


def _point_endpoints(backend: ElastiCacheBackend, group: ReplicationGroup) -> None:
    """Every endpoint of a group with servers at its server: the primary's, a replica's for the
    reader (ElastiCache's reader endpoint spreads over the replicas), each member's own."""
    servers = _redis_group(backend, group)
    primary = servers.primary if servers else None
    if servers is None or primary is None:
        return
    reader = next(iter(servers.replicas), primary)
    group.port = primary.port
    for node_group in group.node_groups:
        node_group.update(
            port=primary.port,
            primary_endpoint_address=LOOPBACK,
            reader_endpoint_address=LOOPBACK,
            primary_endpoint={"address": LOOPBACK, "port": primary.port},
            reader_endpoint={"address": LOOPBACK, "port": reader.port},
        )
        for member in node_group["node_group_members"]:
            member["read_endpoint"] = {"address": LOOPBACK, "port": servers.nodes[member["cache_cluster_id"]].port}
    for member in _members(backend, group):
        member.port = servers.nodes[member.cache_cluster_id].port


def _update_servers(backend: ElastiCacheBackend, group: ReplicationGroup) -> None:
    """Every server takes the group's AUTH tokens and transit encryption as they now are."""
    plane = fidelity.redis_plane()
    if plane is None or _redis_group(backend, group) is None:
        return
    try:
        plane.update(
            backend.region_name,
            group.replication_group_id,
            list(group.__dict__["_twin_auth_tokens"]),
            bool(group.transit_encryption_enabled),
        )
    except Exception as exc:
        raise ElastiCacheException("InternalFailure", f"the twin could not reconfigure Redis: {exc}") from exc


def _start_replica(backend: ElastiCacheBackend, group: ReplicationGroup, cluster_id: str) -> dict[str, Any]:
    """The new member's read endpoint: its own replica server's when the group has servers."""
    plane = fidelity.redis_plane()
    if plane is None or _redis_group(backend, group) is None:
        return {"address": f"{cluster_id}.{backend.region_name}.cache.amazonaws.com", "port": group.port}
    try:
        server = plane.add_replica(backend.region_name, group.replication_group_id, cluster_id)
    except Exception as exc:
        raise ElastiCacheException("InternalFailure", f"the twin could not start a Redis replica: {exc}") from exc
    return {"address": LOOPBACK, "port": server.port}


def _stop_replica(backend: ElastiCacheBackend, group: ReplicationGroup, cluster_id: str) -> None:
    plane = fidelity.redis_plane()
    if plane is None or _redis_group(backend, group) is None:
        return
    try:
        plane.remove_replica(backend.region_name, group.replication_group_id, cluster_id)
    except Exception as exc:
        raise ElastiCacheException("InternalFailure", f"the twin could not stop a Redis replica: {exc}") from exc


@patch_point(
    "moto.elasticache.responses.ElastiCacheResponse.describe_cache_clusters",
    kind="replace",
    params="self",
    why="ShowCacheNodeInfo shows each node and its endpoint",
)
def _describe_cache_clusters_response(self: ElastiCacheResponse) -> PaginatedResult:
    backend = self.elasticache_backend
    clusters = backend.describe_cache_clusters(cache_cluster_id=self._get_param("CacheClusterId"))
    if self._get_bool_param("ShowCacheNodeInfo"):
        clusters = [_with_nodes(backend, cluster) for cluster in clusters]
    return PaginatedResult({"CacheClusters": clusters})


def _with_nodes(backend: ElastiCacheBackend, cluster: CacheCluster) -> CacheCluster:
    """A copy of a group's member that shows its node, reached at the member's read endpoint."""
    group = backend.replication_groups.get(cluster.replication_group_id or "")
    members = [m for ng in group.node_groups for m in ng["node_group_members"]] if group else []
    endpoint = next(
        (m.get("read_endpoint") for m in members if m["cache_cluster_id"] == cluster.cache_cluster_id), None
    )
    if endpoint is None:
        return cluster
    shown = copy.copy(cluster)
    shown.cache_nodes = [
        {
            "cache_node_id": "0001",
            "cache_node_status": "available",
            "cache_node_create_time": cluster.cache_cluster_create_time,
            "endpoint": dict(endpoint),
            "parameter_group_status": "in-sync",
            "customer_availability_zone": cluster.preferred_availability_zone,
        }
    ]
    return shown


# -- checks ElastiCache makes ------------------------------------------------------------------


def _check_auth_token(token: str) -> None:
    if not AUTH_TOKEN.match(token) or AUTH_TOKEN_FORBIDDEN & set(token):
        raise InvalidParameterValueException(
            'Invalid AuthToken provided: it must be 16 to 128 printable characters, none of / " @.'
        )


def _check_create(backend: ElastiCacheBackend, kwargs: dict[str, Any]) -> None:
    if kwargs.get("auth_token") is not None:
        _check_auth_token(kwargs["auth_token"])
        if not kwargs.get("transit_encryption_enabled"):
            raise InvalidParameterCombinationException(
                "AuthToken can only be provided when TransitEncryptionEnabled is set to true."
            )
    subnet_group = kwargs.get("cache_subnet_group_name")
    if subnet_group and subnet_group not in backend.cache_subnet_groups:
        raise CacheSubnetGroupNotFound(subnet_group)
    enabled = kwargs.get("cluster_mode") == "enabled"
    nodes = (kwargs.get("replicas_per_node_group") or 0) + 1 if enabled else kwargs.get("num_cache_clusters") or 1
    if kwargs.get("automatic_failover_enabled") and nodes < 2:
        raise InvalidParameterCombinationException(
            "Automatic failover requires at least one read replica: NumCacheClusters must be at least 2."
        )
    if kwargs.get("multi_az_enabled") and not kwargs.get("automatic_failover_enabled"):
        raise InvalidParameterCombinationException("Multi-AZ requires automatic failover to be enabled.")
    azs = kwargs.get("preferred_cache_cluster_azs") or []
    if azs and not enabled and len(azs) != nodes:
        raise InvalidParameterValueException(
            f"PreferredCacheClusterAZs has {len(azs)} zones; it must have one per cache cluster ({nodes})."
        )


def _default_parameter_group(engine: str, version: str | None, cluster_on: bool) -> str:
    major = (version or "7").split(".")[0]
    family = f"{engine}{major}" if int(major) >= 6 else f"{engine}{version}"
    return f"default.{family}{'.cluster.on' if cluster_on else ''}"


# -- member cache clusters -----------------------------------------------------------------------


def _add_member(backend: ElastiCacheBackend, group: ReplicationGroup, cluster_id: str, zone: str) -> None:
    member = CacheCluster.__new__(CacheCluster)
    member.__dict__.update(
        cache_cluster_id=cluster_id,
        replication_group_id=group.replication_group_id,
        cache_cluster_status="available",
        status="available",
        num_cache_nodes=1,
        engine=group.engine,
        preferred_availability_zone=zone,
        cache_cluster_create_time=utcnow(),
        cache_subnet_group_name=group.cache_subnet_group_name,
        port=group.port,
        arn=f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:cluster:{cluster_id}",
        tags=[],
        log_delivery_configurations=[],
        network_type=group.network_type,
        ip_discovery=group.ip_discovery,
        at_rest_encryption_enabled=group.at_rest_encryption_enabled,
    )
    backend.cache_clusters[cluster_id] = member
    _sync_member(group, member)


def _sync_member(group: ReplicationGroup, member: CacheCluster) -> None:
    """What a node reports of its group's settings."""
    member.cache_node_type = group.cache_node_type
    member.engine_version = group.engine_version
    member.cache_parameter_group = {
        "cache_parameter_group_name": group.cache_parameter_group_name,
        "parameter_apply_status": "in-sync",
        "cache_node_ids_to_reboot": [],
    }
    member.security_groups = [{"security_group_id": sg, "status": "active"} for sg in group.security_group_ids or []]
    member.preferred_maintenance_window = group.preferred_maintenance_window
    member.snapshot_window = group.snapshot_window
    member.snapshot_retention_limit = group.snapshot_retention_limit
    member.auto_minor_version_upgrade = group.auto_minor_version_upgrade
    member.auth_token_enabled = group.auth_token_enabled
    member.auth_token_last_modified_date = group.auth_token_last_modified_date
    member.transit_encryption_enabled = group.transit_encryption_enabled
    member.transit_encryption_mode = group.transit_encryption_mode


def _members(backend: ElastiCacheBackend, group: ReplicationGroup) -> list[CacheCluster]:
    return [backend.cache_clusters[i] for i in group.member_clusters if i in backend.cache_clusters]


def _primary_id(group: ReplicationGroup) -> str | None:
    for node_group in group.node_groups:
        for member in node_group["node_group_members"]:
            if member.get("current_role", "primary") == "primary":
                return member["cache_cluster_id"]
    return None


def _group(backend: ElastiCacheBackend, replication_group_id: str) -> ReplicationGroup:
    if replication_group_id not in backend.replication_groups:
        raise ReplicationGroupNotFound(replication_group_id)
    return backend.replication_groups[replication_group_id]


# -- ModifyReplicationGroup ----------------------------------------------------------------------

# Request parameter -> the group's attribute, for those applied as given.
MODIFIABLE = {
    "ReplicationGroupDescription": "description",
    "CacheNodeType": "cache_node_type",
    "EngineVersion": "engine_version",
    "CacheParameterGroupName": "cache_parameter_group_name",
    "PreferredMaintenanceWindow": "preferred_maintenance_window",
    "SnapshotWindow": "snapshot_window",
    "TransitEncryptionMode": "transit_encryption_mode",
}


@patch_point(
    "moto.elasticache.responses.ElastiCacheResponse.modify_replication_group",
    kind="replace",
    params="self",
    why="every setting the cache role changes is applied, AUTH token strategies included",
)
def _modify_replication_group_response(self: ElastiCacheResponse) -> ActionResult:
    backend = self.elasticache_backend
    group = _group(backend, self._get_param("ReplicationGroupId"))
    failover = self._get_bool_param("AutomaticFailoverEnabled")
    multi_az = self._get_bool_param("MultiAZEnabled")
    failover_after = failover if failover is not None else group.automatic_failover == "enabled"
    multi_az_after = multi_az if multi_az is not None else group.multi_az == "enabled"
    if multi_az_after and not failover_after:
        raise InvalidParameterCombinationException("Multi-AZ requires automatic failover to be enabled.")
    transit = self._get_bool_param("TransitEncryptionEnabled")
    _modify_auth(
        group,
        self._get_param("AuthToken"),
        self._get_param("AuthTokenUpdateStrategy"),
        transit if transit is not None else group.transit_encryption_enabled,
    )

    for parameter, attribute in MODIFIABLE.items():
        value = self._get_param(parameter)
        if value is not None:
            setattr(group, attribute, value)
    if failover is not None:
        group.automatic_failover = "enabled" if failover else "disabled"
    if multi_az is not None:
        group.multi_az = "enabled" if multi_az else "disabled"
    if transit is not None:
        group.transit_encryption_enabled = transit
    retention = self._get_int_param("SnapshotRetentionLimit")
    if retention is not None:
        group.snapshot_retention_limit = retention
    upgrade = self._get_bool_param("AutoMinorVersionUpgrade")
    if upgrade is not None:
        group.auto_minor_version_upgrade = upgrade
    security_groups = self._get_param("SecurityGroupIds")
    if security_groups is not None:
        group.security_group_ids = security_groups
    for member in _members(backend, group):
        _sync_member(group, member)
    if self._get_param("AuthToken") or self._get_param("AuthTokenUpdateStrategy") or transit is not None:
        _update_servers(backend, group)
    return ActionResult({"ReplicationGroup": group})


def _modify_auth(group: ReplicationGroup, token: str | None, strategy: str | None, transit: bool) -> None:
    if token is None and strategy is None:
        return
    tokens: list[str] = group.__dict__.setdefault("_twin_auth_tokens", [])
    if strategy == "DELETE":
        if token is not None:
            raise InvalidParameterCombinationException("AuthToken cannot be given with AuthTokenUpdateStrategy DELETE.")
        tokens.clear()
    elif strategy in ("ROTATE", "SET"):
        if token is None:
            raise InvalidParameterValueException(f"AuthTokenUpdateStrategy {strategy} needs an AuthToken.")
        _check_auth_token(token)
        if not transit:
            raise InvalidParameterCombinationException(
                "AuthToken can only be provided when TransitEncryptionEnabled is set to true."
            )
        # ROTATE keeps the old token valid beside the new one; SET leaves the new one alone.
        tokens[:] = ([tokens[-1]] if strategy == "ROTATE" and tokens else []) + [token]
    else:
        raise InvalidParameterValueException("AuthTokenUpdateStrategy must be ROTATE, SET or DELETE with AuthToken.")
    group.auth_token_enabled = bool(tokens)
    group.auth_token_last_modified_date = utcnow()


# -- IncreaseReplicaCount / DecreaseReplicaCount -----------------------------------------------


def _replica_count_request(self: ElastiCacheResponse) -> tuple[ElastiCacheBackend, ReplicationGroup, int]:
    backend = self.elasticache_backend
    group = _group(backend, self._get_param("ReplicationGroupId"))
    if self._get_param("ApplyImmediately") is None:
        raise InvalidParameterValueException("The parameter ApplyImmediately must be provided.")
    new_count = self._get_int_param("NewReplicaCount")
    if new_count is None:
        raise InvalidParameterValueException("NewReplicaCount must be provided.")
    return backend, group, new_count


def _replicas(node_group: dict[str, Any]) -> list[dict[str, Any]]:
    return node_group["node_group_members"][1:]


@patch_point(
    "moto.elasticache.responses.ElastiCacheResponse.increase_replica_count",
    kind="add",
    why="IncreaseReplicaCount",
)
def _increase_replica_count_response(self: ElastiCacheResponse) -> ActionResult:
    backend, group, new_count = _replica_count_request(self)
    if new_count > 5:
        raise InvalidParameterValueException("NewReplicaCount must be at most 5.")
    for node_group in group.node_groups:
        members = node_group["node_group_members"]
        if new_count <= len(members) - 1:
            raise InvalidParameterValueException(
                f"NewReplicaCount {new_count} must be more than the current {len(members) - 1} replicas."
            )
        zones = sorted({m["preferred_availability_zone"] for m in members}) or [f"{backend.region_name}a"]
        while len(members) - 1 < new_count:
            number = max(int(m["cache_cluster_id"].rsplit("-", 1)[1]) for m in members) + 1
            prefix = members[0]["cache_cluster_id"].rsplit("-", 1)[0]
            cluster_id = f"{prefix}-{number:03d}"
            zone = zones[len(members) % len(zones)]
            # The server first: a replica that cannot start leaves no record behind.
            read_endpoint = _start_replica(backend, group, cluster_id)
            member = {
                "cache_cluster_id": cluster_id,
                "cache_node_id": node_group["node_group_id"],
                "preferred_availability_zone": zone,
                "current_role": "replica",
                "read_endpoint": read_endpoint,
            }
            members.append(member)
            group.member_clusters.append(cluster_id)
            _add_member(backend, group, cluster_id, zone)
            _point_endpoints(backend, group)
    return ActionResult({"ReplicationGroup": group})


@patch_point(
    "moto.elasticache.responses.ElastiCacheResponse.decrease_replica_count",
    kind="add",
    why="DecreaseReplicaCount",
)
def _decrease_replica_count_response(self: ElastiCacheResponse) -> ActionResult:
    backend, group, new_count = _replica_count_request(self)
    if new_count < 0:
        raise InvalidParameterValueException("NewReplicaCount must be zero or more.")
    if new_count < 1 and group.automatic_failover == "enabled":
        raise InvalidParameterCombinationException(
            "Cannot remove every replica while automatic failover is enabled: disable it first."
        )
    for node_group in group.node_groups:
        if new_count >= len(_replicas(node_group)):
            raise InvalidParameterValueException(
                f"NewReplicaCount {new_count} must be less than the current {len(_replicas(node_group))} replicas."
            )
        while len(_replicas(node_group)) > new_count:
            removed = node_group["node_group_members"][-1]["cache_cluster_id"]
            _stop_replica(backend, group, removed)  # the server first: one that cannot stop stays listed
            node_group["node_group_members"].pop()
            group.member_clusters.remove(removed)
            backend.cache_clusters.pop(removed, None)
            _point_endpoints(backend, group)
    return ActionResult({"ReplicationGroup": group})
