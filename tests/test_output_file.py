"""The files `monitor atom --output PATH` and `monitor opml export PATH` write (one writer,
``monitor._cli_outfile``): replaced atomically, through a symbolic link at PATH (the link
stays, its target gets the new document), keeping an existing file's permissions. Real files
and links in a temporary folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli, write_config

COMMANDS = {
    "atom": lambda path: ("atom", "--output", str(path)),
    "opml": lambda path: ("opml", "export", str(path)),
}
STARTS = {"atom": b"<?xml", "opml": b"<?xml"}
KINDS = {"atom": b"<feed", "opml": b"<opml"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = write_config(tmp_path, [])
    assert cli(config, "feeds", "add", "http://127.0.0.1:1/a.xml") == 0  # a database to read
    return config


@pytest.fixture
def restore_umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    try:
        yield
    finally:
        os.umask(old)


def _written(path: Path, command: str) -> bool:
    data = path.read_bytes()
    return data.startswith(STARTS[command]) and KINDS[command] in data


@pytest.mark.parametrize("command", COMMANDS)
def test_a_link_is_written_through_and_kept(
    tmp_path: Path, config: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`atom --output` replaced the link by a regular file (the file it pointed at, the one
    a web server serves, stayed stale); `opml export` truncated the target in place, so a
    reader could see half a document."""
    www = tmp_path / "www"
    www.mkdir()
    target = www / "feed.xml"
    target.write_bytes(b"old document\n")
    target.chmod(0o640)
    link = tmp_path / "published.xml"
    link.symlink_to(Path("www") / "feed.xml")  # relative, as `ln -s` makes them
    reader = target.open("rb")  # a reader that opened the old document
    try:
        assert cli(config, *COMMANDS[command](link)) == 0, capsys.readouterr().err
        assert reader.read() == b"old document\n"  # whole: the new one is another file
    finally:
        reader.close()
    assert link.is_symlink() and os.readlink(link) == str(Path("www") / "feed.xml")
    assert _written(target, command)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the target's permissions kept
    assert sorted(p.name for p in www.iterdir()) == ["feed.xml"]  # no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_chain_of_links_and_a_dangling_link(
    tmp_path: Path, config: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    first, second = tmp_path / "first.xml", www / "second.xml"
    second.symlink_to("feed.xml")  # dangling: its target is made
    first.symlink_to(second)
    assert cli(config, *COMMANDS[command](first)) == 0, capsys.readouterr().err
    assert first.is_symlink() and second.is_symlink()
    assert _written(www / "feed.xml", command)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_loop_of_links_is_refused(
    tmp_path: Path, config: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.xml", tmp_path / "b.xml"
    a.symlink_to(b)
    b.symlink_to(a)
    capsys.readouterr()
    assert cli(config, *COMMANDS[command](a)) == 1
    err = capsys.readouterr().err
    assert f"{a}: cannot write: a loop of symbolic links" in err, err
    assert a.is_symlink() and b.is_symlink()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_link_into_a_missing_folder_names_that_folder(
    tmp_path: Path, config: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "published.xml"
    link.symlink_to(tmp_path / "gone" / "feed.xml")
    capsys.readouterr()
    assert cli(config, *COMMANDS[command](link)) == 1
    err = capsys.readouterr().err
    expected = (
        f"{link}: cannot write {tmp_path / 'gone' / 'feed.xml'} (where the link leads): "
        f"the folder {tmp_path / 'gone'} does not exist"
    )
    assert expected in err, err
    assert not (tmp_path / "gone").exists()


@pytest.mark.usefixtures("restore_umask")
def test_a_new_file_atom_for_the_web_server_opml_as_the_umask_says(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Atom feed is for a web server to read (0644); an OPML export may hold feed tokens:
    it is made as any file the user makes (0666 less the umask, 0600 under umask 077)."""
    atom, opml = tmp_path / "hits.xml", tmp_path / "feeds.opml"
    os.umask(0o077)
    assert cli(config, *COMMANDS["atom"](atom)) == 0, capsys.readouterr().err
    assert cli(config, *COMMANDS["opml"](opml)) == 0, capsys.readouterr().err
    assert stat.S_IMODE(atom.stat().st_mode) == 0o644
    assert stat.S_IMODE(opml.stat().st_mode) == 0o600
    # written again: kept as they are now
    atom.chmod(0o600)
    opml.chmod(0o640)
    assert cli(config, *COMMANDS["atom"](atom)) == 0
    assert cli(config, *COMMANDS["opml"](opml)) == 0
    assert stat.S_IMODE(atom.stat().st_mode) == 0o600
    assert stat.S_IMODE(opml.stat().st_mode) == 0o640


def _other_group() -> int | None:
    """A group this process may give a file: any as root, else a supplementary one."""
    if os.geteuid() == 0:
        return 4242
    others = [g for g in os.getgroups() if g != os.getegid()]
    return others[0] if others else None


@pytest.mark.parametrize("command", COMMANDS)
def test_the_group_of_the_replaced_file_is_kept(
    tmp_path: Path, config: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed at /var/www owned by the web server's group, mode 0640: replaced by a file of
    the user's own group, the web server could no longer read it."""
    group = _other_group()
    if group is None:
        pytest.skip("this user belongs to one group only")
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old\n")
    os.chown(target, -1, group)
    target.chmod(0o640)
    assert cli(config, *COMMANDS[command](target)) == 0, capsys.readouterr().err
    assert _written(target, command)
    assert target.stat().st_gid == group
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
