-- Accounts and their balances, in cents. A balance never goes negative.
CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner       text NOT NULL,
    currency    char(3) NOT NULL DEFAULT 'EUR',
    balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner, currency)
);

-- Every movement of money, written in the same transaction as the balances it changes.
CREATE TABLE transfers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_id     bigint NOT NULL REFERENCES accounts (id),
    to_id       bigint NOT NULL REFERENCES accounts (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (from_id <> to_id)
);
