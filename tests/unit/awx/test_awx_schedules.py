"""awx/schedules.yml against the seed: each schedule's next runs, computed as AWX computes them (dateutil's
rrulestr over the rrule's DTSTART zone, as a set), fall where the seed says, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import yaml
from dateutil import rrule
from unit.playbook_runs import ROOT

SCHEDULES = yaml.safe_load((ROOT / "awx" / "schedules.yml").read_text())["awx_schedules"]
TEMPLATES = {t["name"] for t in yaml.safe_load((ROOT / "awx" / "job_templates.yml").read_text())["awx_job_templates"]}
# The seed ("Health Checks"): "Deep Health Check: Every hour via monitoring system", "End-to-End Tests:
# Every 4 hours".
SEED = {"wedsync deep health check": timedelta(hours=1), "wedsync end-to-end check": timedelta(hours=4)}
# Two weeks over both 2027 spring changes (United States 14 March, Europe 28 March).
WINDOW = (datetime(2027, 3, 13, tzinfo=UTC), datetime(2027, 3, 29, tzinfo=UTC))


def runs(text: str, start: datetime, end: datetime) -> list[datetime]:
    """The runs of an AWX rrule between start and end, in UTC, as the controller's scheduler computes them."""
    rules = rrule.rrulestr(text, forceset=True)
    return [moment.astimezone(UTC) for moment in rules.between(start, end, inc=True)]


def gaps(moments: list[datetime]) -> set[timedelta]:
    return {later - earlier for earlier, later in pairwise(moments)}


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s["name"] for s in SCHEDULES])
def test_each_schedule_runs_as_often_as_the_seed_says_across_daylight_saving(schedule: dict[str, str]) -> None:
    assert schedule["job_template"] in TEMPLATES
    moments = runs(schedule["rrule"], *WINDOW)
    assert gaps(moments) == {SEED[schedule["job_template"]]}
    assert len({(m.minute, m.second) for m in moments}) == 1, "the same minute past each hour, in UTC"


def test_the_seed_schedules_whose_runbooks_exist_are_all_here() -> None:
    assert SEED.keys() <= TEMPLATES
    assert {s["job_template"] for s in SCHEDULES} == set(SEED)


def test_the_check_catches_a_schedule_in_a_daylight_saving_zone() -> None:
    """The test above can fail: an hourly rule in New York wall time skips an hour at the spring change."""
    local = runs("DTSTART;TZID=America/New_York:20261207T001500 RRULE:FREQ=HOURLY;INTERVAL=1", *WINDOW)
    assert gaps(local) != {timedelta(hours=1)}
