"""The page's backup download: the site folder's configuration, encrypted as
``meterkit backup`` does, only when ``[web] backup_passphrase_env`` names a set variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import backup
from gateway._site_file import load_site
from gateway._web_source import SiteWebSource

from .test_gateway_commands import write_site


def test_backup_holds_the_configuration_not_the_data(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_site(tmp_path)
    path.write_text(path.read_text() + '\n[web]\nbackup_passphrase_env = "SITE_BACKUP"\n')
    (tmp_path / "keys.toml").write_text("# keys\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "export.csv").write_text("data, not configuration\n")
    source = SiteWebSource(load_site(path), history=None, engine=None,  # type: ignore[arg-type]
                           commit=lambda step: None)

    monkeypatch.delenv("SITE_BACKUP", raising=False)
    assert source.backup() is None  # configured, but the variable is not set
    monkeypatch.setenv("SITE_BACKUP", "a long passphrase")
    archive = source.backup()
    assert archive is not None
    files = backup.decrypt_backup(archive, "a long passphrase")
    assert files["site.toml"] == path.read_bytes()
    assert "keys.toml" in files
    assert not any(name.startswith("data/") for name in files)
    with pytest.raises(backup.WrongPassphraseError):
        backup.decrypt_backup(archive, "another passphrase")


def test_no_backup_without_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_BACKUP", "a long passphrase")
    source = SiteWebSource(load_site(write_site(tmp_path)), history=None,
                           engine=None, commit=lambda step: None)  # type: ignore[arg-type]
    assert source.backup() is None
