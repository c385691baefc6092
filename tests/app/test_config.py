"""Central settings: system-wide file, per-user file, locked keys, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatchdesk.app.config import Config, ConfigError, load_config, server_urls


def test_user_file_overrides_system_file_except_locked_keys(tmp_path: Path) -> None:
    system = tmp_path / "system.toml"
    user = tmp_path / "user.toml"
    system.write_text(
        'server_url = "https://cad.force.example:8700"\n'
        'ca_bundle = "/etc/ssl/force-ca.pem"\n'
        "max_command_age_minutes = 15\n"
        '[locked]\nserver_url = "https://cad.force.example:8700"\n'
    )
    user.write_text('server_url = "http://my-laptop:8700"\ntheme = "high-contrast"\n')
    config = load_config(system, user)
    assert config.server_url == "https://cad.force.example:8700"  # locked by IT
    assert config.theme == "high-contrast"
    assert config.ca_bundle == "/etc/ssl/force-ca.pem"
    assert config.max_command_age_minutes == 15
    assert config.sources == (str(system), str(user))
    assert config.locked == frozenset({"server_url"})


def test_no_files_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "none.toml", tmp_path / "nothing.toml")
    assert config == Config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('servr_url = "x"\n', "unknown setting 'servr_url'"),
        ('theme = "dark"\n', "theme must be"),
        ("max_command_age_minutes = 0\n", "whole number >= 1"),
        ("theme = \n", "user.toml"),
        ('server_urls = "http://a:8700"\n', "server_urls must be a list"),
        ("server_urls = []\n", "server_urls must be a list"),
        ('server_urls = ["http://a:8700", 5]\n', "server_urls must be a list"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "user.toml"
    user.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "none.toml", user)


def test_several_api_nodes_in_order_and_the_single_url_still_works(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('server_urls = ["https://cad-a:8700", "https://cad-b:8700"]\n')
    config = load_config(tmp_path / "none.toml", user)
    assert config.server_urls == ("https://cad-a:8700", "https://cad-b:8700")
    assert server_urls(config) == ("https://cad-a:8700", "https://cad-b:8700")
    # --server, given once or more, wins over the files.
    assert server_urls(config, ["http://x:1", "http://y:2"]) == ("http://x:1", "http://y:2")
    assert server_urls(Config(server_url="https://cad:8700")) == ("https://cad:8700",)
    assert server_urls(Config()) == ()  # the embedded demo backend


def test_locking_the_server_url_locks_the_list_too(tmp_path: Path) -> None:
    """A user file cannot send the desk elsewhere through the other key."""
    system = tmp_path / "system.toml"
    user = tmp_path / "user.toml"
    system.write_text('[locked]\nserver_url = "https://cad.force.example:8700"\n')
    user.write_text('server_urls = ["http://my-laptop:8700"]\n')
    config = load_config(system, user)
    assert server_urls(config) == ("https://cad.force.example:8700",)
    system.write_text('[locked]\nserver_urls = ["https://cad-a:8700", "https://cad-b:8700"]\n')
    user.write_text('server_url = "http://my-laptop:8700"\n')
    config = load_config(system, user)
    assert config.server_url is None
    assert server_urls(config) == ("https://cad-a:8700", "https://cad-b:8700")


def test_server_may_be_given_more_than_once_on_the_command_line() -> None:
    from dispatchdesk.app.cli import build_parser

    args = build_parser().parse_args(["--server", "http://a:8700", "--server", "http://b:8700"])
    assert args.server == ["http://a:8700", "http://b:8700"]
    assert build_parser().parse_args([]).server is None
