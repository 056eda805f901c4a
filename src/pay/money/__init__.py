"""Money: the event-sourced wallet, recharges, withdrawals and transfers (SPEC "Money")."""
