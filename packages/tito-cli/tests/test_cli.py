"""`tito` as a user runs it: in-process through `tito.cli.main` and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from tito import __version__
from tito.cli import build_parser, main
from tito.commands import load_groups


def run_tito(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tito", *args],
        capture_output=True, text=True, env=full_env, timeout=120, check=False,
    )


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == f"tito-cli {__version__}"
    assert out == f"tito-cli {metadata.version('tito-cli')}"


def test_version_subprocess():
    proc = run_tito("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"tito-cli {metadata.version('tito-cli')}"


def test_console_script_installed():
    script = Path(sys.executable).parent / ("tito.exe" if os.name == "nt" else "tito")
    if not script.exists():
        pytest.skip("tito console script not installed next to this interpreter")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("tito-cli ")


def test_no_arguments_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: tito" in out and "system" in out


def test_group_alone_prints_group_help(capsys):
    assert main(["system"]) == 2
    out = capsys.readouterr().out
    assert "info" in out and "doctor" in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-group"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_groups_are_discovered():
    names = [g.NAME for g in load_groups()]
    assert "system" in names
    assert len(names) == len(set(names))
    for group in load_groups():
        assert isinstance(group.HELP, str) and group.HELP


def test_parser_has_system_subcommands():
    parser = build_parser()
    args = parser.parse_args(["system", "info", "--json"])
    assert args.json is True and callable(args.handler)
    args = parser.parse_args(["system", "doctor"])
    assert args.json is False and callable(args.handler)


def test_python_dash_m_help():
    proc = run_tito("--help")
    assert proc.returncode == 0
    assert "system" in proc.stdout


def test_json_output_is_plain_json_not_rich_markup():
    proc = run_tito("system", "info", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "\x1b[" not in proc.stdout
    assert data["python"]["executable"] == sys.executable
