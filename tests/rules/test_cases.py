"""Table-driven cases (OpenFisca style): every YAML file in tests/rules/cases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rules.engine import decide

CASES_DIR = Path(__file__).with_name("cases")
EXPECTED_KEYS = {"route", "models", "flags", "flags_include", "flags_exclude", "derived", "asked",
                 "could_flip", "missing_first"}


def load_cases() -> list[tuple[str, dict]]:
    """(file: name, case) for every case of every YAML file, in file order."""
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.append((f"{path.stem}: {case['name']}", case))
    return out


CASES = load_cases()


def test_there_are_at_least_sixty_cases_with_unique_names():
    names = [name for name, _ in CASES]
    assert len(names) >= 60
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name, case", CASES, ids=[n for n, _ in CASES])
def test_case(name, case):
    expected = case["expected"]
    assert set(expected) <= EXPECTED_KEYS, f"unknown expectation keys {set(expected) - EXPECTED_KEYS}"
    d = decide(case.get("facts") or {}, contested=case.get("contested") or ())
    flags = [f.id for f in d.legal_flags]
    if "route" in expected:
        assert d.route == expected["route"], d.scores
    if "models" in expected:
        assert [m.model for m in d.models] == expected["models"]
    if "flags" in expected:
        assert sorted(flags) == sorted(expected["flags"])
    for flag in expected.get("flags_include", []):
        assert flag in flags
    for flag in expected.get("flags_exclude", []):
        assert flag not in flags
    for key, value in (expected.get("derived") or {}).items():
        assert d.derived.get(key) == str(value), key
    asked = {m.fact for m in d.missing if m.asked_by}
    for fact in expected.get("asked", []):
        assert fact in asked
    if "could_flip" in expected:
        assert sorted(m.fact for m in d.missing if m.could_flip) == sorted(expected["could_flip"])
    if "missing_first" in expected:
        assert [m.fact for m in d.missing[: len(expected["missing_first"])]] == expected["missing_first"]
    # every rendered flag text is complete: no placeholder was left without a value
    assert all("(unknown)" not in f.text and "{" not in f.text for f in d.legal_flags)
