#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: e2e_journey
version_added: 0.1.0
short_description: Make the synthetic user journey of the end-to-end check through the public path
description:
  - Writes a probe through the site's public address (C(POST /api/e2e/probes), a row in the primary database
    and a key in Redis), reads it back O(reads) times (C(GET /api/e2e/probes/<id>)), deletes it
    (C(DELETE)) and asks for it once more, which must answer 404. Each request is timed in milliseconds.
  - The probe is deleted even when a step before fails; a probe that could not be deleted is reported in
    RV(cleaned_up), and its cache key expires by itself within the hour.
  - Returns facts, no verdicts; the runbook grades them (the seed's response-time target, severities).
  - Written because M(ansible.builtin.uri) times a request in whole seconds, too coarse for a 200 ms target,
    and a journey of several requests must clean up after itself whichever one fails.
options:
  url:
    description:
      - The site's public base URL, as users reach it, e.g. C(https://wedsync.com).
    type: str
    required: true
  reads:
    description: How many times the probe is read back; each read is one more response time.
    type: int
    default: 20
  probe_id:
    description:
      - The probe's id, 8 to 64 letters, digits or dashes; a new random one when omitted.
    type: str
  timeout:
    description: Seconds each request may take.
    type: float
    default: 10.0
  validate_certs:
    description: Whether the TLS certificate of O(url) is verified.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the probe is only read, O(reads) times, and must not be found.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The probe's value is a random token, not a secret.
author:
  - WedSync SRE (@wedsync)
extends_documentation_fragment: [ansible.builtin.action_common_attributes]
"""

EXAMPLES = r"""
- name: The journey through production's public address
  wedsync.platform.e2e_journey:
    url: https://wedsync.com
  register: journey

- name: Its findings, with the seed's severities
  ansible.builtin.debug:
    msg: "{{ journey | wedsync.platform.e2e_findings(200) }}"
"""

RETURN = r"""
url:
  description: The base URL the journey went through.
  returned: always
  type: str
  sample: https://wedsync.com
probe_id:
  description: The probe's id.
  returned: always
  type: str
  sample: e2e-3f9a61c2d04b7e15
value:
  description: What the journey wrote; null in check mode.
  returned: always
  type: str
  sample: 9c1e4b7a2f6d3e80
steps:
  description: Each request in the order made.
  returned: always
  type: list
  elements: dict
  contains:
    step:
      description: V(write), V(read), V(delete) or V(gone) (the read after the delete).
      type: str
      sample: read
    method:
      description: The HTTP method.
      type: str
      sample: GET
    path:
      description: The path requested.
      type: str
      sample: /api/e2e/probes/e2e-3f9a61c2d04b7e15
    status:
      description: The HTTP status; null when no answer came.
      type: int
      sample: 200
    ms:
      description: Milliseconds from sending the request to reading the whole answer.
      type: float
      sample: 41.7
    database:
      description: For a read, the value the app read from the primary database.
      type: str
      sample: 9c1e4b7a2f6d3e80
    cache:
      description: For a read, the value the app read from Redis.
      type: str
      sample: 9c1e4b7a2f6d3e80
    error:
      description: Why there was no answer, or the app's error; null otherwise.
      type: str
      sample: null
cleaned_up:
  description: Whether the probe is gone after the journey (true in check mode, which writes nothing).
  returned: always
  type: bool
  sample: true
"""

import json
import re
import secrets
import time
from typing import Any
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

PROBE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
PROBES_PATH = "/api/e2e/probes"


class Journey:
    def __init__(self, module: AnsibleModule, probe_id: str) -> None:
        self.module = module
        self.base = module.params["url"].rstrip("/")
        self.probe_id = probe_id
        self.steps: list[dict[str, Any]] = []

    def request(self, step: str, method: str, path: str, payload: dict[str, str] | None = None) -> dict[str, Any]:
        data = json.dumps(payload) if payload is not None else None
        record: dict[str, Any] = {"step": step, "method": method, "path": path, "status": None, "error": None}
        started = time.perf_counter()
        try:
            response = open_url(
                self.base + path,
                method=method,
                data=data,
                headers={"Content-Type": "application/json"} if data else None,
                timeout=self.module.params["timeout"],
                validate_certs=self.module.params["validate_certs"],
                follow_redirects="none",
            )
            record["status"], body = response.status, response.read()
        except HTTPError as error:
            record["status"], body = error.code, error.read()
        except (URLError, OSError) as error:
            body = b""
            record["error"] = str(getattr(error, "reason", error))
        record["ms"] = round((time.perf_counter() - started) * 1000, 1)
        self._read_body(record, body)
        self.steps.append(record)
        return record

    @staticmethod
    def _read_body(record: dict[str, Any], body: bytes) -> None:
        try:
            answer = json.loads(body) if body else {}
        except ValueError:
            answer = {}
        if record["step"] == "read":
            record["database"], record["cache"] = answer.get("database"), answer.get("cache")
        if record["status"] is not None and record["status"] >= 400 and answer.get("error"):
            record["error"] = str(answer["error"])

    def run(self, reads: int, value: str | None) -> bool:
        """The journey; True when the probe is gone at its end."""
        probe_path = f"{PROBES_PATH}/{self.probe_id}"
        if value is None:
            for _ in range(reads):
                self.request("read", "GET", probe_path)
            return True
        try:
            if self.request("write", "POST", PROBES_PATH, {"id": self.probe_id, "value": value})["status"] == 201:
                for _ in range(reads):
                    self.request("read", "GET", probe_path)
        finally:
            # Even after a failed write: the row may be in the database though the cache refused the key.
            self.request("delete", "DELETE", probe_path)
        return self.request("gone", "GET", probe_path)["status"] == 404


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "reads": {"type": "int", "default": 20},
            "probe_id": {"type": "str"},
            "timeout": {"type": "float", "default": 10.0},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    probe_id = module.params["probe_id"] or f"e2e-{secrets.token_hex(8)}"
    if not PROBE_ID.match(probe_id):
        module.fail_json(msg=f"probe_id {probe_id!r} must be 8 to 64 letters, digits or dashes")
    if module.params["reads"] < 1:
        module.fail_json(msg=f"reads must be at least 1, not {module.params['reads']}")
    value = None if module.check_mode else secrets.token_hex(8)
    journey = Journey(module, probe_id)
    cleaned_up = journey.run(module.params["reads"], value)
    module.exit_json(
        changed=not cleaned_up,
        url=journey.base,
        probe_id=probe_id,
        value=value,
        steps=journey.steps,
        cleaned_up=cleaned_up,
    )


if __name__ == "__main__":
    main()
