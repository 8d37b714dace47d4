"""The replica-lag runbook end to end on the twin's real PostgreSQL replicas."""

from __future__ import annotations

from harness import PREFIX, Runbooks, replica_behind

from twin.client import TwinClient

REPLICAS = {f"{PREFIX}-db-replica-1", f"{PREFIX}-db-replica-2", f"{PREFIX}-db-dr"}


def test_current_replicas_pass_and_each_is_measured(runbooks: Runbooks) -> None:
    run = runbooks.run("replica_lag_check.yml", "-e", "replica_lag_wait=true")
    assert run.rc == 0, run.tail()
    report = run.report
    assert (report["runbook"], report["action"], report["outcome"]) == ("replica_lag", "check", "SUCCEEDED")
    measured = {m["name"]: m for m in report["measurements"]}
    assert {name.split(" ")[2] for name in measured} == REPLICAS
    assert all(m["objective"] == 5.0 and m["met"] for m in measured.values())
    assert report["journal"] is None, "a read-only check takes no journal"


def test_a_replica_that_does_not_replay_fails_the_gate_naming_it(runbooks: Runbooks, twin: TwinClient) -> None:
    replica = f"{PREFIX}-db-replica-1"
    with replica_behind(twin, replica):
        run = runbooks.run(
            "replica_lag_check.yml", "-e", "replica_lag_max_seconds=1", "-e", "replica_lag_source=postgres"
        )
    assert run.rc != 0
    report = run.report
    assert report["outcome"] == "REFUSED"
    assert replica in next(g for g in report["gates"] if g["name"] == "replica lag")["reason"]
    lagging = next(m for m in report["measurements"] if replica in m["name"])
    assert lagging["met"] is False and lagging["value"] >= 1
    assert all(m["met"] for m in report["measurements"] if replica not in m["name"])
