"""`svt`: the command line, mirroring the library (ask, index, ingest, eval, audit, rules)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="social-value-assistant")
def main() -> None:
    """Social Value Commissioning Assistant."""


@main.group()
def rules() -> None:
    """Inspect and check the deterministic decision rules."""


# --- rules commands (rules/ owns the logic; these are thin wrappers) ---

if __name__ == "__main__":  # pragma: no cover
    main()
