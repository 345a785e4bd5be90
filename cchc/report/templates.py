"""The jinja2 environment of the reports: a ward's own `templates_dir` (configuration) is searched
before the package's templates (cchc/report/templates/), so an officer edits the wording of a report
by copying its template there, without touching code."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)


@lru_cache(maxsize=8)
def environment(templates_dir: str | None = None) -> Environment:
    """Markdown and text templates are not escaped; HTML/XML ones are."""
    loaders = [FileSystemLoader(templates_dir)] if templates_dir else []
    loaders.append(PackageLoader("cchc.report", "templates"))
    return Environment(loader=ChoiceLoader(loaders), trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=False, undefined=StrictUndefined,
                       autoescape=select_autoescape(["html", "htm", "xml"]))


def render(name: str, templates_dir: str | None = None, **context) -> str:
    """Template `name` rendered with `context`, without a trailing newline."""
    return environment(templates_dir).get_template(name).render(**context).rstrip("\n")
