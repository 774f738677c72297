"""`crmw assess`: the readiness and maturity questionnaire, asked at the terminal or read from an answers file.

The answers go to $CRMW_HOME/maturity/answers.yaml, where every refresh finds and scores them (marts.
maturity_sponsors). The command prints each sponsor's score, the stage the respondents chose for themselves,
and the stages measured by the last published refresh with the actions that reach the next one.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import duckdb
import pandas as pd

from models_ml.maturity.questionnaire import (
    SELF_ASSESSED_STAGE,
    Answers,
    Questionnaire,
    load_answers,
    load_questionnaire,
    parse_answer,
    score_sections,
    self_assessed_stage,
    write_answers,
)
from models_ml.maturity.yamlfile import MaturityFileError
from orchestration.maturity import ASSESSMENT_TABLE, GAPS_TABLE
from orchestration.publish import connect_serving
from orchestration.settings import Settings

KEEP, SKIP = "", "-"


class AssessAborted(RuntimeError):
    """The questionnaire was left before the end (end of input); nothing was written."""


def ask(questionnaire: Questionnaire, previous: Answers | None, read: Callable[[str], str], out: TextIO
        ) -> dict[str, int]:
    """Ask every question in order. Enter keeps the previous answer (if any), `-` leaves it unanswered; an
    answer outside the choices is asked again."""
    values: dict[str, int] = {}
    old = previous.values if previous else {}
    total, number = len(questionnaire.questions), 0
    for section in questionnaire.sections:
        out.write(f"\n{section.name}\n")
        for question in section.questions:
            number += 1
            out.write(f"\n({number}/{total}) {question.text}\n")
            for value, label in question.choices.items():
                out.write(f"    {value}  {label}\n")
            hint = f"Enter keeps {old[question.id]}, " if question.id in old else ""
            while True:
                try:
                    text = read(f"  answer ({hint}- skips): ")
                except EOFError:
                    raise AssessAborted(f"input ended at question {question.id}; nothing was written") from None
                text = text.strip()
                if text == KEEP and question.id in old:
                    values[question.id] = old[question.id]
                    break
                if text in (SKIP, KEEP):
                    break
                try:
                    values[question.id] = parse_answer(question, text)
                    break
                except ValueError as exc:
                    out.write(f"  {exc}\n")
    return values


def _published(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The last published assessment and its gaps, or None when nothing (or no assessment) is published."""
    if not settings.serving_path.exists():
        return None
    try:
        with connect_serving(settings) as con:
            return (con.execute(f"select * from marts.{ASSESSMENT_TABLE}").df(),
                    con.execute(f"select * from marts.{GAPS_TABLE}").df())
    except duckdb.CatalogException:
        return None


def render(settings: Settings, questionnaire: Questionnaire, answers: Answers, path: Path) -> str:
    scores = score_sections(questionnaire, answers)
    lines = [f"Answers written to {path} ({len(answers.values)} of {len(questionnaire.questions)} questions "
             "answered); the next `crmw refresh` publishes the scores.", "", "Score (0-100)"]
    for row in scores.itertuples():
        score = f"{row.score:5.1f}" if pd.notna(row.score) else "    -"
        kind = "sponsor" if row.is_sponsor else "audit"
        lines.append(f"  {row.section:<26} {score}   {row.answered}/{row.questions} answered ({kind})")
    chosen = self_assessed_stage(answers)
    published = _published(settings)
    if chosen is not None:
        label = questionnaire.questions[SELF_ASSESSED_STAGE].choices[chosen]
        lines += ["", f"Stage you chose: {chosen} of 5, {label}"]
    if published is None:
        lines += ["", "Measured stages: nothing assessed yet; run `crmw refresh`."]
        return "\n".join(lines)
    assessment, gaps = published
    as_of = assessment["as_of_date"].iloc[0]
    lines += ["", f"Measured stages (last published refresh, data as of {as_of:%Y-%m-%d})"]
    for row in assessment.itertuples():
        lines.append(f"  {row.capability:<38} {row.stage} of 5, {row.stage_name}")
    overall = assessment[assessment["scope"] == "overall"].iloc[0]
    if chosen is not None and chosen != overall["stage"]:
        lines.append(f"  (you chose {chosen}; the data says {overall['stage']})")
    overall_gaps = gaps[gaps["scope"] == "overall"]
    if not overall_gaps.empty:
        lines += ["", f"To reach stage {overall['next_stage']} ({overall['next_stage_name']}):"]
        for row in overall_gaps.itertuples():
            lines.append(f"  - {row.action}")
            lines.append(f"    now: {row.measured}; needed: {row.requirement}")
    return "\n".join(lines)


def run_assess(settings: Settings, answers_file: Path | None, by: str | None, read: Callable[[str], str],
               out: TextIO, now: dt.datetime | None = None) -> Path:
    """Ask (or read) the answers, write them where the refresh finds them, print the result; returns the path."""
    questionnaire = load_questionnaire()
    now = now or dt.datetime.now(dt.UTC)
    path = settings.maturity_answers_path
    if answers_file is not None:
        given = load_answers(answers_file, questionnaire)
        answers = Answers(given.values, given.assessed_at or now, given.assessed_by or by)
    else:
        previous = None
        if path.exists():
            try:
                previous = load_answers(path, questionnaire)
            except MaturityFileError as exc:
                out.write(f"The previous answers cannot be read, starting afresh: {exc}\n")
        out.write(f"CRM readiness and maturity questionnaire: {len(questionnaire.questions)} questions.\n")
        answers = Answers(ask(questionnaire, previous, read, out), now, by)
    write_answers(path, answers, questionnaire)
    out.write(render(settings, questionnaire, answers, path) + "\n")
    return path


def default_respondent() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
