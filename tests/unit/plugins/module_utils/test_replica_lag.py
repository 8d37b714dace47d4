"""The lag arithmetic, the idle rule and the threshold gate of rds_replica_lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import (
    BREACHED,
    CLOUDWATCH,
    OK,
    POSTGRES,
    UNMEASURABLE,
    InstanceRef,
    LagUnknown,
    Sample,
    Thresholds,
    assess,
    bound_by_progress,
    conninfo_application_name,
    credentials_from_secret,
    latest_datapoint,
    lsn_diff,
    match_replication_row,
    next_delay,
    parse_instance_ref,
    parse_lsn,
    replica_lag,
    summarize,
    to_result,
    worst,
)

PRIMARY = InstanceRef("us-east-1", "wedsync-db")
REPLICA = InstanceRef("us-east-1", "wedsync-db-r1")
NOW = datetime(2025, 11, 23, 4, 30, tzinfo=UTC)


def measured(lag_seconds: float | None, lag_bytes: int | None = 0, **fields) -> Sample:
    return Sample(REPLICA, PRIMARY, measured_by=POSTGRES, lag_seconds=lag_seconds, lag_bytes=lag_bytes, **fields)


# -- LSNs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lsn", "position"),
    [
        ("0/0", 0),
        ("0/3000148", 0x3000148),
        ("16/B374D848", (0x16 << 32) + 0xB374D848),
        ("FFFFFFFF/FFFFFFFF", 2**64 - 1),
    ],
)
def test_parse_lsn(lsn: str, position: int) -> None:
    assert parse_lsn(lsn) == position


@pytest.mark.parametrize("text", ["", "16", "16/", "G/0", "0/123456789", None])
def test_parse_lsn_rejects_what_is_not_an_lsn(text: str | None) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL LSN"):
        parse_lsn(text)


def test_lsn_diff_crosses_a_segment_boundary() -> None:
    assert lsn_diff("1/10", "0/FFFFFFF0") == 0x20


def test_lsn_diff_is_never_negative() -> None:
    # The source is read before the replica, which may have replayed newer WAL by then.
    assert lsn_diff("0/1000", "0/2000") == 0


# -- the idle rule ---------------------------------------------------------------------------


def test_idle_primary_replica_caught_up_is_not_lagging_however_old_its_last_transaction() -> None:
    assert replica_lag("0/3000148", "0/3000148", replay_age_seconds=3600.0) == (0.0, 0)


def test_replica_ahead_of_the_source_reading_is_caught_up() -> None:
    assert replica_lag("0/3000148", "0/3000200", replay_age_seconds=900.0) == (0.0, 0)


def test_replica_behind_lags_by_the_age_of_its_last_replayed_transaction() -> None:
    assert replica_lag("0/5000000", "0/3000000", replay_age_seconds=12.5) == (12.5, 0x2000000)


def test_replica_behind_before_any_replayed_transaction_uses_the_source_view() -> None:
    assert replica_lag("0/5000000", "0/4000000", None, source_replay_lag_seconds=3.25) == (3.25, 0x1000000)


def test_replica_behind_with_no_time_at_all_is_unknown_not_zero() -> None:
    with pytest.raises(LagUnknown, match="16777216 bytes behind"):
        replica_lag("0/5000000", "0/4000000", None, None)


def test_replica_that_replayed_past_an_earlier_source_position_is_behind_by_at_most_the_time_since() -> None:
    earlier = NOW - timedelta(seconds=0.3)
    assert bound_by_progress(3600.0, "0/5000010", NOW, "0/5000000", earlier) == pytest.approx(0.3)
    assert bound_by_progress(0.1, "0/5000010", NOW, "0/5000000", earlier) == 0.1


def test_replica_still_short_of_the_earlier_source_position_keeps_its_lag() -> None:
    assert bound_by_progress(12.5, "0/4FFFFFF", NOW, "0/5000000", NOW - timedelta(seconds=0.3)) == 12.5


def test_clock_skew_never_makes_lag_negative() -> None:
    assert replica_lag("0/5000000", "0/4000000", replay_age_seconds=-0.4) == (0.0, 0x1000000)


# -- identities, secrets, metrics --------------------------------------------------------------


def test_identifier_is_in_the_default_region() -> None:
    assert parse_instance_ref("wedsync-db-r1", "us-east-1") == REPLICA


@pytest.mark.parametrize(
    ("arn", "ref"),
    [
        ("arn:aws:rds:us-west-2:123456789012:db:wedsync-db-dr", InstanceRef("us-west-2", "wedsync-db-dr")),
        ("arn:aws-us-gov:rds:us-gov-west-1:123456789012:db:db1", InstanceRef("us-gov-west-1", "db1")),
    ],
)
def test_arn_names_its_own_region(arn: str, ref: InstanceRef) -> None:
    assert parse_instance_ref(arn, "us-east-1") == ref


def test_arn_of_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not the ARN of an RDS DB instance"):
        parse_instance_ref("arn:aws:rds:us-east-1:123456789012:snapshot:nightly", "us-east-1")


def test_instance_ref_reads_as_identifier_and_region() -> None:
    assert str(REPLICA) == "wedsync-db-r1 (us-east-1)"


@pytest.mark.parametrize(
    ("conninfo", "name"),
    [
        ("user=rdsadmin host=127.0.0.1 port=5432 application_name=wedsync-db-r1 sslmode=prefer", "wedsync-db-r1"),
        ("application_name='replica one' host=10.0.0.4", "replica one"),
        ("user=rdsadmin fallback_application_name=walreceiver host=127.0.0.1", None),
        (None, None),
    ],
)
def test_conninfo_application_name(conninfo: str | None, name: str | None) -> None:
    assert conninfo_application_name(conninfo) == name


ROWS = [
    {"application_name": "walreceiver", "slot_name": "rds_us_east_1_db_aaa", "replay_lag": 0.5},
    {"application_name": "walreceiver", "slot_name": "rds_us_west_2_db_bbb", "replay_lag": 2.0},
    {"application_name": "reporting", "slot_name": None, "replay_lag": 9.0},
]


def test_replication_row_by_slot() -> None:
    assert match_replication_row(ROWS, "rds_us_west_2_db_bbb", "walreceiver")["replay_lag"] == 2.0


def test_replication_row_by_unique_application_name() -> None:
    assert match_replication_row(ROWS, None, "reporting")["replay_lag"] == 9.0


def test_replication_row_shared_application_name_is_not_guessed() -> None:
    assert match_replication_row(ROWS, None, "walreceiver") is None


def test_latest_datapoint_whatever_the_order() -> None:
    older, newer = NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)
    assert latest_datapoint([older, newer], [9.0, 1.5]) == (newer, 1.5)
    assert latest_datapoint([newer, older], [1.5, 9.0]) == (newer, 1.5)
    assert latest_datapoint([], []) is None


def test_credentials_from_an_rds_secret() -> None:
    secret = '{"username": "wedsync", "password": "s3cr3t", "engine": "postgres", "host": "db", "port": 5432}'
    assert credentials_from_secret(secret) == ("wedsync", "s3cr3t")
    assert credentials_from_secret('{"password": "s3cr3t"}') == (None, "s3cr3t")


@pytest.mark.parametrize("secret", ['{"user": "wedsync", "pass": "s3cr3t"}', "s3cr3t", None, '["s3cr3t"]'])
def test_bad_secret_is_refused_without_quoting_it(secret: str | None) -> None:
    with pytest.raises(ValueError) as raised:
        credentials_from_secret(secret)
    assert "s3cr3t" not in str(raised.value)


# -- the gate --------------------------------------------------------------------------------


def test_under_the_threshold_is_ok() -> None:
    assert assess(measured(4.9, 1024), Thresholds(5.0)) == (OK, [])


def test_at_the_threshold_is_ok() -> None:
    assert assess(measured(5.0), Thresholds(5.0))[0] == OK


def test_over_seconds_says_by_how_much() -> None:
    assert assess(measured(12.34, 4096), Thresholds(5.0)) == (BREACHED, ["lag 12.3 s is 7.3 s over 5.0 s"])


def test_over_bytes_says_by_how_much() -> None:
    status, reasons = assess(measured(0.2, 20_000_000), Thresholds(5.0, 16_777_216))
    assert status == BREACHED
    assert reasons == ["lag 20000000 bytes is 3222784 bytes over 16777216 bytes"]


def test_over_both_names_both() -> None:
    status, reasons = assess(measured(9.0, 2048), Thresholds(5.0, 1024))
    assert status == BREACHED
    assert len(reasons) == 2


def test_idle_replica_passes_a_strict_gate() -> None:
    seconds, lag_bytes = replica_lag("0/3000148", "0/3000148", replay_age_seconds=7200.0)
    assert assess(measured(seconds, lag_bytes), Thresholds(1.0, 0))[0] == OK


def test_unmeasured_is_never_a_pass() -> None:
    unreachable = Sample(REPLICA, PRIMARY, error="cannot connect")
    assert assess(unreachable, Thresholds(5.0)) == (UNMEASURABLE, ["cannot connect"])
    assert assess(Sample(REPLICA, PRIMARY), Thresholds(5.0))[0] == UNMEASURABLE


def test_byte_threshold_without_byte_measurement_is_unmeasurable() -> None:
    sample = Sample(REPLICA, PRIMARY, measured_by=CLOUDWATCH, lag_seconds=0.0)
    status, reasons = assess(sample, Thresholds(5.0, 1024))
    assert status == UNMEASURABLE
    assert "cloudwatch does not measure byte lag" in reasons[0]


def test_rds_reporting_replication_broken_is_a_breach_even_without_lag() -> None:
    sample = measured(0.0, replication_error="RDS reports read replication error: WAL stream broken")
    assert assess(sample, Thresholds(5.0)) == (BREACHED, ["RDS reports read replication error: WAL stream broken"])


def test_result_gives_the_measurement_age_and_notes() -> None:
    sample = measured(2.0, 100, measured_at=NOW - timedelta(seconds=1.5), notes=["postgres unusable (refused)"])
    result = to_result(sample, OK, [], NOW)
    assert result["measurement_age_seconds"] == 1.5
    assert result["measured_at"] == "2025-11-23T04:29:58.500+00:00"
    assert result["message"] == "postgres unusable (refused)"


def result(identifier: str, status: str, message: str = "", lag: float | None = 0.0, region: str = "us-east-1"):
    return {
        "db_instance_identifier": identifier,
        "region": region,
        "status": status,
        "message": message,
        "lag_seconds": lag,
        "lag_bytes": None,
    }


def test_summary_when_all_pass_gives_the_worst() -> None:
    results = [result("r1", OK, lag=0.2), result("r2", OK, lag=1.26)]
    assert summarize(results, Thresholds(5.0)) == "all 2 replicas within 5.0 s: worst lag 1.3 s"


def test_summary_names_each_breach_and_groups_shared_reasons() -> None:
    refused = "source wedsync-db (us-east-1): password authentication failed"
    results = [
        result("r1", BREACHED, "lag 9.0 s is 4.0 s over 5.0 s", lag=9.0),
        result("r2", UNMEASURABLE, refused, lag=None),
        result("dr", UNMEASURABLE, refused, lag=None, region="us-west-2"),
    ]
    summary = summarize(results, Thresholds(5.0, 1024))
    assert summary.startswith("1 of 3 replicas over 5.0 s and 1024 bytes: r1 (us-east-1) lag 9.0 s is 4.0 s over")
    assert summary.count("password authentication failed") == 1
    assert f"cannot measure r2 (us-east-1), dr (us-west-2): {refused}" in summary


def test_worst_skips_the_unmeasured() -> None:
    assert worst([result("r1", OK, lag=None), result("r2", OK, lag=3.0)], "lag_seconds") == 3.0
    assert worst([result("r1", UNMEASURABLE, lag=None)], "lag_seconds") is None


def test_backoff_grows_caps_and_stops_at_the_deadline() -> None:
    assert [next_delay(n, remaining=100.0) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert next_delay(3, remaining=2.5) == 2.5
    assert next_delay(0, remaining=-1.0) == 0.0
