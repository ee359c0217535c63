"""Where a server comes from: embedded PostgreSQL, embedded Redis, and their binaries."""
