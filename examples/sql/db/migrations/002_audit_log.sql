-- An audit trail filled by a trigger, so no code path can forget it.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    old_balance bigint NOT NULL,
    new_balance bigint NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION log_balance_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.balance <> OLD.balance THEN
        INSERT INTO audit_log (account_id, old_balance, new_balance)
        VALUES (NEW.id, OLD.balance, NEW.balance);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER accounts_audit
    AFTER UPDATE OF balance ON accounts
    FOR EACH ROW EXECUTE FUNCTION log_balance_change();
