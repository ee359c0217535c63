"""A tiny ledger on plain SQL and psycopg 3: accounts, transfers, an audit trail."""
