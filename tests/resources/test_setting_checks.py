"""Settings are checked when resources load; each error names the environment variable and the bad value."""

from __future__ import annotations

import dagster as dg
import pytest
from pydantic import ValidationError

from resources.intercom.resource import IntercomResource
from resources.setting_checks import ISO_4217, SettingError, database_url, fx_rates, timezone
from resources.settings import SyncSettings
from resources.stripe import StripeResource
from resources.warehouse import create_warehouse_engine


@pytest.mark.parametrize(
    ("rates", "reason"),
    [
        ("eur=abc", "the rate of eur ('abc') is not a positive number"),
        ("eur=0", "the rate of eur ('0') is not a positive number"),
        ("eur=nan", "the rate of eur ('nan') is not a positive number"),
        ("xyz=1.2", "'xyz' is not an ISO 4217 currency code"),
        ("eur:1.08", "entry 'eur:1.08' is not of the form 'eur=1.08'"),
    ],
)
def test_a_bad_fx_rate_is_refused_naming_the_variable_and_value(rates, reason):
    with pytest.raises(ValidationError) as raised:
        SyncSettings(fx_rates=rates)
    assert f"REVSYNC_FX_RATES={rates!r}: {reason}" in str(raised.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: SyncSettings(reporting_currency="xyz"),
            "REVSYNC_REPORTING_CURRENCY='xyz': not an ISO 4217 currency code (e.g. usd, eur, gbp)",
        ),
        (lambda: SyncSettings(as_of="03/15/2024"), "settings.as_of='03/15/2024': not an ISO-8601 time"),
        (lambda: SyncSettings(account_metadata_key=" "), "REVSYNC_STRIPE_ACCOUNT_METADATA_KEY=' ': must not be empty"),
        (lambda: SyncSettings(max_error_rate=5), "max_error_rate\n  Input should be less than or equal to 1"),
        (
            lambda: IntercomResource(access_token="t", region="mars"),
            "INTERCOM_REGION='mars': not one of ['au', 'eu', 'us']",
        ),
        (
            lambda: IntercomResource(access_token="t", base_url="intercom.local"),
            "INTERCOM_BASE_URL='intercom.local': not an http(s) URL",
        ),
        (
            lambda: StripeResource(api_key="k", base_url="ftp://stripe"),
            "STRIPE_BASE_URL='ftp://stripe': not an http(s) URL",
        ),
    ],
)
def test_a_bad_setting_is_refused_when_the_resource_loads(make, message):
    with pytest.raises(ValidationError) as raised:
        make()
    assert message in str(raised.value)


def test_env_vars_are_checked_once_resolved_not_at_definition():
    settings = SyncSettings(reporting_currency=dg.EnvVar("REVSYNC_REPORTING_CURRENCY"), fx_rates=dg.EnvVar("X_RATES"))
    assert isinstance(settings, SyncSettings)


def test_good_settings_are_normalised():
    settings = SyncSettings(reporting_currency="EUR", fx_rates=" usd = 0.93 , GBP=1.17 ")
    assert settings.parsed_fx_rates() == {"eur": "1", "usd": "0.93", "gbp": "1.17"}
    assert fx_rates("X", "") == {}
    assert timezone("TZ", "Europe/Paris") == "Europe/Paris"
    assert {"usd", "eur", "jpy", "gbp"} <= ISO_4217 and "xyz" not in ISO_4217


def test_a_malformed_database_url_never_shows_its_password():
    with pytest.raises(SettingError) as raised:
        database_url("REVSYNC_WAREHOUSE_URL", "postgresql://u:hunter2@:x:y/db")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(SettingError) as raised:
        create_warehouse_engine("not a url :// hunter2")
    assert "hunter2" not in str(raised.value) and "REVSYNC_WAREHOUSE_URL" in str(raised.value)


def test_an_unknown_timezone_is_named():
    with pytest.raises(SettingError, match=r"REVSYNC_SCHEDULE_TIMEZONE='Mars/Base': not an IANA timezone"):
        timezone("REVSYNC_SCHEDULE_TIMEZONE", "Mars/Base")
