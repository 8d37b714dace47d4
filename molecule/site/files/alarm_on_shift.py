"""Set a CloudWatch alarm to ALARM the moment a listener sends traffic to a target group.

    python alarm_on_shift.py LOAD_BALANCER PORT TARGET_GROUP ALARM [TIMEOUT]

The deploy scenario runs it in the background to make an alarm fire during a canary step's
observation, whatever time the steps before it took. Exits 0 once the alarm is set, 1 on timeout.
"""

from __future__ import annotations

import sys
import time

import boto3


def weight(elb, listener_arn: str, target_group_arn: str) -> int:
    action = elb.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
        {"TargetGroupArn": action.get("TargetGroupArn")}
    ]
    return sum(int(g.get("Weight", 1)) for g in groups if g["TargetGroupArn"] == target_group_arn)


def main(balancer: str, port: str, target_group: str, alarm: str, timeout: str = "300") -> int:
    elb = boto3.client("elbv2")
    balancer_arn = elb.describe_load_balancers(Names=[balancer])["LoadBalancers"][0]["LoadBalancerArn"]
    listener = next(
        li for li in elb.describe_listeners(LoadBalancerArn=balancer_arn)["Listeners"] if li["Port"] == int(port)
    )
    group_arn = elb.describe_target_groups(Names=[target_group])["TargetGroups"][0]["TargetGroupArn"]
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        if weight(elb, listener["ListenerArn"], group_arn) > 0:
            boto3.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="canary errors")
            return 0
        time.sleep(0.2)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
