#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatch_alarm
version_added: 0.1.0
short_description: Manage a CloudWatch metric alarm, on one metric or on metric math, with tags
description:
  - Creates, updates or deletes an Amazon CloudWatch metric alarm that watches either one metric (O(namespace),
    O(metric_name), O(dimensions), a statistic or percentile over O(period)) or the result of a metric math
    expression over several metrics (O(metrics)), with its actions and tags.
  - Compares the alarm field by field with what CloudWatch describes, so that an alarm that already matches is left
    alone (C(changed=false)). M(amazon.aws.cloudwatch_metric_alarm) leaves the metric queries out of its comparison
    and reports a metric math alarm as changed on every run, and it cannot tag alarms.
  - In check mode the module returns the alarm as it would be, and with C(--diff) the alarm before and after.
options:
  name:
    description: The alarm's name, unique in the account and region.
    type: str
    required: true
  state:
    description: V(present) creates or updates the alarm, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: What the alarm means and what to do about it.
    type: str
    default: ""
  actions_enabled:
    description: Whether the alarm's actions run when its state changes.
    type: bool
    default: true
  alarm_actions:
    description:
      - ARNs run when the alarm goes to C(ALARM), such as SNS topics, Auto Scaling policies and EC2 actions.
    type: list
    elements: str
    default: []
  ok_actions:
    description: ARNs run when the alarm goes back to C(OK).
    type: list
    elements: str
    default: []
  insufficient_data_actions:
    description: ARNs run when the alarm goes to C(INSUFFICIENT_DATA).
    type: list
    elements: str
    default: []
  comparison:
    description: How the metric is compared with O(threshold). Required with O(state=present).
    type: str
    choices: [GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold]
  threshold:
    description: The value the metric is compared with. Required with O(state=present).
    type: float
  evaluation_periods:
    description: The number of most recent periods the alarm looks at. Required with O(state=present).
    type: int
  datapoints_to_alarm:
    description:
      - How many of the O(evaluation_periods) must breach for the alarm to fire (M out of N); all of them when omitted.
    type: int
  treat_missing_data:
    description: How periods without data are counted.
    type: str
    choices: [breaching, notBreaching, ignore, missing]
    default: missing
  namespace:
    description: The metric's namespace, for an alarm on one metric.
    type: str
  metric_name:
    description: The metric's name, for an alarm on one metric.
    type: str
  dimensions:
    description: The metric's dimensions, names to values, for an alarm on one metric.
    type: dict
    default: {}
  statistic:
    description: The statistic of the metric over each period. Exactly one of this and O(extended_statistic).
    type: str
    choices: [SampleCount, Average, Sum, Minimum, Maximum]
  extended_statistic:
    description: A percentile such as V(p95) (or another extended statistic) instead of O(statistic).
    type: str
  evaluate_low_sample_count_percentile:
    description:
      - For a percentile, whether periods with too few samples to be meaningful are evaluated (V(evaluate)) or leave
        the state as it is (V(ignore)).
    type: str
    choices: [evaluate, ignore]
  period:
    description: The length of a period in seconds, for an alarm on one metric.
    type: int
  unit:
    description: The metric's unit, for an alarm on one metric; any unit when omitted.
    type: str
  metrics:
    description:
      - The metric queries of a metric math alarm. Exactly one of them has O(metrics[].return_data=true); its value is
        what is compared with the threshold. Mutually exclusive with O(metric_name).
    type: list
    elements: dict
    suboptions:
      id:
        description: Short name of the query, used in expressions; starts with a lower-case letter.
        type: str
        required: true
      expression:
        description: A metric math expression over the other queries' ids. Exactly one of this and O(metrics[].metric_stat).
        type: str
      label:
        description: A label for the query's result.
        type: str
      return_data:
        description: Whether this query's result is what the alarm compares; true for exactly one query.
        type: bool
        default: false
      period:
        description: The period of an expression's result, in seconds.
        type: int
      metric_stat:
        description: A metric and its statistic.
        type: dict
        suboptions:
          namespace:
            description: The metric's namespace.
            type: str
            required: true
          metric_name:
            description: The metric's name.
            type: str
            required: true
          dimensions:
            description: The metric's dimensions, names to values.
            type: dict
            default: {}
          period:
            description: The period in seconds.
            type: int
            required: true
          stat:
            description: The statistic, e.g. V(Sum), V(Average) or V(p95).
            type: str
            required: true
          unit:
            description: The unit.
            type: str
attributes:
  diff_mode:
    support: full
    details: The whole alarm before and after (metric, threshold, periods and actions).
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.tags, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: p95 response time of the ALB above 500 ms for 5 minutes
  wedsync.platform.cloudwatch_alarm:
    name: wedsync-production-alb-response-time-warning
    description: p95 TargetResponseTime above 500 ms
    namespace: AWS/ApplicationELB
    metric_name: TargetResponseTime
    dimensions:
      LoadBalancer: app/wedsync-production-alb/50dc6c495c0c9188
    extended_statistic: p95
    evaluate_low_sample_count_percentile: ignore
    period: 60
    evaluation_periods: 5
    comparison: GreaterThanThreshold
    threshold: 0.5
    treat_missing_data: notBreaching
    alarm_actions: [arn:aws:sns:us-east-1:123456789012:wedsync-production-alerts]
    ok_actions: [arn:aws:sns:us-east-1:123456789012:wedsync-production-alerts]
    tags:
      Project: wedsync

- name: 5xx share of requests above 5 %, by metric math
  wedsync.platform.cloudwatch_alarm:
    name: wedsync-production-alb-error-rate-critical
    comparison: GreaterThanThreshold
    threshold: 5
    evaluation_periods: 3
    treat_missing_data: notBreaching
    metrics:
      - id: error_rate
        expression: 100 * (FILL(target_5xx, 0) + FILL(elb_5xx, 0)) / requests
        label: 5xx share of requests (%)
        return_data: true
      - id: target_5xx
        metric_stat:
          namespace: AWS/ApplicationELB
          metric_name: HTTPCode_Target_5XX_Count
          dimensions: {LoadBalancer: app/wedsync-production-alb/50dc6c495c0c9188}
          period: 60
          stat: Sum
      - id: elb_5xx
        metric_stat:
          namespace: AWS/ApplicationELB
          metric_name: HTTPCode_ELB_5XX_Count
          dimensions: {LoadBalancer: app/wedsync-production-alb/50dc6c495c0c9188}
          period: 60
          stat: Sum
      - id: requests
        metric_stat:
          namespace: AWS/ApplicationELB
          metric_name: RequestCount
          dimensions: {LoadBalancer: app/wedsync-production-alb/50dc6c495c0c9188}
          period: 60
          stat: Sum
    alarm_actions: [arn:aws:sns:us-east-1:123456789012:wedsync-production-paging]

- name: Remove an alarm
  wedsync.platform.cloudwatch_alarm:
    name: wedsync-staging-alb-error-rate-critical
    state: absent
"""

RETURN = r"""
alarm:
  description:
    - The alarm after the task, with its metric or metric math, threshold and actions (in check mode, as it
      would be).
    - Empty with O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The alarm's name, unique in its region.
      type: str
      sample: wedsync-production-alb-response-time-warning
    arn:
      description: The alarm's ARN; empty for an alarm check mode would create.
      type: str
      sample: arn:aws:cloudwatch:us-east-1:123456789012:alarm:wedsync-production-alb-response-time-warning
    description:
      description: The alarm's description.
      type: str
      sample: p95 TargetResponseTime above 500 ms
    actions_enabled:
      description: Whether its actions run.
      type: bool
      sample: true
    alarm_actions:
      description: ARNs run on C(ALARM), sorted.
      type: list
      elements: str
      sample: [arn:aws:sns:us-east-1:123456789012:wedsync-production-alerts]
    ok_actions:
      description: ARNs run on C(OK), sorted.
      type: list
      elements: str
      sample: []
    insufficient_data_actions:
      description: ARNs run on C(INSUFFICIENT_DATA), sorted.
      type: list
      elements: str
      sample: []
    comparison:
      description: The comparison operator.
      type: str
      sample: GreaterThanThreshold
    threshold:
      description: The threshold.
      type: float
      sample: 0.5
    evaluation_periods:
      description: The periods evaluated.
      type: int
      sample: 5
    datapoints_to_alarm:
      description: The breaching periods that fire the alarm.
      type: int
      sample: 5
    treat_missing_data:
      description: How missing data is counted.
      type: str
      sample: notBreaching
    namespace:
      description: The metric's namespace; null for metric math.
      type: str
      sample: AWS/ApplicationELB
    metric_name:
      description: The metric's name; null for metric math.
      type: str
      sample: TargetResponseTime
    dimensions:
      description: The metric's dimensions; empty for metric math.
      type: dict
      sample: {"LoadBalancer": "app/wedsync-production-alb/50dc6c495c0c9188"}
    statistic:
      description: The statistic, or null.
      type: str
      sample: null
    extended_statistic:
      description: The percentile, or null.
      type: str
      sample: p95
    evaluate_low_sample_count_percentile:
      description: How periods with few samples are treated, or null.
      type: str
      sample: ignore
    period:
      description: The period in seconds; null for metric math.
      type: int
      sample: 60
    unit:
      description: The unit, or null.
      type: str
      sample: null
    metrics:
      description: The metric queries of a metric math alarm, sorted by id; empty otherwise.
      type: list
      elements: dict
      sample: [{"id": "error_rate", "expression": "100 * errors / requests", "label": null, "return_data": true,
                "period": null, "metric_stat": null}]
    tags:
      description: The alarm's tags.
      type: dict
      sample: {"Project": "wedsync"}
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list, compare_aws_tags
from ansible_collections.wedsync.platform.plugins.module_utils._cloudwatch import (
    delete_alarms,
    describe_metric_alarm,
    list_alarm_tags,
    put_metric_alarm,
    tag_alarm,
    untag_alarm,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

PERCENTILE_FIELDS = ("extended_statistic", "evaluate_low_sample_count_percentile")
SINGLE_METRIC_FIELDS = ("namespace", "metric_name", "statistic", "extended_statistic", "period", "unit")


# -- one canonical shape for what is asked and what CloudWatch describes ------------------------


def canonical_metric_stat(stat: dict[str, Any] | None) -> dict[str, Any] | None:
    if not stat:
        return None
    return {
        "namespace": stat["namespace"],
        "metric_name": stat["metric_name"],
        "dimensions": {k: str(v) for k, v in (stat.get("dimensions") or {}).items()},
        "period": stat["period"],
        "stat": stat["stat"],
        "unit": stat.get("unit"),
    }


def canonical_query(query: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": query["id"],
        "expression": query.get("expression"),
        "label": query.get("label"),
        "return_data": bool(query.get("return_data")),
        "period": query.get("period"),
        "metric_stat": canonical_metric_stat(query.get("metric_stat")),
    }


def desired_alarm(params: dict[str, Any]) -> dict[str, Any]:
    """The alarm the parameters ask for, in the shape current_alarm() gives CloudWatch's."""
    math = bool(params["metrics"])
    queries = [canonical_query(q) for q in params["metrics"] or []]
    return {
        "name": params["name"],
        "description": params["description"] or "",
        "actions_enabled": params["actions_enabled"],
        "alarm_actions": sorted(params["alarm_actions"]),
        "ok_actions": sorted(params["ok_actions"]),
        "insufficient_data_actions": sorted(params["insufficient_data_actions"]),
        "comparison": params["comparison"],
        "threshold": float(params["threshold"]),
        "evaluation_periods": params["evaluation_periods"],
        "datapoints_to_alarm": params["datapoints_to_alarm"] or params["evaluation_periods"],
        "treat_missing_data": params["treat_missing_data"],
        "namespace": None if math else params["namespace"],
        "metric_name": None if math else params["metric_name"],
        "dimensions": {} if math else {k: str(v) for k, v in (params["dimensions"] or {}).items()},
        "statistic": None if math else params["statistic"],
        "extended_statistic": None if math else params["extended_statistic"],
        "evaluate_low_sample_count_percentile": (
            params["evaluate_low_sample_count_percentile"] if params["extended_statistic"] and not math else None
        ),
        "period": None if math else params["period"],
        "unit": None if math else params["unit"],
        "metrics": sorted(queries, key=lambda q: q["id"]),
    }


def dimensions_from_api(dimensions: list[dict[str, str]] | None) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in dimensions or []}


def query_from_api(query: dict[str, Any]) -> dict[str, Any]:
    stat = query.get("MetricStat")
    return canonical_query(
        {
            "id": query["Id"],
            "expression": query.get("Expression"),
            "label": query.get("Label"),
            # CloudWatch takes an omitted ReturnData as true.
            "return_data": query.get("ReturnData", True),
            "period": query.get("Period"),
            "metric_stat": {
                "namespace": stat["Metric"]["Namespace"],
                "metric_name": stat["Metric"]["MetricName"],
                "dimensions": dimensions_from_api(stat["Metric"].get("Dimensions")),
                "period": stat["Period"],
                "stat": stat["Stat"],
                "unit": stat.get("Unit"),
            }
            if stat
            else None,
        }
    )


def current_alarm(api: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """CloudWatch's description of an alarm in the canonical shape, with its ARN and tags."""
    return {
        "name": api["AlarmName"],
        "arn": api["AlarmArn"],
        "description": api.get("AlarmDescription") or "",
        "actions_enabled": api.get("ActionsEnabled", True),
        "alarm_actions": sorted(api.get("AlarmActions", [])),
        "ok_actions": sorted(api.get("OKActions", [])),
        "insufficient_data_actions": sorted(api.get("InsufficientDataActions", [])),
        "comparison": api["ComparisonOperator"],
        "threshold": float(api["Threshold"]),
        "evaluation_periods": api["EvaluationPeriods"],
        "datapoints_to_alarm": api.get("DatapointsToAlarm") or api["EvaluationPeriods"],
        # Alarms made before TreatMissingData existed have none: CloudWatch treats that as "missing".
        "treat_missing_data": api.get("TreatMissingData") or "missing",
        "namespace": api.get("Namespace"),
        "metric_name": api.get("MetricName"),
        "dimensions": dimensions_from_api(api.get("Dimensions")),
        "statistic": api.get("Statistic"),
        "extended_statistic": api.get("ExtendedStatistic"),
        "evaluate_low_sample_count_percentile": api.get("EvaluateLowSampleCountPercentile") or None,
        "period": api.get("Period"),
        "unit": api.get("Unit"),
        "metrics": sorted((query_from_api(q) for q in api.get("Metrics") or []), key=lambda q: q["id"]),
        "tags": tags,
    }


def configuration(alarm: dict[str, Any]) -> dict[str, Any]:
    """What PutMetricAlarm sets: everything but the ARN and the tags."""
    return {k: v for k, v in alarm.items() if k not in ("arn", "tags")}


# -- the request --------------------------------------------------------------------------------


def dimensions_to_api(dimensions: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in dimensions.items()]


def query_to_api(query: dict[str, Any]) -> dict[str, Any]:
    api: dict[str, Any] = {"Id": query["id"], "ReturnData": query["return_data"]}
    if query["expression"]:
        api["Expression"] = query["expression"]
    if query["label"]:
        api["Label"] = query["label"]
    if query["period"]:
        api["Period"] = query["period"]
    stat = query["metric_stat"]
    if stat:
        api["MetricStat"] = {
            "Metric": {
                "Namespace": stat["namespace"],
                "MetricName": stat["metric_name"],
                "Dimensions": dimensions_to_api(stat["dimensions"]),
            },
            "Period": stat["period"],
            "Stat": stat["stat"],
            **({"Unit": stat["unit"]} if stat["unit"] else {}),
        }
    return api


def put_request(alarm: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "AlarmName": alarm["name"],
        "AlarmDescription": alarm["description"],
        "ActionsEnabled": alarm["actions_enabled"],
        "AlarmActions": alarm["alarm_actions"],
        "OKActions": alarm["ok_actions"],
        "InsufficientDataActions": alarm["insufficient_data_actions"],
        "ComparisonOperator": alarm["comparison"],
        "Threshold": alarm["threshold"],
        "EvaluationPeriods": alarm["evaluation_periods"],
        "DatapointsToAlarm": alarm["datapoints_to_alarm"],
        "TreatMissingData": alarm["treat_missing_data"],
    }
    if alarm["metrics"]:
        request["Metrics"] = [query_to_api(q) for q in alarm["metrics"]]
        return request
    request.update(
        {
            "Namespace": alarm["namespace"],
            "MetricName": alarm["metric_name"],
            "Dimensions": dimensions_to_api(alarm["dimensions"]),
            "Period": alarm["period"],
        }
    )
    optional = {
        "Statistic": alarm["statistic"],
        "ExtendedStatistic": alarm["extended_statistic"],
        "EvaluateLowSampleCountPercentile": alarm["evaluate_low_sample_count_percentile"],
        "Unit": alarm["unit"],
    }
    request.update({k: v for k, v in optional.items() if v})
    return request


def input_errors(params: dict[str, Any]) -> list[str]:
    """What CloudWatch would refuse, said before any call."""
    if params["state"] == "absent":
        return []
    errors = [
        f"{name} is required" for name in ("comparison", "threshold", "evaluation_periods") if params[name] is None
    ]
    if params["evaluation_periods"] is not None and params["evaluation_periods"] < 1:
        errors.append("evaluation_periods must be 1 or more")
    if params["datapoints_to_alarm"] is not None and not (
        1 <= params["datapoints_to_alarm"] <= (params["evaluation_periods"] or 0)
    ):
        errors.append("datapoints_to_alarm must be between 1 and evaluation_periods")
    if params["metrics"]:
        errors += metric_math_errors(params["metrics"])
    else:
        errors += single_metric_errors(params)
    return errors


def metric_math_errors(queries: list[dict[str, Any]]) -> list[str]:
    errors = []
    if sum(bool(q["return_data"]) for q in queries) != 1:
        errors.append("exactly one of metrics must have return_data true: the value the alarm compares")
    for q in queries:
        if bool(q["expression"]) == bool(q["metric_stat"]):
            errors.append(f"metrics id {q['id']}: give exactly one of expression and metric_stat")
    ids = [q["id"] for q in queries]
    if len(set(ids)) != len(ids):
        errors.append("metrics ids must be unique")
    return errors


def single_metric_errors(params: dict[str, Any]) -> list[str]:
    errors = [
        f"{name} is required without metrics" for name in ("namespace", "metric_name", "period") if not params[name]
    ]
    if bool(params["statistic"]) == bool(params["extended_statistic"]):
        errors.append("give exactly one of statistic and extended_statistic")
    if params["evaluate_low_sample_count_percentile"] and not params["extended_statistic"]:
        errors.append("evaluate_low_sample_count_percentile applies to extended_statistic only")
    return errors


# -- CloudWatch ---------------------------------------------------------------------------------


def read_alarm(client, name: str) -> dict[str, Any] | None:
    api = describe_metric_alarm(client, name)
    return current_alarm(api, list_alarm_tags(client, api["AlarmArn"])) if api else None


def ensure_present(module: WedSyncAWSModule, client, current: dict[str, Any] | None) -> tuple[bool, dict[str, Any]]:
    params = module.params
    wanted = desired_alarm(params)
    have_tags = current["tags"] if current else {}
    wanted_tags = have_tags if params["tags"] is None else params["tags"]
    to_set, to_unset = compare_aws_tags(have_tags, wanted_tags, params["purge_tags"])
    after_tags = {k: v for k, v in {**have_tags, **to_set}.items() if k not in to_unset}
    after = {**wanted, "arn": current["arn"] if current else "", "tags": after_tags}
    configure = current is None or configuration(current) != wanted
    changed = configure or bool(to_set or to_unset)
    if not changed or module.check_mode:
        return changed, after
    if current is None:
        put_metric_alarm(client, {**put_request(wanted), "Tags": ansible_dict_to_boto3_tag_list(after_tags)})
        return True, read_alarm(client, params["name"]) or after
    if configure:
        put_metric_alarm(client, put_request(wanted))
    # PutMetricAlarm ignores tags on an alarm that exists: they change only through these calls.
    if to_set:
        tag_alarm(client, current["arn"], to_set)
    if to_unset:
        untag_alarm(client, current["arn"], to_unset)
    return True, read_alarm(client, params["name"]) or after


def main() -> None:
    metric_stat = {
        "namespace": {"type": "str", "required": True},
        "metric_name": {"type": "str", "required": True},
        "dimensions": {"type": "dict", "default": {}},
        "period": {"type": "int", "required": True},
        "stat": {"type": "str", "required": True},
        "unit": {"type": "str"},
    }
    query = {
        "id": {"type": "str", "required": True},
        "expression": {"type": "str"},
        "label": {"type": "str"},
        "return_data": {"type": "bool", "default": False},
        "period": {"type": "int"},
        "metric_stat": {"type": "dict", "options": metric_stat},
    }
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "description": {"type": "str", "default": ""},
        "actions_enabled": {"type": "bool", "default": True},
        "alarm_actions": {"type": "list", "elements": "str", "default": []},
        "ok_actions": {"type": "list", "elements": "str", "default": []},
        "insufficient_data_actions": {"type": "list", "elements": "str", "default": []},
        "comparison": {
            "type": "str",
            "choices": [
                "GreaterThanOrEqualToThreshold",
                "GreaterThanThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ],
        },
        "threshold": {"type": "float"},
        "evaluation_periods": {"type": "int"},
        "datapoints_to_alarm": {"type": "int"},
        "treat_missing_data": {
            "type": "str",
            "default": "missing",
            "choices": ["breaching", "notBreaching", "ignore", "missing"],
        },
        "namespace": {"type": "str"},
        "metric_name": {"type": "str"},
        "dimensions": {"type": "dict", "default": {}},
        "statistic": {"type": "str", "choices": ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]},
        "extended_statistic": {"type": "str"},
        "evaluate_low_sample_count_percentile": {"type": "str", "choices": ["evaluate", "ignore"]},
        "period": {"type": "int"},
        "unit": {"type": "str"},
        "metrics": {"type": "list", "elements": "dict", "options": query},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["metrics", field] for field in SINGLE_METRIC_FIELDS],
        supports_check_mode=True,
    )
    errors = input_errors(module.params)
    if errors:
        module.fail_json(msg=f"Alarm {module.params['name']}: " + "; ".join(errors))

    client = module.client("cloudwatch")
    try:
        current = read_alarm(client, module.params["name"])
        if module.params["state"] == "absent":
            changed, after = current is not None, {}
            if changed and not module.check_mode:
                delete_alarms(client, [module.params["name"]])
        else:
            changed, after = ensure_present(module, client, current)
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)

    module.exit_json(changed=changed, alarm=after, diff={"before": current or {}, "after": after})


if __name__ == "__main__":
    main()
