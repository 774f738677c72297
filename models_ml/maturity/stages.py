"""CRM maturity stage rules: measured evidence -> the stage (1..5) of each capability and of the organisation,
the evidence behind each, the gaps to the next stage and the plain-language actions that close them.

The stages, the evidence catalogue and every threshold live in `stages.yaml` beside this file (or a copy the
user edits); this module only applies them. Pure: a dict of evidence values in, frozen results and DataFrames
out.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models_ml.maturity.yamlfile import Located, MaturityFileError, new_id, read_yaml
from models_ml.maturity.yamlfile import located_error as _fail

DEFAULT_STAGES_PATH = Path(__file__).with_name("stages.yaml")
STAGES = (1, 2, 3, 4, 5)
UNITS = ("count", "share", "score", "ratio", "flag")
# test name -> (comparison, how a requirement reads)
TESTS = {
    "at_least": (operator.ge, "at least"),
    "at_most": (operator.le, "at most"),
    "above": (operator.gt, "above"),
    "below": (operator.lt, "below"),
    "is": (operator.eq, "is"),
}


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    description: str


@dataclass(frozen=True)
class EvidenceSpec:
    key: str
    label: str
    unit: str


@dataclass(frozen=True)
class Test:
    evidence: str
    test: str
    threshold: float | bool

    def holds(self, value: object) -> bool:
        """Whether the measured value passes; an unmeasured value (None, NaN) never does."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.test == "is":
            return bool(value) is self.threshold
        return bool(TESTS[self.test][0](float(value), float(self.threshold)))


@dataclass(frozen=True)
class Criterion:
    tests: tuple[Test, ...]  # any one of them must hold
    action: str

    def met(self, evidence: Mapping[str, object]) -> bool:
        return any(t.holds(evidence.get(t.evidence)) for t in self.tests)


@dataclass(frozen=True)
class Capability:
    id: str
    name: str
    central_stage: int
    levels: Mapping[int, tuple[Criterion, ...]]  # stage 2..5 -> criteria


@dataclass(frozen=True)
class StageRules:
    stages: Mapping[int, Stage]
    evidence: Mapping[str, EvidenceSpec]
    capabilities: tuple[Capability, ...]
    path: Path

    def stage_name(self, number: int | None) -> str | None:
        return None if number is None else self.stages[number].name

    def requirement(self, criterion: Criterion) -> str:
        """`Label at least 0.8`, alternatives joined with `or`."""
        parts = []
        for t in criterion.tests:
            spec = self.evidence[t.evidence]
            threshold = ("yes" if t.threshold else "no") if t.test == "is" else format_value(t.threshold, spec.unit)
            parts.append(f"{spec.label} {TESTS[t.test][1]} {threshold}")
        return " or ".join(parts)


# ------------------------------------------------------------------------------------------------ loading
def _text(node: Located, key: str, path: Path, where: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, node.line_of(key), f"{where}: `{key}` must be a non-empty text")
    return " ".join(value.split())


def _test(node: Located, path: Path, where: str, evidence: Mapping[str, EvidenceSpec]) -> Test:
    key = node.get("evidence")
    if key not in evidence:
        raise _fail(path, node.line_of("evidence"), f"{where}: evidence {key!r} is not in the evidence catalogue "
                    f"(known: {', '.join(evidence)})")
    tests = [name for name in TESTS if name in node]
    if len(tests) != 1:
        raise _fail(path, node.line, f"{where}: give exactly one of {', '.join(TESTS)} for {key}")
    test, threshold = tests[0], node[tests[0]]
    unit = evidence[key].unit
    if test == "is":
        if not isinstance(threshold, bool) or unit != "flag":
            raise _fail(path, node.line_of(test), f"{where}: `is` needs a flag evidence and true/false, got "
                        f"{key} ({unit}) is {threshold!r}")
    elif isinstance(threshold, bool) or not isinstance(threshold, int | float) or unit == "flag":
        raise _fail(path, node.line_of(test), f"{where}: `{test}` needs a number and a numeric evidence, got "
                    f"{key} ({unit}) {test} {threshold!r}")
    unknown = set(node) - {"evidence", test, "action"}
    if unknown:
        raise _fail(path, node.line, f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    return Test(key, test, threshold if test == "is" else float(threshold))


def _criterion(node: object, path: Path, where: str, evidence: Mapping[str, EvidenceSpec]) -> Criterion:
    if not isinstance(node, Located):
        raise MaturityFileError(f"{path}: {where}: each criterion must be a mapping, got {node!r}")
    action = _text(node, "action", path, where)
    if "any_of" in node:
        options = node["any_of"]
        if not isinstance(options, list) or len(options) < 2:
            raise _fail(path, node.line_of("any_of"), f"{where}: `any_of` must list two or more criteria")
        if set(node) != {"any_of", "action"}:
            raise _fail(path, node.line, f"{where}: a criterion with `any_of` takes only `any_of` and `action`")
        tests = []
        for option in options:
            if not isinstance(option, Located):
                raise _fail(path, node.line_of("any_of"), f"{where}: each `any_of` entry must be a mapping")
            tests.append(_test(option, path, where, evidence))
        return Criterion(tuple(tests), action)
    return Criterion((_test(node, path, where, evidence),), action)


def load_stage_rules(path: Path = DEFAULT_STAGES_PATH) -> StageRules:
    """Read and check a stage rules file; errors name the file, line and what is wrong."""
    path = Path(path)
    doc = read_yaml(path)
    for key in ("stages", "evidence", "capabilities"):
        if key not in doc:
            raise _fail(path, 1, f"missing top-level `{key}`")
    unknown = set(doc) - {"stages", "evidence", "capabilities"}
    if unknown:
        raise _fail(path, doc.line_of(sorted(unknown)[0]), f"unknown top-level key(s) {', '.join(sorted(unknown))}")

    raw_stages = doc["stages"]
    if not isinstance(raw_stages, Located) or set(raw_stages) != set(STAGES):
        raise _fail(path, doc.line_of("stages"), "`stages` must describe exactly the stages 1, 2, 3, 4 and 5")
    stages = {}
    for number in STAGES:
        node = raw_stages[number]
        if not isinstance(node, Located):
            raise _fail(path, raw_stages.line_of(number), f"stage {number} must have a name and a description")
        where = f"stage {number}"
        stages[number] = Stage(number, _text(node, "name", path, where), _text(node, "description", path, where))

    raw_evidence = doc["evidence"]
    if not isinstance(raw_evidence, Located) or not raw_evidence:
        raise _fail(path, doc.line_of("evidence"), "`evidence` must map evidence keys to a label and a unit")
    evidence = {}
    for key, node in raw_evidence.items():
        where = f"evidence {key}"
        if not isinstance(node, Located):
            raise _fail(path, raw_evidence.line_of(key), f"{where}: give a label and a unit")
        if set(node) != {"label", "unit"}:
            raise _fail(path, raw_evidence.line_of(key), f"{where}: give exactly a label and a unit, got "
                        f"{', '.join(map(str, node))} (quote a label that has a comma)")
        unit = node.get("unit")
        if unit not in UNITS:
            raise _fail(path, raw_evidence.line_of(key), f"{where}: unit {unit!r} is not one of {', '.join(UNITS)}")
        evidence[str(key)] = EvidenceSpec(str(key), _text(node, "label", path, where), unit)

    raw_caps = doc["capabilities"]
    if not isinstance(raw_caps, list) or not raw_caps:
        raise _fail(path, doc.line_of("capabilities"), "`capabilities` must be a list of capabilities")
    capabilities, seen = [], set()
    for node in raw_caps:
        if not isinstance(node, Located):
            raise _fail(path, doc.line_of("capabilities"), "each capability must be a mapping")
        cap_id = new_id(node, seen, path, "capability")
        where = f"capability {cap_id}"
        central = node.get("central_stage")
        if central not in STAGES[1:] or isinstance(central, bool):
            raise _fail(path, node.line_of("central_stage"), f"{where}: central_stage must be 2, 3, 4 or 5")
        levels = node.get("levels")
        if not isinstance(levels, Located) or set(levels) != set(STAGES[1:]):
            raise _fail(path, node.line_of("levels"), f"{where}: `levels` must give criteria for stages 2, 3, 4 and 5")
        parsed = {}
        for stage in STAGES[1:]:
            criteria = levels[stage]
            if not isinstance(criteria, list) or not criteria:
                raise _fail(path, levels.line_of(stage), f"{where}, stage {stage}: give a list of criteria")
            parsed[stage] = tuple(_criterion(c, path, f"{where}, stage {stage}", evidence) for c in criteria)
        capabilities.append(Capability(cap_id, _text(node, "name", path, where), central, parsed))
    return StageRules(stages, evidence, tuple(capabilities), path)


# ------------------------------------------------------------------------------------------------ assessing
@dataclass(frozen=True)
class CriterionResult:
    capability: str
    stage: int  # the stage this criterion is needed for
    requirement: str
    evidence: tuple[str, ...]
    met: bool
    action: str


@dataclass(frozen=True)
class CapabilityResult:
    id: str
    name: str
    central_stage: int
    stage: int
    criteria: tuple[CriterionResult, ...]  # every level's

    @property
    def gaps(self) -> tuple[CriterionResult, ...]:
        """What stops the next stage: its unmet criteria (none at stage 5)."""
        return tuple(c for c in self.criteria if c.stage == self.stage + 1 and not c.met)


@dataclass(frozen=True)
class Assessment:
    capabilities: tuple[CapabilityResult, ...]
    stage: int
    gaps: tuple[CriterionResult, ...]  # what stands between the overall stage and the next one

    def capability(self, cap_id: str) -> CapabilityResult:
        return next(c for c in self.capabilities if c.id == cap_id)


def capability_stage(results: tuple[CriterionResult, ...]) -> int:
    """The highest stage whose criteria, and those of every stage below it, all hold (1 if stage 2's fail)."""
    stage = 1
    for s in STAGES[1:]:
        if not all(r.met for r in results if r.stage == s):
            break
        stage = s
    return stage


def overall_stage(capabilities: tuple[CapabilityResult, ...]) -> int:
    """The highest stage S such that every capability whose central stage is S or lower stands at S or higher."""
    stage = 1
    for s in STAGES[1:]:
        if not all(c.stage >= s for c in capabilities if c.central_stage <= s):
            break
        stage = s
    return stage


def assess(evidence: Mapping[str, object], rules: StageRules) -> Assessment:
    """Place each capability and the organisation on the five stages. Every evidence key of the catalogue must
    be present (None when it could not be measured); an unknown key is an error, so a typo cannot pass."""
    missing = sorted(set(rules.evidence) - set(evidence))
    extra = sorted(set(evidence) - set(rules.evidence))
    if missing or extra:
        raise ValueError(f"evidence does not match the catalogue of {rules.path}: "
                         + "; ".join(p for p in (f"missing {', '.join(missing)}" if missing else "",
                                                 f"unknown {', '.join(extra)}" if extra else "") if p))
    results = []
    for cap in rules.capabilities:
        criteria = tuple(
            CriterionResult(cap.id, stage, rules.requirement(c), tuple(t.evidence for t in c.tests), c.met(evidence),
                            c.action)
            for stage, level in cap.levels.items() for c in level
        )
        results.append(CapabilityResult(cap.id, cap.name, cap.central_stage, capability_stage(criteria), criteria))
    caps = tuple(results)
    overall = overall_stage(caps)
    gaps: tuple[CriterionResult, ...] = ()
    if overall < STAGES[-1]:
        target = overall + 1
        gaps = tuple(r for c in caps if c.central_stage <= target and c.stage < target
                     for r in c.criteria if c.stage < r.stage <= target and not r.met)
    return Assessment(caps, overall, gaps)


# ------------------------------------------------------------------------------------------------ frames
def format_value(value: object, unit: str) -> str:
    """A measured value as people read it: shares in %, flags yes/no, unmeasured 'not measured'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured"
    if unit == "flag":
        return "yes" if value else "no"
    if unit == "share":
        share = float(value)
        return f"{share:.3%}" if 0 < abs(share) < 0.001 else f"{share:.1%}"
    if unit == "count":
        return f"{float(value):,.0f}"
    if unit == "score":
        return f"{float(value):.1f}"
    return f"{float(value):.2f}"


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def evidence_frame(evidence: Mapping[str, object], rules: StageRules) -> pd.DataFrame:
    """One row per evidence key: label, unit, value (flags as 1/0, unmeasured empty), as read, and the
    capabilities whose criteria use it."""
    users: dict[str, list[str]] = {}
    for cap in rules.capabilities:
        for level in cap.levels.values():
            for criterion in level:
                for t in criterion.tests:
                    if cap.id not in users.setdefault(t.evidence, []):
                        users[t.evidence].append(cap.id)
    rows = [{"evidence_key": key, "label": spec.label, "unit": spec.unit, "value": _number(evidence.get(key)),
             "value_text": format_value(evidence.get(key), spec.unit), "used_by": ", ".join(users.get(key, []))}
            for key, spec in rules.evidence.items()]
    return pd.DataFrame(rows, columns=["evidence_key", "label", "unit", "value", "value_text", "used_by"])


def _evidence_text(criteria: tuple[CriterionResult, ...], evidence: Mapping[str, object], rules: StageRules) -> str:
    keys = list(dict.fromkeys(k for c in criteria for k in c.evidence))
    return "; ".join(f"{rules.evidence[k].label}: {format_value(evidence.get(k), rules.evidence[k].unit)}"
                     for k in keys)


def assessment_frame(result: Assessment, evidence: Mapping[str, object], rules: StageRules) -> pd.DataFrame:
    """One row per capability, then the overall row: stage and its name, the next stage, the evidence behind
    it, the criteria met, and the actions that would reach the next stage."""
    rows = []
    for cap in result.capabilities:
        nxt = cap.stage + 1 if cap.stage < STAGES[-1] else None
        rows.append({
            "scope": "capability", "capability_id": cap.id, "capability": cap.name, "central_stage": cap.central_stage,
            "stage": cap.stage, "stage_name": rules.stage_name(cap.stage), "next_stage": nxt,
            "next_stage_name": rules.stage_name(nxt), "criteria_met": sum(c.met for c in cap.criteria),
            "criteria": len(cap.criteria), "evidence": _evidence_text(cap.criteria, evidence, rules),
            "gaps": len(cap.gaps), "actions": " ".join(dict.fromkeys(g.action for g in cap.gaps)),
        })
    nxt = result.stage + 1 if result.stage < STAGES[-1] else None
    all_criteria = tuple(c for cap in result.capabilities for c in cap.criteria)
    rows.append({
        "scope": "overall", "capability_id": "overall", "capability": "Overall", "central_stage": None,
        "stage": result.stage, "stage_name": rules.stage_name(result.stage), "next_stage": nxt,
        "next_stage_name": rules.stage_name(nxt), "criteria_met": sum(c.met for c in all_criteria),
        "criteria": len(all_criteria), "evidence": _evidence_text(result.gaps, evidence, rules),
        "gaps": len(result.gaps), "actions": " ".join(dict.fromkeys(g.action for g in result.gaps)),
    })
    frame = pd.DataFrame(rows)
    for column in ("central_stage", "next_stage"):
        frame[column] = frame[column].astype("Int64")
    return frame


def gaps_frame(result: Assessment, evidence: Mapping[str, object], rules: StageRules) -> pd.DataFrame:
    """Each unmet criterion between a capability (or the organisation, scope 'overall') and its next stage:
    the stage it is needed for, the requirement, the value measured and the action that closes it."""
    rows = []

    def add(scope: str, criterion: CriterionResult) -> None:
        specs = [rules.evidence[k] for k in criterion.evidence]
        rows.append({"scope": scope, "capability_id": criterion.capability, "stage_needed": criterion.stage,
                     "stage_name": rules.stage_name(criterion.stage), "requirement": criterion.requirement,
                     "measured": "; ".join(f"{s.label}: {format_value(evidence.get(s.key), s.unit)}" for s in specs),
                     "action": criterion.action})

    for cap in result.capabilities:
        for gap in cap.gaps:
            add("capability", gap)
    for gap in result.gaps:
        add("overall", gap)
    return pd.DataFrame(rows, columns=["scope", "capability_id", "stage_needed", "stage_name", "requirement",
                                       "measured", "action"]).astype({"stage_needed": "Int64"})
