# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the blue/green runbook reads from AWS, and what it decides from it: pure, no AWS calls.

``blue_green_view`` joins what the *_info modules return (the load balancer with its listeners,
the target groups with their targets' health, the Auto Scaling groups, the launch template's
versions) into one picture per color. ``blue_green_plan`` decides from that picture what a deploy
of a release does: start, resume a shift an earlier run left half-done, nothing, or refuse.
``blue_green_rollback`` decides from it, and from what the runbook's journal says happened,
where a rollback sends the traffic, and whether it is safe to.

The journal's facts for this runbook (written by the deploy and the rollback, read by both):

``switch``
    The last switch: ``release``, ``from_color``, ``from_release``, ``to_color``, ``state``
    (``in-progress``, ``complete`` or ``rolled-back``), ``moved`` (whether any traffic reached
    ``to_color``; a deploy that stopped before its first step records ``false``), ``percent``
    (``to_color``'s share the last successful change left) and ``at``.
``verified``
    Per color, the release that passed its health and smoke checks there, or served all traffic
    from it. A rollback sends users only to a color still running its verified release.

Errors are ``ValueError``; the filters turn them into ``AnsibleFilterError``.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.rules import broken_rules

COLORS = ("blue", "green")
OTHER = {"blue": "green", "green": "blue"}
LEAVING_STATES = ("draining", "unhealthy.draining")
RELEASE_TAG = "wedsync:version"


def _listener_weights(listener: dict[str, Any], arns: dict[str, str]) -> dict[str, Any]:
    forward = next((a for a in listener.get("default_actions") or [] if a.get("type") == "forward"), {})
    groups = (forward.get("forward_config") or {}).get("target_groups")
    if not groups and forward.get("target_group_arn"):
        groups = [{"target_group_arn": forward["target_group_arn"], "weight": 1}]
    groups = groups or []
    weights = {
        color: sum(int(g.get("weight", 1)) for g in groups if g.get("target_group_arn") == arns[color])
        for color in COLORS
    }
    total = sum(weights.values())
    return {
        "arn": listener.get("listener_arn", ""),
        "weights": weights,
        "percent": {color: round(100.0 * weights[color] / total, 1) if total else 0.0 for color in COLORS},
        "other_target_groups": len([g for g in groups if g.get("target_group_arn") not in arns.values()]),
    }


def _release(versions: list[dict[str, Any]], pinned: str) -> tuple[int | None, str]:
    """The launch template version a group launches from, and the release it carries."""
    if pinned in ("", "$Default"):
        version = next((v for v in versions if v.get("default_version")), {})
    elif pinned == "$Latest":
        version = max(versions, key=lambda v: v.get("version_number", 0), default={})
    else:
        version = next((v for v in versions if str(v.get("version_number")) == pinned), {})
    specs = (version.get("launch_template_data") or {}).get("tag_specifications") or []
    tags = [tag for spec in specs if spec.get("resource_type") == "instance" for tag in spec.get("tags") or []]
    release = next((tag.get("value", "") for tag in tags if tag.get("key") == RELEASE_TAG), "")
    return version.get("version_number"), release


def _described(target: dict[str, Any]) -> str:
    health = target.get("target_health") or {}
    reason = f" ({health['reason']})" if health.get("reason") else ""
    return f"{(target.get('target') or {}).get('id')} {health.get('state')}{reason}"


def _color(
    color: str, prefix: str, target_group: dict[str, Any], group: dict[str, Any], versions: list[dict[str, Any]]
) -> dict[str, Any]:
    targets = [
        t
        for t in target_group.get("targets_health_description") or []
        if (t.get("target_health") or {}).get("state") not in LEAVING_STATES
    ]
    healthy = [t for t in targets if (t.get("target_health") or {}).get("state") == "healthy"]
    pinned = str((group.get("launch_template") or {}).get("version") or "")
    instances = group.get("instances") or []
    running = sorted({str((i.get("launch_template") or {}).get("version")) for i in instances} - {"None"})
    # A group on $Default or $Latest runs what its instances were launched from, whatever the
    # template's default has become since.
    if pinned in ("", "$Default", "$Latest") and len(running) == 1:
        number, release = _release(versions, running[0])
    else:
        number, release = _release(versions, pinned)
    return {
        "target_group": f"{prefix}-{color}",
        "target_group_arn": target_group.get("target_group_arn", ""),
        "group": f"{prefix}-app-{color}",
        "group_found": bool(group),
        "launch_template_version": pinned,
        "launch_template_version_number": number,
        "release": release,
        "min_size": int(group.get("min_size") or 0),
        "max_size": int(group.get("max_size") or 0),
        "desired_capacity": int(group.get("desired_capacity") or 0),
        "instances": len(instances),
        "running_versions": running,
        "instances_on_other_versions": len(
            [i for i in instances if str((i.get("launch_template") or {}).get("version")) != str(number)]
        ),
        "registered": len(targets),
        "healthy": len(healthy),
        "unhealthy_targets": [
            f"{(t.get('target') or {}).get('id')} {(t.get('target_health') or {}).get('state')}"
            + (
                f" ({(t.get('target_health') or {}).get('reason')})"
                if (t.get("target_health") or {}).get("reason")
                else ""
            )
            for t in targets
            if t not in healthy
        ],
    }


def blue_green_view(  # noqa: PLR0917 -- a filter's arguments are positional in Jinja
    balancer: dict[str, Any] | None,
    target_groups: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    versions: list[dict[str, Any]],
    prefix: str,
    https_port: int,
    test_port: int,
) -> dict[str, Any]:
    """One picture of both colors; see the module docstring."""
    balancer = balancer or {}
    by_name = {tg.get("target_group_name"): tg for tg in target_groups or []}
    arns = {color: (by_name.get(f"{prefix}-{color}") or {}).get("target_group_arn", "") for color in COLORS}
    listeners = {int(li.get("port", 0)): li for li in balancer.get("listeners") or []}
    view: dict[str, Any] = {
        "alb_found": bool(balancer),
        "alb_dns_name": balancer.get("dns_name", ""),
        "listener": _listener_weights(listeners.get(int(https_port), {}), arns),
        "test_listener": _listener_weights(listeners.get(int(test_port), {}), arns),
        "colors": {
            color: _color(
                color,
                prefix,
                by_name.get(f"{prefix}-{color}") or {},
                next((g for g in groups or [] if g.get("auto_scaling_group_name") == f"{prefix}-app-{color}"), {}),
                versions or [],
            )
            for color in COLORS
        },
    }
    weights = view["listener"]["weights"]
    view["live"] = max(COLORS, key=lambda c: weights[c]) if weights["blue"] != weights["green"] else ""
    view["idle"] = OTHER.get(view["live"], "")
    view["split"] = weights["blue"] > 0 and weights["green"] > 0
    view["missing"] = [
        what
        for what, there in (
            (f"the load balancer {prefix}-alb", view["alb_found"]),
            (f"its listener on port {https_port}", bool(view["listener"]["arn"])),
            (f"its test listener on port {test_port}", bool(view["test_listener"]["arn"])),
            (f"the target group {prefix}-blue", bool(arns["blue"])),
            (f"the target group {prefix}-green", bool(arns["green"])),
            (f"the Auto Scaling group {prefix}-app-blue", view["colors"]["blue"]["group_found"]),
            (f"the Auto Scaling group {prefix}-app-green", view["colors"]["green"]["group_found"]),
        )
        if not there
    ]
    return view


def _healthy(color: dict[str, Any]) -> bool:
    return color["healthy"] > 0 and color["healthy"] == color["registered"]


def _refuse(plan: dict[str, Any], *reasons: str) -> dict[str, Any]:
    return {**plan, "action": "refuse", "reasons": [*plan["reasons"], *reasons]}


def _split_plan(view: dict[str, Any], release: str, repair: bool, plan: dict[str, Any]) -> dict[str, Any] | None:
    """Traffic on both colors: resume a shift to this release, repair, or refuse; None when not split."""
    if not view["split"]:
        return None
    colors, percent = view["colors"], view["listener"]["percent"]
    running = [c for c in COLORS if colors[c]["release"] == release]
    if len(running) == 1:
        target = running[0]
        return {
            **plan,
            "action": "resume",
            "source": OTHER[target],
            "target": target,
            "start_percent": percent[target],
            "reasons": [f"a shift to {target} (release {release}) stopped at {percent[target]}%: resuming it"],
        }
    reason = f"traffic is split {percent['blue']}% blue / {percent['green']}% green by an earlier switch"
    if not view["live"]:
        return _refuse(plan, reason + ": put it on one color first with playbooks/rollback.yml")
    if not repair:
        return _refuse(plan, reason + " (blue_green_repair=true puts it all back on the color with more first)")
    plan.update(repair_traffic=True, reasons=[reason + f": putting it all back on {view['live']} first"])
    return None


def blue_green_plan(view: dict[str, Any], release: str, repair: bool = False) -> dict[str, Any]:
    """What a deploy of ``release`` does from the state ``view`` describes.

    Returns ``action`` (``deploy``, ``resume``, ``nothing`` or ``refuse``), the ``source`` color
    traffic leaves and the ``target`` color it goes to, ``start_percent`` (the target's share of
    traffic now), ``repair_traffic`` (put all traffic back on the source first), ``first_release``
    (nothing served yet: all traffic in one step) and ``reasons``.
    """
    if not release:
        raise ValueError("blue_green_plan needs the release to deploy")
    plan: dict[str, Any] = {
        "source": "",
        "target": "",
        "start_percent": 0.0,
        "repair_traffic": False,
        "first_release": False,
        "reasons": [],
    }
    if view["listener"]["other_target_groups"]:
        return _refuse(plan, "the listener also forwards to target groups other than blue and green")
    split = _split_plan(view, release, repair, plan)
    if split:
        return split
    if not view["live"]:
        return _refuse(plan, "the listener forwards to neither color")
    colors, source, target = view["colors"], view["live"], view["idle"]
    if colors[source]["release"] == release and not plan["repair_traffic"]:
        reasons = [f"{source} already serves release {release}"]
        return {
            **plan,
            "action": "nothing",
            "source": source,
            "target": source,
            "start_percent": 100.0,
            "reasons": reasons,
        }
    if not colors[source]["release"]:
        # A new estate: the live color runs no release (an earlier first deploy may have staged the idle
        # one), so no user can lose anything, and a canary has nothing to compare with.
        plan["reasons"].append(
            f"the live color {source} runs no release yet: {release} is the first, all traffic at once"
        )
        plan["first_release"] = True
    elif not _healthy(colors[source]):
        live = colors[source]
        reason = (
            f"the live color {source} is not healthy: {live['healthy']} of {live['registered']} targets healthy"
            f" ({', '.join(live['unhealthy_targets']) or 'none registered'})"
        )
        if not repair:
            return _refuse(plan, reason + " (blue_green_repair=true deploys anyway)")
        plan["reasons"].append(reason + ": deploying anyway, as asked")
    return {**plan, "action": "deploy", "source": source, "target": target}


SWITCH_STATES = ("in-progress", "complete", "rolled-back")
RELEASE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")


def deploy_input_problems(release: str, steps: list[int], smoke_checks: list[dict[str, Any]]) -> list[str]:
    """What is wrong with a deploy's input that its argument spec cannot say: one message per broken rule."""
    shown = ",".join(str(step) for step in steps)
    rules = [
        {
            "ok": RELEASE_PATTERN.match(release or "") is not None,
            "says": f'blue_green_version must look like 1.2.3 (got "{release}")',
        },
        {
            "ok": bool(steps) and min(steps) >= 1 and max(steps) == 100 and steps == sorted(set(steps)),
            "says": f"blue_green_steps must rise to 100 within 1-100, e.g. 10,50,100 (got {shown})",
        },
    ]
    for index, check in enumerate(smoke_checks):
        path = str(check.get("path", ""))
        name = f" ({check['name']})" if check.get("name") else ""
        rules.append(
            {
                "ok": path.startswith("/"),
                "says": f"blue_green_smoke_checks[{index}]{name} needs a path starting with / (got {path!r})",
            }
        )
    return broken_rules(rules)


def resume_skips(view: dict[str, Any], plan: dict[str, Any], release: str, done: list[str]) -> dict[str, bool]:
    """Which of a deploy's steps a resumed run may skip: done before, and still true in AWS.

    Staging is skipped only while the target color still runs ``release`` on every instance and
    all of its targets are healthy; the smoke test only when staging is skipped too.
    """
    target = view["colors"].get(plan.get("target") or "", {})
    staged = (
        "stage" in done
        and target.get("release") == release
        and target.get("instances", 0) > 0
        and target.get("instances_on_other_versions", 1) == 0
        and _healthy(target)
    )
    return {"stage": staged, "smoke": staged and "smoke" in done}


def _recorded_switch(facts: dict[str, Any] | None) -> dict[str, Any] | None:
    """The switch the journal holds, when it names both colors and a known state."""
    record = (facts or {}).get("switch") or {}
    source = record.get("from_color")
    if source in COLORS and record.get("to_color") == OTHER[source] and record.get("state") in SWITCH_STATES:
        return record
    return None


def _recorded_target(view: dict[str, Any], switch: dict[str, Any]) -> tuple[str, str]:
    """Where a recorded switch sends traffic back, and why; no color when nothing moved."""
    target = switch["from_color"]
    moved = (
        f"recorded: release {switch.get('release') or 'unknown'} moved traffic from {target}"
        f" (release {switch.get('from_release') or 'unknown'}) to {switch['to_color']}"
    )
    if switch["state"] == "rolled-back":
        return target, f"{moved}, and was rolled back to {target} at {switch.get('at')}"
    if not switch.get("moved", True) and not view["split"]:
        return "", (
            f"the deploy of release {switch.get('release') or 'unknown'} to {switch['to_color']} recorded at"
            f" {switch.get('at')} stopped before any traffic moved"
        )
    return target, f"{moved} at {switch.get('at')} ({switch['state']})"


def _unrecorded_target(view: dict[str, Any]) -> tuple[str, str]:
    """Where traffic goes back to from the listener alone, and why; no color when nothing is to undo."""
    percent = view["listener"]["percent"]
    split = f"{percent['blue']}% blue / {percent['green']}% green"
    if view["split"] and view["live"]:
        return view["live"], f"no switch is recorded; traffic is split {split}, so a shift from {view['live']} stopped"
    if view["split"]:
        return "", f"no switch is recorded and traffic is split evenly ({split})"
    return "", "no switch is recorded in the journal"


def _unverified(view: dict[str, Any], facts: dict[str, Any] | None, target: str) -> str:
    """Why ``target`` is not safe to send users to, or an empty string when it is.

    Safe: the color runs the release that passed its health and smoke checks there (or served
    all traffic from it), or it takes part of the traffic already.
    """
    color = view["colors"][target]
    verified = ((facts or {}).get("verified") or {}).get(target)
    if view["listener"]["percent"][target] > 0 or (color["release"] and verified == color["release"]):
        return ""
    release = color["release"] or "unknown"
    if verified:
        return f"{target} now runs release {release}, not {verified}, which passed its checks there"
    return f"{target} runs release {release}, which has not passed health and smoke checks there"


def _switch_record(view: dict[str, Any], switch: dict[str, Any] | None, target: str) -> dict[str, Any]:
    """The switch to record once all traffic is back on ``target``."""
    if switch and switch["from_color"] == target:
        after = {key: switch.get(key) for key in ("release", "from_color", "from_release", "to_color")}
    else:
        # Any other move is recorded as a switch from the color traffic goes to, already rolled back.
        source = OTHER[target]
        after = {
            "release": view["colors"][source]["release"],
            "from_color": target,
            "from_release": view["colors"][target]["release"],
            "to_color": source,
        }
    return {**after, "state": "rolled-back", "moved": True, "percent": 0.0}


def blue_green_rollback(
    view: dict[str, Any], facts: dict[str, Any] | None, rollback_to: str = "", force: bool = False
) -> dict[str, Any]:
    """Where a rollback sends all traffic, why, whether that is safe, and the switch it records.

    The color comes from, in this order: ``rollback_to``; the color the journal's switch came
    from (once rolled back it stays there, so running the rollback again changes nothing); with
    no switch recorded, the color with more traffic after a shift that stopped part-way.

    ``action`` is ``switch``; ``nothing`` when traffic is already all on that color, or there is
    nothing to roll back (no switch recorded, or the last deploy never moved traffic); or
    ``refuse`` when it cannot tell, or the color is not running a release that passed its checks
    there (``force`` sends traffic anyway, and says so in ``forced``).
    """
    if rollback_to not in ("", *COLORS):
        raise ValueError(f"blue_green_rollback_to must be blue or green, not {rollback_to!r}")
    switch = _recorded_switch(facts)
    if rollback_to:
        target, reason = rollback_to, "asked for (blue_green_rollback_to)"
    elif switch:
        target, reason = _recorded_target(view, switch)
    else:
        target, reason = _unrecorded_target(view)
    decision = {"target": target, "source": OTHER.get(target, ""), "reason": reason, "record": {}, "forced": ""}
    if not target:
        action = "refuse" if view["split"] else "nothing"
        return {**decision, "action": action}
    if view["listener"]["percent"][target] == 100:
        return {**decision, "action": "nothing", "reason": f"{reason}; all traffic is already on {target}"}
    unsafe = _unverified(view, facts, target)
    if unsafe and not force:
        return {**decision, "action": "refuse", "reason": f"{reason}, but {unsafe}"}
    return {**decision, "action": "switch", "forced": unsafe, "record": _switch_record(view, switch, target)}


def blue_green_unhealthy(target_group: dict[str, Any], instance_ids: list[str]) -> list[str]:
    """Each of ``instance_ids`` that is not healthy in ``target_group``, with its state and reason."""
    found = {(t.get("target") or {}).get("id"): t for t in target_group.get("targets_health_description") or []}
    lines = []
    for instance in instance_ids:
        target = found.get(instance)
        if target is None:
            lines.append(f"{instance} not registered")
            continue
        health = target.get("target_health") or {}
        if health.get("state") != "healthy":
            reason = ": ".join(part for part in (health.get("reason"), health.get("description")) if part)
            lines.append(f"{instance} {health.get('state')}" + (f" ({reason})" if reason else ""))
    return lines


def blue_green_retire(view: dict[str, Any], min_healthy_percent: int = 100) -> dict[str, Any]:
    """Whether the color serving no traffic may be scaled to zero, and why.

    ``action`` is ``retire`` (scale ``color`` to zero), ``nothing`` (it already is) or ``refuse``:
    traffic split or on neither color, another target group behind the listener, or a live color
    with fewer than ``min_healthy_percent`` of its targets healthy (or none at all), since the old
    color is then the only way back.
    """
    if not 1 <= int(min_healthy_percent) <= 100:
        raise ValueError(f"blue_green_retire_min_healthy_percent must be within 1-100 (got {min_healthy_percent})")
    live, idle = view["live"], view["idle"]
    decision = {"live": live, "color": idle, "reason": ""}
    percent = view["listener"]["percent"]
    if view["listener"]["other_target_groups"]:
        return {
            **decision,
            "action": "refuse",
            "reason": "the listener also forwards to target groups other than blue and green",
        }
    if view["split"] or not live:
        shares = f"{percent['blue']}% blue / {percent['green']}% green"
        return {
            **decision,
            "action": "refuse",
            "reason": f"traffic is not on one color ({shares}): finish or roll back the deploy first",
        }
    serving = view["colors"][live]
    share = 100 * serving["healthy"] / serving["registered"] if serving["registered"] else 0
    if serving["healthy"] == 0 or share < int(min_healthy_percent):
        return {
            **decision,
            "action": "refuse",
            "reason": (
                f"the live color {live} has {serving['healthy']} of {serving['registered']} targets healthy, under"
                f" {min_healthy_percent}%: {idle} stays, it is the way back"
            ),
        }
    old = view["colors"][idle]
    if old["desired_capacity"] == 0 and old["min_size"] == 0:
        return {**decision, "action": "nothing", "reason": f"{idle} is already scaled to zero"}
    return {
        **decision,
        "action": "retire",
        "reason": (
            f"all traffic on {live} (release {serving['release'] or 'unknown'}, {serving['healthy']} of"
            f" {serving['registered']} targets healthy); {idle} (release {old['release'] or 'unknown'},"
            f" {old['desired_capacity']} instances) goes to zero"
        ),
    }
