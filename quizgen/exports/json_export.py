"""JSON: every variant with its questions, answers, per-layer key and confirmation."""

from __future__ import annotations

import json

from ..questions.records import QuizInfo, VariantKey


def json_export(info: QuizInfo, variants: list[VariantKey]) -> str:
    data = {
        "quiz": info.to_json(),
        "variants": [{
            "student": v.student,
            "name": v.student_name,
            "questions": [{
                "slot": e.slot, "kind": e.kind, "points": e.points, "prompt": e.prompt, "spec": e.spec,
                "answer": e.answer, "breakdown": e.breakdown, "derivation": e.derivation,
                "confirmed_by": ({"keras": e.keras_version, "tensorflow": e.tensorflow_version,
                                  "at": e.verified_at.isoformat()} if e.verified_at else None),
            } for e in v.entries],
        } for v in variants],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
