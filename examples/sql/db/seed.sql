-- Reference rows every test may rely on; seeded once into the template, cloned everywhere.
INSERT INTO accounts (owner, currency, balance) VALUES
    ('bank', 'EUR', 1000000),
    ('fees', 'EUR', 0);
