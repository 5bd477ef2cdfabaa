"""The part of AgentDojo the replay uses, behind typed names: the package ships no type hints.

Only this module imports ``agentdojo``. What it relies on (agentdojo 0.1.35):

- ``get_suites(version)``: the suites of a benchmark version; each has ``name``, ``tools`` (``Function``
  records: ``name``, ``description``, a pydantic ``parameters`` model), ``user_tasks``,
  ``injection_tasks`` and ``load_and_inject_default_environment(injections)``, which formats the
  suite's ``environment.yaml`` with the injection vectors (a vector not given keeps its default text);
  ``DojoSuite.environment`` does the same with libyaml's parser.
- a task's ``ground_truth(environment)``: the list of ``FunctionCall`` (``function``, ``args``) that
  solves it, computed from the environment before any call runs; ``GROUND_TRUTH_OUTPUT``: the answer
  text that goes with it; ``init_environment``: the task's own set-up, applied before the run.
- scoring as ``TaskSuite._check_task_result`` does it: ``utility_from_traces`` (resp.
  ``security_from_traces``) when it returns a verdict, otherwise ``utility(output, pre, post)`` (resp.
  ``security``), with the default ``strict=True``.
- ``FunctionsRuntime(tools).run_function(env, name, args)`` -> ``(result, error)``, and
  ``tool_result_to_str``: the YAML rendering the default tool executor gives a model.
- ``FixedJailbreakAttack.attack(user_task, injection_task)``: the injection texts at the vectors the
  user task's ground truth reaches (``get_injection_candidates`` runs that ground truth on an
  environment of canaries and keeps the vectors whose canary shows up in the conversation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module, metadata
from typing import Any

# agentdojo ships no type hints and is an optional extra: its modules are loaded by name, so mypy checks
# this module alike with or without it installed, and what comes from them is ``Any``.
_ground_truth_pipeline = import_module("agentdojo.agent_pipeline.ground_truth_pipeline")
_tool_execution = import_module("agentdojo.agent_pipeline.tool_execution")
_base_attacks = import_module("agentdojo.attacks.base_attacks")
_important_instructions = import_module("agentdojo.attacks.important_instructions_attacks")
_functions_runtime = import_module("agentdojo.functions_runtime")
_load_suites = import_module("agentdojo.task_suite.load_suites")
_task_suite = import_module("agentdojo.task_suite.task_suite")
_yaml = import_module("yaml")
# libyaml's parser when PyYAML was built with it: the same documents as the pure-Python SafeLoader
# AgentDojo uses, four times faster on these environments (the replay loads one per attack).
_YAML_LOADER = getattr(_yaml, "CSafeLoader", _yaml.SafeLoader)

__all__ = [
    "ATTACK_USER_NAME",
    "BENCHMARK_VERSION",
    "Call",
    "DojoSuite",
    "Environment",
    "InjectionTask",
    "ToolInfo",
    "UserTask",
    "agentdojo_version",
    "load_suites",
]

# The default of ``--benchmark-version`` in agentdojo 0.1.35 (``agentdojo/scripts/benchmark.py``).
BENCHMARK_VERSION = "v1.2.2"
# The victim user the ``important_instructions`` attack signs its injections with; with no model in the
# loop the model is addressed by AgentDojo's default name ("the AI language model").
ATTACK_USER_NAME = "Emma Johnson"


def agentdojo_version() -> str:
    return metadata.version("agentdojo")


class Environment:
    """An AgentDojo task environment (a pydantic model), opaque to the replay."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def copy(self) -> Environment:
        return Environment(self.raw.model_copy(deep=True))


@dataclass(frozen=True)
class Call:
    """One tool call of a ground truth; ``raw`` is AgentDojo's ``FunctionCall``, kept for the traces."""

    function: str
    args: Mapping[str, object]
    raw: Any

    @classmethod
    def of(cls, raw: Any) -> Call:
        return cls(function=str(raw.function), args=dict(raw.args), raw=raw)


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str
    # argument name -> JSON Schema type (or "any"), with "?" after the name of an optional one
    parameters: dict[str, str]


def _traces(calls: Sequence[Call]) -> list[Any]:
    return [c.raw for c in calls]


def _verdict(by_traces: Any, fallback: Any) -> bool:
    return bool(fallback()) if by_traces is None else bool(by_traces)


class UserTask:
    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.id = str(raw.ID)
        self.prompt = str(raw.PROMPT)
        self.ground_truth_output = str(raw.GROUND_TRUTH_OUTPUT)

    def prepare(self, environment: Environment) -> Environment:
        return Environment(self._raw.init_environment(environment.raw))

    def ground_truth(self, environment: Environment) -> list[Call]:
        return [Call.of(c) for c in self._raw.ground_truth(environment.raw)]

    def utility(self, output: str, pre: Environment, post: Environment, traces: Sequence[Call]) -> bool:
        by_traces = self._raw.utility_from_traces(output, pre.raw, post.raw, _traces(traces))
        return _verdict(by_traces, lambda: self._raw.utility(output, pre.raw, post.raw))

    @property
    def raw(self) -> Any:
        return self._raw


class InjectionTask:
    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.id = str(raw.ID)
        self.goal = str(raw.GOAL)
        self.ground_truth_output = str(raw.GROUND_TRUTH_OUTPUT)

    def ground_truth(self, environment: Environment) -> list[Call]:
        return [Call.of(c) for c in self._raw.ground_truth(environment.raw)]

    def security(self, output: str, pre: Environment, post: Environment, traces: Sequence[Call]) -> bool:
        """True when the attacker's goal was reached."""
        by_traces = self._raw.security_from_traces(output, pre.raw, post.raw, _traces(traces))
        return _verdict(by_traces, lambda: self._raw.security(output, pre.raw, post.raw))

    @property
    def raw(self) -> Any:
        return self._raw


def _json_types(spec: Mapping[str, Any], defs: Mapping[str, Any]) -> list[str]:
    if "$ref" in spec:  # "#/$defs/Name": an enum or a nested model
        return _json_types(defs.get(str(spec["$ref"]).rsplit("/", 1)[-1], {}), defs)
    if "type" in spec:
        return [str(spec["type"])]
    alternatives = [*spec.get("anyOf", ()), *spec.get("allOf", ())]
    return [t for alt in alternatives for t in _json_types(alt, defs)] or ["any"]


def _parameters(schema: Mapping[str, Any]) -> dict[str, str]:
    required = set(schema.get("required", ()))
    defs = schema.get("$defs", {})
    return {
        name if name in required else f"{name}?": "|".join(_json_types(spec, defs))
        for name, spec in schema.get("properties", {}).items()
    }


class DojoSuite:
    """One task suite with its tools runtime and the ``important_instructions`` attack template."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.name = str(raw.name)
        self._runtime = _functions_runtime.FunctionsRuntime(raw.tools)
        self.tool_names = frozenset(str(t.name) for t in raw.tools)
        self._vector_defaults = {str(k): str(v) for k, v in raw.get_injection_vector_defaults().items()}
        self.user_tasks = {str(k): UserTask(v) for k, v in raw.user_tasks.items()}
        self.injection_tasks = {str(k): InjectionTask(v) for k, v in raw.injection_tasks.items()}
        template = _important_instructions.ImportantInstructionsAttack._JB_STRING
        pipeline = _ground_truth_pipeline.GroundTruthPipeline(None)
        attack = _base_attacks.FixedJailbreakAttack(template, raw, pipeline)
        attack.user_name = ATTACK_USER_NAME
        attack.model_name = _base_attacks.DEFAULT_MODEL_NAME
        self._attack = attack

    @property
    def raw(self) -> Any:
        return self._raw

    @property
    def tools(self) -> list[ToolInfo]:
        return [
            ToolInfo(
                name=str(t.name),
                description=str(t.description),
                parameters=_parameters(t.parameters.model_json_schema()),
            )
            for t in self._raw.tools
        ]

    def environment(self, injections: Mapping[str, str] | None = None) -> Environment:
        """The default environment, with ``injections`` (vector id -> text) at those vectors.

        What ``TaskSuite.load_and_inject_default_environment`` does, parsed by ``_YAML_LOADER``.
        """
        given = dict(injections or {})
        _task_suite.validate_injections(given, self._vector_defaults)
        text = str(_task_suite.read_suite_file(self.name, "environment.yaml", self._raw.data_path))
        document = _yaml.load(text.format(**{**self._vector_defaults, **given}), Loader=_YAML_LOADER)
        return Environment(self._raw.environment_type.model_validate(document))

    def injections(self, user_task: UserTask, injection_task: InjectionTask) -> dict[str, str]:
        """The attack's texts at the vectors ``user_task`` reaches; empty when it reaches none."""
        try:
            found = self._attack.attack(user_task.raw, injection_task.raw)
        except ValueError:  # AgentDojo's way of saying the task is not injectable
            return {}
        return {str(k): str(v) for k, v in found.items()}

    def run(self, environment: Environment, call: Call) -> tuple[str, str | None]:
        """Run ``call`` in ``environment`` (mutating it): the result as a model reads it, and the error."""
        result, error = self._runtime.run_function(environment.raw, call.function, dict(call.args))
        if error is not None:
            return str(error), str(error)
        return str(_tool_execution.tool_result_to_str(result)), None


def load_suites(version: str = BENCHMARK_VERSION, names: Sequence[str] = ()) -> list[DojoSuite]:
    """The suites of ``version`` (all of them, or those ``names``), in AgentDojo's order."""
    suites: Mapping[str, Any] = _load_suites.get_suites(version)
    if unknown := sorted(set(names) - set(suites)):
        raise KeyError(f"no suite {unknown} in AgentDojo {version}; known: {sorted(suites)}")
    return [DojoSuite(s) for n, s in suites.items() if not names or n in names]
