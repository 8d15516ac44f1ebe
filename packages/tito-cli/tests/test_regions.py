"""The region engine: parsing, validation errors with file and line, stubs, extraction."""

from __future__ import annotations

import pytest
from tito.regions import (
    RegionError,
    cpp_stub,
    extract_bodies,
    parse,
    replace_bodies,
    stub_text,
)

SRC = """\
def f(a, b):
    # BEGIN SOLUTION 02 add
    c = a + b
    return c
    # END SOLUTION


def g(x):
        # BEGIN SOLUTION 02 add
        return x
        # END SOLUTION
"""


def msg(module, task):
    return f"module {module}, task {task}"


def test_parse_finds_regions_with_indent_and_body():
    p = parse(SRC, "f.py")
    assert [(r.module, r.task, r.begin, r.end) for r in p.regions] == [
        ("02", "add", 1, 4),
        ("02", "add", 8, 10),
    ]
    assert p.regions[0].indent == "    " and p.regions[1].indent == "        "
    assert "".join(p.regions[0].body) == "    c = a + b\n    return c\n"
    assert list(p.keyed()) == [("02", "add", 0), ("02", "add", 1)]


def test_stub_keeps_markers_and_indentation_and_names_task():
    out, regions = stub_text(SRC, "f.py", message=msg)
    assert len(regions) == 2
    assert "c = a + b" not in out and "return x" not in out
    assert (
        "    # BEGIN SOLUTION 02 add\n    raise NotImplementedError('module 02, task add')\n"
        "    # END SOLUTION\n" in out
    )
    assert "        raise NotImplementedError('module 02, task add')\n" in out
    compile(out, "f.py", "exec")  # the stubbed file still compiles
    ns: dict = {}
    exec(out, ns)
    with pytest.raises(NotImplementedError, match="module 02, task add"):
        ns["f"](1, 2)


def test_stub_cpp():
    text = "int f() {\n  // BEGIN SOLUTION 13 relu\n  return 1;\n  // END SOLUTION\n}\n"
    out, _ = stub_text(text, "k.cpp", message=lambda m, t: 'say "hi"')
    assert '  throw tt::NotImplemented("say \\"hi\\"");\n' in out
    assert "return 1;" not in out and "// BEGIN SOLUTION 13 relu" in out
    assert cpp_stub("a\\b") == 'throw tt::NotImplemented("a\\\\b");'


def test_crlf_is_kept():
    text = SRC.replace("\n", "\r\n")
    out, _ = stub_text(text, "f.py", message=msg)
    assert "\r\n" in out and "\n" not in out.replace("\r\n", "")


@pytest.mark.parametrize(
    "text,line,words",
    [
        ("# BEGIN SOLUTION 02 a\n# BEGIN SOLUTION 02 b\n# END SOLUTION\n", 2, "never nest"),
        ("x = 1\n# BEGIN SOLUTION 02 a\npass\n", 2, "never closed"),
        ("x = 1\n# END SOLUTION\n", 2, "without a BEGIN"),
        ("# BEGIN SOLUTION 2 add\n# END SOLUTION\n", 1, "two digits"),
        ("# BEGIN SOLUTION 02 Add\n# END SOLUTION\n", 1, "task id"),
        ("# BEGIN SOLUTION\n# END SOLUTION\n", 1, "malformed marker"),
        ("# BEGIN SOLUTION 02 add extra\n# END SOLUTION\n", 1, "malformed marker"),
        ("x = 1  # BEGIN SOLUTION 02 add\n", 1, None),  # not a whole-line marker: ignored
        ("# END SOLUTION now\n", 1, "malformed solution marker"),
    ],
)
def test_errors_name_file_and_line(text, line, words):
    if words is None:
        assert parse(text, "pkg/mod.py").regions == []
        return
    with pytest.raises(RegionError) as exc:
        parse(text, "pkg/mod.py")
    assert exc.value.line == line and exc.value.path == "pkg/mod.py"
    assert str(exc.value).startswith(f"pkg/mod.py:{line}: ")
    assert words in str(exc.value)


def test_unknown_module_and_task():
    text = "# BEGIN SOLUTION 07 add\n# END SOLUTION\n"
    with pytest.raises(RegionError, match="unknown course module '07'"):
        parse(text, "a.py", known={"02": {"add"}})
    text = "# BEGIN SOLUTION 02 mul\n# END SOLUTION\n"
    with pytest.raises(RegionError, match="module 02 has no task 'mul'.*add"):
        parse(text, "a.py", known={"02": {"add"}})


def test_cpp_markers_only_in_cpp_files():
    text = "// BEGIN SOLUTION 13 k\nx\n// END SOLUTION\n"
    assert parse(text, "a.cpp").regions[0].task == "k"
    assert parse(text, "a.py").regions == []


def test_bare_regions_for_labs():
    text = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    with pytest.raises(RegionError):
        parse(text, "lab.py")
    out, regions = stub_text(text, "lab.py", message=msg, bare=True)
    assert regions[0].module == ""
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()\n" in out


def test_extract_and_replace_round_trip():
    stubbed, _ = stub_text(SRC, "f.py", message=msg)
    ref = extract_bodies(SRC, "f.py")
    restored = replace_bodies(parse(stubbed, "f.py"), ref)
    assert restored == SRC
    assert extract_bodies(stubbed, "f.py")[("02", "add", 1)].strip().startswith("raise")
