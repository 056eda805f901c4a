"""Franchise's own settings (`PAY_*`), besides those every service shares: none yet."""

from pay.platform.settings import Settings


class FranchiseSettings(Settings):
    service: str = "franchise"
