"""The readiness and maturity questionnaire: load and check it, read and write an answers file, score each
section (the four sponsors and the readiness audit) 0-100.

Files are YAML (`questionnaire.yaml` beside this module; answers wherever `crmw assess` writes them). Every
error names the file, the line and the question.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models_ml.maturity.yamlfile import Located, new_id, read_yaml
from models_ml.maturity.yamlfile import located_error as _fail

DEFAULT_QUESTIONNAIRE_PATH = Path(__file__).with_name("questionnaire.yaml")
SELF_ASSESSED_STAGE = "ra_self_assessed_stage"  # the question whose answer is the stage people think they are at
MIN_SPONSORS = 3  # a radar needs three axes
SCORE_COLUMNS = ["section_id", "section", "is_sponsor", "score", "answered", "questions"]


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    text: str
    choices: Mapping[int, str]
    scored: bool = True
    weight: float = 1.0

    def describe_choices(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.choices.items())

    def fraction(self, answer: int) -> float:
        """The answer on 0..1: the lowest choice 0, the highest 1."""
        low, high = min(self.choices), max(self.choices)
        return (answer - low) / (high - low)


@dataclass(frozen=True)
class Section:
    id: str
    name: str
    sponsor: bool
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    sections: tuple[Section, ...]
    path: Path

    @property
    def questions(self) -> dict[str, Question]:
        return {q.id: q for s in self.sections for q in s.questions}

    @property
    def sponsors(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.sponsor)


@dataclass(frozen=True)
class Answers:
    values: Mapping[str, int]  # question id -> chosen value (unanswered questions are absent)
    assessed_at: dt.datetime | None = None
    assessed_by: str | None = None
    source: Path | None = field(default=None, compare=False)


# ------------------------------------------------------------------------------------------------ questionnaire
def _choices(node: object, path: Path, line: int, where: str) -> dict[int, str]:
    if not isinstance(node, Located) or len(node) < 2:
        raise _fail(path, line, f"{where}: choices must map two or more whole numbers to labels")
    out = {}
    for key, label in node.items():
        if isinstance(key, bool) or not isinstance(key, int):
            raise _fail(path, node.line_of(key), f"{where}: choice {key!r} is not a whole number")
        if not isinstance(label, str) or not label.strip():
            raise _fail(path, node.line_of(key), f"{where}: choice {key} needs a label")
        out[key] = label.strip()
    if list(out) != sorted(out):
        raise _fail(path, line, f"{where}: choices must be in increasing order")
    return out


def load_questionnaire(path: Path = DEFAULT_QUESTIONNAIRE_PATH) -> Questionnaire:
    """Read and check a questionnaire; errors name the file, line and question."""
    path = Path(path)
    doc = read_yaml(path)
    unknown = set(doc) - {"scale", "sections"}
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise _fail(path, doc.line_of(key), f"unknown top-level key {key!r} (known: scale, sections)")
    scale = _choices(doc.get("scale"), path, doc.line_of("scale"), "scale") if "scale" in doc else None
    sections_node = doc.get("sections")
    if not isinstance(sections_node, list) or not sections_node:
        raise _fail(path, doc.line_of("sections"), "`sections` must be a list of sections with questions")
    sections, seen_sections, seen_questions = [], set(), {}
    for node in sections_node:
        if not isinstance(node, Located):
            raise _fail(path, doc.line_of("sections"), "each section must be a mapping with id, name and questions")
        sid = new_id(node, seen_sections, path, "section")
        name = node.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(path, node.line_of("name"), f"section {sid}: needs a name")
        sponsor = node.get("sponsor", False)
        if not isinstance(sponsor, bool):
            raise _fail(path, node.line_of("sponsor"), f"section {sid}: sponsor must be true or false")
        extra = set(node) - {"id", "name", "sponsor", "questions"}
        if extra:
            raise _fail(path, node.line, f"section {sid}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
        questions_node = node.get("questions")
        if not isinstance(questions_node, list) or not questions_node:
            raise _fail(path, node.line_of("questions"), f"section {sid}: needs a list of questions")
        questions = []
        for q in questions_node:
            if not isinstance(q, Located):
                raise _fail(path, node.line_of("questions"), f"section {sid}: each question must be a mapping")
            qid = q.get("id")
            if not isinstance(qid, str) or not qid.isidentifier():
                raise _fail(path, q.line_of("id"), f"section {sid}: question id {qid!r} must be an identifier")
            if qid in seen_questions:
                raise _fail(path, q.line_of("id"), f"question {qid} is defined twice (first at line "
                            f"{seen_questions[qid]})")
            seen_questions[qid] = q.line_of("id")
            where = f"question {qid}"
            extra = set(q) - {"id", "text", "choices", "scored", "weight"}
            if extra:
                raise _fail(path, q.line, f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
            text = q.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _fail(path, q.line_of("text"), f"{where}: needs a text")
            if "choices" in q:
                choices = _choices(q["choices"], path, q.line_of("choices"), where)
            elif scale is not None:
                choices = scale
            else:
                raise _fail(path, q.line, f"{where}: no choices and no `scale` to fall back on")
            scored = q.get("scored", True)
            if not isinstance(scored, bool):
                raise _fail(path, q.line_of("scored"), f"{where}: scored must be true or false")
            weight = q.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0 \
                    or not math.isfinite(weight):
                raise _fail(path, q.line_of("weight"), f"{where}: weight must be a positive number, got {weight!r}")
            questions.append(Question(qid, sid, " ".join(text.split()), choices, scored, float(weight)))
        sections.append(Section(sid, " ".join(name.split()), sponsor, tuple(questions)))
    out = Questionnaire(tuple(sections), path)
    if len(out.sponsors) < MIN_SPONSORS:
        raise _fail(path, doc.line_of("sections"), f"needs at least {MIN_SPONSORS} sponsor sections "
                    f"(sponsor: true), found {len(out.sponsors)}")
    return out


# ------------------------------------------------------------------------------------------------ answers
def parse_answer(question: Question, value: object) -> int:
    """A chosen value as a whole number among the question's choices; ValueError says what is allowed."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.lstrip("-").isdigit() else text
    if isinstance(value, bool) or not isinstance(value, int) or value not in question.choices:
        raise ValueError(f"answer {value!r} is not one of {question.describe_choices()}")
    return value


def _timestamp(value: object, path: Path, line: int) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _fail(path, line, f"assessed_at {value!r} is not an ISO 8601 date and time") from None
    else:
        raise _fail(path, line, f"assessed_at {value!r} is not an ISO 8601 date and time")
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def load_answers(path: Path, questionnaire: Questionnaire) -> Answers:
    """Read an answers file (see `write_answers`); an unknown question, or an answer outside the question's
    choices, is an error naming the file, line and question. Unanswered questions may be left out or null."""
    path = Path(path)
    doc = read_yaml(path)
    unknown = set(doc) - {"answers", "assessed_at", "assessed_by"}
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise _fail(path, doc.line_of(key), f"unknown key {key!r} (known: answers, assessed_at, assessed_by)")
    node = doc.get("answers")
    if not isinstance(node, Located):
        raise _fail(path, doc.line_of("answers"), "`answers` must map question ids to the chosen values")
    questions = questionnaire.questions
    values = {}
    for qid, value in node.items():
        question = questions.get(qid)
        if question is None:
            raise _fail(path, node.line_of(qid), f"question {qid!r} is not in {questionnaire.path.name}")
        if value is None:
            continue
        try:
            values[qid] = parse_answer(question, value)
        except ValueError as exc:
            raise _fail(path, node.line_of(qid), f"question {qid}: {exc}") from None
    assessed_at = _timestamp(doc["assessed_at"], path, doc.line_of("assessed_at")) \
        if doc.get("assessed_at") is not None else None
    by = doc.get("assessed_by")
    if by is not None and not isinstance(by, str):
        raise _fail(path, doc.line_of("assessed_by"), "assessed_by must be a text")
    return Answers(values, assessed_at, by, path)


def render_answers(answers: Answers, questionnaire: Questionnaire) -> str:
    """An answers file: every question in order (unanswered ones as null), its text and choices as comments."""
    lines = ["# crm-warehouse readiness and maturity questionnaire: answers (crmw assess --answers FILE reads",
             f"# this format). Questions: {questionnaire.path.name}.",
             f"assessed_at: {json.dumps(answers.assessed_at.isoformat()) if answers.assessed_at else 'null'}",
             f"assessed_by: {json.dumps(answers.assessed_by) if answers.assessed_by else 'null'}",
             "answers:"]
    for section in questionnaire.sections:
        lines.append(f"  # {section.name}")
        for q in section.questions:
            value = answers.values.get(q.id)
            lines.append(f"  # {q.text} ({q.describe_choices()})")
            lines.append(f"  {q.id}: {'null' if value is None else value}")
    return "\n".join(lines) + "\n"


def write_answers(path: Path, answers: Answers, questionnaire: Questionnaire) -> Path:
    """Write (atomically) what `load_answers` reads back as the same answers."""
    path = Path(path)
    unknown = sorted(set(answers.values) - set(questionnaire.questions))
    if unknown:
        raise ValueError(f"answers to questions not in {questionnaire.path.name}: {', '.join(unknown)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_answers(answers, questionnaire), encoding="utf-8")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------------------------ scores
def score_sections(questionnaire: Questionnaire, answers: Answers | None) -> pd.DataFrame:
    """Per section (sponsors first, as in the file): score 0-100 (weighted mean of the scored answers mapped
    to 0..1, times 100; empty when none is answered), scored questions answered, scored questions."""
    values = answers.values if answers else {}
    rows = []
    for section in questionnaire.sections:
        scored = [q for q in section.questions if q.scored]
        answered = [q for q in scored if q.id in values]
        weight = sum(q.weight for q in answered)
        score = 100 * sum(q.weight * q.fraction(values[q.id]) for q in answered) / weight if answered else None
        rows.append({"section_id": section.id, "section": section.name, "is_sponsor": section.sponsor,
                     "score": score, "answered": len(answered), "questions": len(scored)})
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    frame["score"] = frame["score"].astype(float)
    return frame.sort_values("is_sponsor", ascending=False, kind="stable").reset_index(drop=True)


def self_assessed_stage(answers: Answers | None) -> int | None:
    """The stage the respondents think the organisation is at (1..5), when they said."""
    return None if answers is None else answers.values.get(SELF_ASSESSED_STAGE)
