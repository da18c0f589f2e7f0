"""``monitor completion bash|zsh``: the script is made from the parser and completes commands,
verbs, options and their choices in a real bash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from monitor._cli import _parser
from monitor._completion import FILE, walk

ROOT = Path(__file__).resolve().parents[1]


def script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    from monitor._cli import main

    capsys.readouterr()
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def complete(text: str, words: str, cwd: Path) -> list[str]:
    """What bash offers for the command line ``words`` (the last word being completed)."""
    parts = words.split(" ")
    bash = shutil.which("bash")
    assert bash is not None
    program = (
        text
        + "\nCOMP_WORDS=("
        + " ".join(f"'{p}'" for p in parts)
        + f")\nCOMP_CWORD={len(parts) - 1}\n_monitor\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    )
    out = subprocess.run(
        [bash, "--norc", "--noprofile"], input=program, capture_output=True, text=True, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def test_the_parser_is_walked_into_every_command() -> None:
    levels = walk(_parser())
    assert {"run", "once", "feeds", "opml", "completion"} <= set(levels[()].subcommands)
    assert levels[("feeds",)].subcommands == ["add", "remove", "pause", "resume"]
    assert "--topic" in levels[("feeds", "add")].options
    assert levels[()].values["--log-level"] == "debug info warning error"
    assert levels[()].values["--config"] == FILE
    assert "--version" not in levels[()].values  # takes no value


def test_bash_completes_commands_verbs_options_and_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = script("bash", capsys)
    assert "complete -o default -F _monitor monitor" in text
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    assert complete(text, "monitor fe", tmp_path) == ["feeds", "feedback"]
    assert complete(text, "monitor feeds ", tmp_path) == ["add", "remove", "pause", "resume"]
    assert complete(text, "monitor feeds --f", tmp_path) == ["--format"]
    assert complete(text, "monitor feeds add http://x --to", tmp_path) == ["--topic"]
    assert complete(text, "monitor --config config.toml hits --format c", tmp_path) == ["csv"]
    assert complete(text, "monitor --log-level w", tmp_path) == ["warning"]
    assert complete(text, "monitor --config conf", tmp_path) == ["config.toml"]
    # an option's value is not taken for a command: `hits --topic feeds` stays in hits
    assert complete(text, "monitor hits --topic feeds --li", tmp_path) == ["--limit"]
    assert complete(text, "monitor completion ", tmp_path) == ["bash", "zsh"]
    assert complete(text, "monitor opml import conf", tmp_path) == ["config.toml"]


def test_zsh_loads_the_same_functions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = script("zsh", capsys)
    assert text.startswith("#compdef monitor\n")
    assert "bashcompinit" in text and "_monitor_words()" in text
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    (tmp_path / "_monitor").write_text(text, encoding="utf-8")
    # As zsh's _bash_complete calls it: COMP_WORDS counted from 1, COMP_CWORD from 0. zsh's
    # compgen does not filter by the typed prefix (compadd does, in a real completion).
    program = f"""source {tmp_path / "_monitor"}
for line in "monitor fe" "monitor feeds " "monitor --log-level w" \\
        "monitor hits --topic feeds --li" "monitor completion "; do
    COMP_WORDS=(${{(s: :)line}}); [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${{#COMP_WORDS}} - 1 )); COMPREPLY=(); _monitor
    print -r -- "${{COMPREPLY[*]}}"
done
"""
    out = subprocess.run([zsh, "-f"], input=program, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "feeds" in lines[0].split() and "feedback" in lines[0].split()
    assert lines[1:] == [
        "add remove pause resume",
        "debug info warning error",
        "-h --help --since --topic --limit --format",
        "bash zsh",
    ]
