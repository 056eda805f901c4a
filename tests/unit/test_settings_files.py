"""`PAY_X_FILE`: any setting read from a file, as Docker Compose and Kubernetes secrets are handed over."""

from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from pay.membership.settings import MembershipSettings
from pay.platform.settings import Settings


def test_a_setting_comes_from_the_file_its_file_variable_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("eyJ.service.token\n")
    (tmp_path / "url").write_text("postgresql+asyncpg://pay:secret@db/pay_money")
    monkeypatch.setenv("PAY_SERVICE_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("PAY_DATABASE_URL_FILE", str(tmp_path / "url"))
    settings = Settings()
    assert settings.service_token is not None
    assert settings.service_token.get_secret_value() == "eyJ.service.token"
    assert settings.database_url == "postgresql+asyncpg://pay:secret@db/pay_money"


def test_a_service_s_own_settings_and_structured_ones_come_from_files_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "password").write_text("correct horse battery staple\n\n")
    (tmp_path / "urls").write_text('{"bank": "https://bank.example"}\n')
    monkeypatch.setenv("PAY_ADMIN_PASSWORD_FILE", str(tmp_path / "password"))
    monkeypatch.setenv("PAY_SERVICE_URLS_FILE", str(tmp_path / "urls"))
    settings = MembershipSettings()
    assert settings.admin_password.get_secret_value() == "correct horse battery staple"
    assert settings.service_urls == {"bank": "https://bank.example"}


def test_a_pem_key_keeps_its_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
    (tmp_path / "public.pem").write_text(pem)
    monkeypatch.setenv("PAY_JWT_PUBLIC_KEY_FILE", str(tmp_path / "public.pem"))
    assert Settings().jwt_public_key == pem.rstrip("\n")


def test_a_setting_given_both_ways_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "url").write_text("nats://from-file:4222")
    monkeypatch.setenv("PAY_BROKER_URL", "nats://from-environment:4222")
    monkeypatch.setenv("PAY_BROKER_URL_FILE", str(tmp_path / "url"))
    with pytest.raises(SettingsError, match="both PAY_BROKER_URL and PAY_BROKER_URL_FILE"):
        Settings()


def test_a_missing_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAY_SERVICE_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="PAY_SERVICE_TOKEN_FILE: cannot read"):
        Settings()


def test_what_is_given_in_code_wins_over_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "service").write_text("money")
    monkeypatch.setenv("PAY_SERVICE_FILE", str(tmp_path / "service"))
    assert Settings().service == "money"
    assert Settings(service="banking").service == "banking"
