-- sync-server's own schema on PostgreSQL (the synced tables are made from the configuration).
-- Text columns use the "C" collation: byte order, as on SQLite, so `id` and date-time order
-- agree with the clients' keyset cursor whatever the database's default collation.

-- Per table: the last `updatedAt` handed out, in milliseconds since the epoch. Every write locks
-- its table's row first (INSERT … ON CONFLICT DO UPDATE), which makes `updatedAt` strictly
-- increasing and unique per table across every server on the database.
CREATE TABLE IF NOT EXISTS __sync_clock (
    name text COLLATE "C" PRIMARY KEY,
    last_ms bigint NOT NULL
);

-- Column types that PostgreSQL stores as text but whose protocol type a dynamic table must read
-- back from the catalogue: UTC instants as canonical text (`YYYY-MM-DDTHH:MM:SS.sssZ`, so text
-- order is time order) and JSON values as JSON text.
DO $$ BEGIN
    CREATE DOMAIN sync_datetime AS text COLLATE "C";
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
    CREATE DOMAIN sync_json AS text COLLATE "C";
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
