"""The template's Python reads as Python: features live in files of their own, and what
variants share carries whole-block conditionals only (CONTRIBUTING, "Template code")."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.variants import MATRIX
from tools.projects import REPO_ROOT

TEMPLATE = REPO_ROOT / "template"
# At most one `{% if %}`, `{% elif %}` or `{% else %}` per this many lines of template Python.
LINES_PER_BRANCH = 50

BRANCH_TAG = re.compile(r"\{%-?\s*(if|elif|else)\b")
STATEMENT_TAG = re.compile(r"\{%")
STATEMENT = re.compile(r"\{%.*?%\}")
IMPORT_START = re.compile(r"^\s*(from\s+\S+\s+import\b|import\s)")


def rendered_name(path: Path) -> str:
    """The name Copier gives the file: no `.jinja`, no conditions (`{% if x %}a.py{% endif %}`)."""
    return STATEMENT.sub("", path.name).removesuffix(".jinja")


def template_python(root: Path) -> list[Path]:
    """The template's Python files, conditional ones included."""
    return sorted(
        path for path in root.rglob("*") if path.is_file() and rendered_name(path).endswith(".py")
    )


def import_statements(source: str) -> list[str]:
    """Every import statement of `source`, continuation lines of parenthesised ones included."""
    statements = []
    lines = iter(source.splitlines())
    for line in lines:
        if not IMPORT_START.match(line):
            continue
        statement = [line]
        while "(" in line and ")" not in statement[-1]:
            statement.append(next(lines, ")"))
        statements.append("\n".join(statement))
    return statements


def branch_tags(root: Path) -> tuple[int, int]:
    """How many if/elif/else tags the template's Python holds, and in how many lines."""
    sources = [path.read_text() for path in template_python(root)]
    tags = sum(len(BRANCH_TAG.findall(source)) for source in sources)
    return tags, sum(len(source.splitlines()) for source in sources)


def imports_with_tags(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {statement.strip()}"
        for path in template_python(root)
        for statement in import_statements(path.read_text())
        if STATEMENT_TAG.search(statement)
    ]


def rendered_twins(root: Path) -> list[str]:
    """Files that render to the same name as a `.jinja` sibling (only the `.jinja` one counts)."""
    return [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*.jinja"))
        if path.with_name(path.name.removesuffix(".jinja")).exists()
    ]


def test_no_jinja_tag_inside_an_import_statement() -> None:
    # A variant's imports are whole lines of their own, inside a block: never part of a line.
    assert imports_with_tags(TEMPLATE) == []


def test_branches_are_rare_in_template_python() -> None:
    tags, lines = branch_tags(TEMPLATE)

    assert tags * LINES_PER_BRANCH <= lines, (
        f"{tags} if/elif/else tags in {lines} lines of template Python: one per "
        f"{lines / tags:.0f} lines; at most one per {LINES_PER_BRANCH}. Move what a feature "
        "adds into a file of its own (a conditional file name)."
    )


def test_no_template_file_has_a_twin() -> None:
    assert rendered_twins(TEMPLATE) == []


def test_the_checks_see_branches_and_imports() -> None:
    # The counts above are only worth something if they find what they look for.
    source = "from x import {% if a %}b, {% endif %}c\n{%- if a %}\nimport d\n{%- else %}\n"

    assert len(BRANCH_TAG.findall(source)) == 3
    assert [s for s in import_statements(source) if STATEMENT_TAG.search(s)] == [
        "from x import {% if a %}b, {% endif %}c"
    ]
    assert import_statements("from x import (\n    a,\n    b,\n)\nimport y\n") == [
        "from x import (\n    a,\n    b,\n)",
        "import y",
    ]


# A reader learns the test architecture from tests/fixtures/ in minutes: short modules, each
# named in the folder's README.
MAX_FIXTURE_MODULE_LINES = 200


@pytest.mark.parametrize("variant", sorted(MATRIX))
def test_every_fixture_module_is_short_and_named_in_the_readme(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    fixtures = matrix_projects(variant) / "tests" / "fixtures"
    readme = (fixtures / "README.md").read_text()
    modules = sorted(fixtures.rglob("*.py"))

    long = {
        str(path.relative_to(fixtures)): lines
        for path in modules
        if (lines := len(path.read_text().splitlines())) > MAX_FIXTURE_MODULE_LINES
    }
    unnamed = [
        name
        for path in modules
        if path.name != "__init__.py"
        and f"`{(name := path.relative_to(fixtures).as_posix())}`" not in readme
    ]
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", readme, flags=re.MULTILINE))
    missing = sorted(named - {path.relative_to(fixtures).as_posix() for path in modules})
    assert long == {}, f"over {MAX_FIXTURE_MODULE_LINES} lines: split them by job"
    assert unnamed == [], "tests/fixtures/README.md does not name these modules"
    assert missing == [], "tests/fixtures/README.md names modules this render does not have"
