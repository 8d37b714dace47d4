# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An AWX job template's survey, made from the argument spec of the role entry point it runs.

One question per option a person can answer in a form; the others are left out with the reason, so that
the survey and the argument spec cannot drift apart (the configuration is generated, never written by hand):

- an option whose default is a template (``{{ wedsync_region }}``) comes from the inventory, and a survey
  answer would override the inventory for every host;
- a ``dict``, or a ``list`` of ``dict``, has no form field: it stays in the template's extra vars.

Types map as the command line gives them: a survey answer is a string like ``-e name=value`` is, and the
roles' argument specs accept ``true``/``false`` and comma-separated lists from there already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# AWX's own limit on a text answer, which it applies when a question states none.
TEXT_MAX_LENGTH = 1024
BOOLEAN_CHOICES = ["true", "false"]
# ansible-doc markup in descriptions: C(x), O(x), V(x), M(x), I(x), B(x), U(x), L(text, url).
_MARKUP = re.compile(r"\b[COVMIBU]\(([^()]*)\)|\bL\(([^,()]*),[^()]*\)")


def plain(text: Any) -> str:
    """A description (a string or a list of paragraphs) without ansible-doc markup, on one line."""
    paragraphs = text if isinstance(text, list) else [text or ""]
    joined = " ".join(str(paragraph).strip() for paragraph in paragraphs)
    return _MARKUP.sub(lambda match: match[1] or match[2], joined).strip()


def leave_out_reason(option: Mapping[str, Any]) -> str | None:
    """Why an option has no question in the survey, or None when it has one."""
    default = option.get("default")
    if any(isinstance(value, str) and "{{" in value for value in (default if isinstance(default, list) else [default])):
        return "its default comes from the inventory; an answer would override the inventory"
    kind = option.get("type", "str")
    if kind == "dict" or (kind == "list" and option.get("elements") == "dict"):
        return "a structured value has no form field; set it in the template's extra_vars"
    return None


def _label(name: str, prefix: str) -> str:
    words = name.removeprefix(prefix).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def answer(option: Mapping[str, Any], value: Any) -> Any:
    """``value`` as the survey gives it for ``option``: what ``-e name=<answer>`` would say."""
    kind = option.get("type", "str")
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "list":
        # A multiselect's default is its choices one per line, as AWX stores it; a text list, as -e takes it.
        return ("\n" if option.get("choices") else ",").join(str(element) for element in value)
    return value


def question(name: str, option: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The survey question for one option of the argument spec."""
    kind = option.get("type", "str")
    asked: dict[str, Any] = {
        "question_name": _label(name, prefix),
        "question_description": plain(option.get("description")),
        "variable": name,
        "required": bool(option.get("required", False)),
        "default": answer(option, option.get("default")),
    }
    if option.get("choices"):
        multiple = kind == "list"
        asked["type"] = "multiselect" if multiple else "multiplechoice"
        asked["choices"] = [str(choice) for choice in option["choices"]]
    elif kind == "bool":
        asked["type"] = "multiplechoice"
        asked["choices"] = BOOLEAN_CHOICES
    elif kind == "int":
        asked["type"] = "integer"
    elif kind == "float":
        asked["type"] = "float"
    else:
        asked["type"] = "password" if option.get("no_log") else "text"
        asked.update(min=0, max=TEXT_MAX_LENGTH)
    if asked["type"] == "password":
        # AWX keeps a password question's default encrypted; a secret never has a default in the repo.
        asked["default"] = ""
    return asked


def survey(
    specs: Mapping[str, Any], entry_point: str, prefix: str, extra: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The survey for ``entry_point`` of a role's ``argument_specs``, and the options left out with why.

    ``extra`` adds options of another role the run takes too (the runbook role's ``runbook_take_over``),
    asked after the entry point's own; ``prefix`` is taken off variable names to label the questions.
    """
    try:
        entry = specs["argument_specs"][entry_point]
    except KeyError:
        raise ValueError(f"the argument spec has no entry point {entry_point!r}") from None
    options = {**entry.get("options", {}), **(extra or {})}
    questions, left_out = [], {}
    for name, option in options.items():
        reason = leave_out_reason(option)
        if reason:
            left_out[name] = reason
        else:
            questions.append(question(name, option, prefix))
    spec = {"name": entry.get("short_description", entry_point), "description": "", "spec": questions}
    return spec, left_out


# What an awx/ template entry says beyond AWX's own fields (behind_approval: see awx_workflow.py).
OUR_KEYS = ("runbook", "entry_point", "changes_production", "behind_approval")
# Set by each runbook's playbook, never by the person launching it.
SET_BY_PLAYBOOK = ("runbook_role", "runbook_action")


def job_template(
    template: Mapping[str, Any],
    action_specs: Mapping[str, Any],
    runbook_specs: Mapping[str, Any],
    values: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``awx.awx.job_template`` parameters of an ``awx/`` template entry, with its survey.

    The entry names its ``runbook`` role and ``entry_point``, and whether it ``changes_production``
    (then ``allow_simultaneous`` is false); its survey asks that entry point's options
    and the runbook role's own (``runbook_take_over``, ...). ``values`` are the variables of a host of the
    template's inventory: an answer is an extra var and overrides the inventory, so a question that the
    inventory already answers defaults to the inventory's value (production's canary steps, not the
    role's default). Returns the parameters and the options left out of the survey, with why.
    """
    params = {key: value for key, value in template.items() if key not in OUR_KEYS}
    role, entry_point = template["runbook"], template["entry_point"]
    # A template that changes production runs one job at a time; the journal refuses others anyway.
    params["allow_simultaneous"] = not template["changes_production"]
    runbook_options = runbook_specs["argument_specs"]["main"].get("options", {})
    extra = {name: option for name, option in runbook_options.items() if name not in SET_BY_PLAYBOOK}
    spec, left_out = survey(action_specs, entry_point, f"{role}_", extra)
    options = {**action_specs["argument_specs"][entry_point].get("options", {}), **extra}
    for asked in spec["spec"]:
        name = asked["variable"]
        if name in values and asked["type"] != "password":
            asked["default"] = answer(options[name], values[name])
    params.update(survey_enabled=bool(spec["spec"]), survey_spec=spec)
    return params, left_out


def job_templates(
    templates: list[Mapping[str, Any]],
    specs: Mapping[str, Mapping[str, Any]],
    values_by_inventory: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Every ``awx/`` template entry as ``awx.awx.job_template`` parameters, in their order.

    ``specs`` maps each runbook role the entries name, and ``runbook``, to its parsed
    ``meta/argument_specs.yml``; ``values_by_inventory`` maps each inventory the entries run on to the
    variables of a host of it. A ``ValueError`` names the entry it is about.
    """
    rendered = []
    for template in templates:
        try:
            params, _ = job_template(
                template, specs[template["runbook"]], specs["runbook"], values_by_inventory[template["inventory"]]
            )
        except KeyError as error:
            raise ValueError(f"{template.get('name')}: nothing known of {error}") from None
        except ValueError as error:
            raise ValueError(f"{template.get('name')}: {error}") from None
        rendered.append(params)
    return rendered
