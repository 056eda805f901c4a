from pay.platform.migrations import run_migrations

run_migrations()
