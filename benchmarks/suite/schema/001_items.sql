CREATE TABLE items (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    qty  integer NOT NULL CHECK (qty >= 0)
);
