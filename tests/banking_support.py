"""What banking's tests share, unit and integration alike: the accounts they name and the time rules of
their firm banking requests."""

from datetime import UTC, datetime, timedelta

from pay.banking.domain.model import AccountRef, Deadlines
from pay.platform.retry import RetryPolicy
from pay.platform.settings import Settings

BANK = "KB"
HOLDER = "Kim"
# The platform's corporate account as every service (and the bank simulator's seed) knows it by default.
CORPORATE = AccountRef(
    Settings.model_fields["corporate_bank_name"].default,
    Settings.model_fields["corporate_bank_account_number"].default,
)

# For the use cases and the domain, on a clock of their own.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINES = Deadlines(
    send_window=timedelta(seconds=60),
    not_received_grace=timedelta(seconds=10),
    lease=timedelta(seconds=5),
    recheck=RetryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=4)),
)
KB, OTHER = AccountRef(BANK, "110-1"), AccountRef(BANK, "110-2")
# A fintech-use number, as the bank issues them.
FINTECH = "1" * 24
