"""name search on PostgreSQL through the same one-deletion key table as SQLite, kept by a PL/pgSQL trigger

At 1,000,000 customers the pg_trgm index of revision 0002 needed a low word-similarity threshold (0.45)
to let one typo in a short name through; at that threshold common names match tens of thousands of
rows and the query took 100-600 ms (bench/README.md "## Lookup"). The key table answers the same
question with a few B-tree range lookups (index-only), as it does on SQLite, so both databases run
the same candidate queries. The trigger, not application code, keeps it in step with
customers.search_name: every writer (imports, relink/merges, erasure setting search_name NULL, demo,
other bot processes) is covered. The trigram index is dropped: nothing queries it any more and every
write to customers paid for it.

The key rule's home in application code is store/namekey.py; the PL/pgSQL below is a frozen copy of it
(a migration must not change when the code does).

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Same keys as SQLite's (revision 0002): each word, and each word with one of its first 40 letters
# dropped. search_name holds only [a-z0-9 ] (store.normalize.fold).
KEYS_FUNCTION = """
CREATE OR REPLACE FUNCTION customer_name_keys_of(name text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT CASE WHEN pos = 0 THEN word ELSE substr(word, 1, pos - 1) || substr(word, pos + 1) END
    FROM unnest(string_to_array(name, ' ')) AS word, generate_series(0, least(length(word), 40)) AS pos
    WHERE word <> ''
$$
"""
SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION customers_name_keys_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM customer_name_keys WHERE customer_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.search_name IS NOT NULL THEN
        INSERT INTO customer_name_keys (key, customer_id)
        SELECT key, NEW.id FROM customer_name_keys_of(NEW.search_name) AS key
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER customers_name_keys_insert AFTER INSERT ON customers FOR EACH ROW "
    "WHEN (NEW.search_name IS NOT NULL) EXECUTE FUNCTION customers_name_keys_sync()",
    "CREATE TRIGGER customers_name_keys_update AFTER UPDATE OF search_name, id ON customers FOR EACH ROW "
    "WHEN (OLD.search_name IS DISTINCT FROM NEW.search_name OR OLD.id <> NEW.id) "
    "EXECUTE FUNCTION customers_name_keys_sync()",
    "CREATE TRIGGER customers_name_keys_delete AFTER DELETE ON customers FOR EACH ROW "
    "EXECUTE FUNCTION customers_name_keys_sync()",
)
# COLLATE "C": the prefix search ("dupo" -> dupont) is a byte-order range scan whatever the database locale.
POSTGRES_TABLE = "CREATE TABLE customer_name_keys (key text COLLATE \"C\" NOT NULL, customer_id integer NOT NULL)"
POSTGRES_PRIMARY_KEY = "ALTER TABLE customer_name_keys ADD PRIMARY KEY (key, customer_id)"
POSTGRES_BACKFILL = (
    "INSERT INTO customer_name_keys (key, customer_id) "
    "SELECT key, c.id FROM customers AS c, customer_name_keys_of(c.search_name) AS key "
    "WHERE c.search_name IS NOT NULL"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite got its key table in 0002
    # Writers wait until the triggers exist: none of their rows can fall between backfill and trigger.
    op.execute("LOCK TABLE customers IN SHARE ROW EXCLUSIVE MODE")
    op.execute(POSTGRES_TABLE)
    op.execute(KEYS_FUNCTION)
    op.execute(SYNC_FUNCTION)
    # Filled before the primary key exists: one sorted index build instead of millions of inserts into it.
    op.execute(POSTGRES_BACKFILL)
    op.execute(POSTGRES_PRIMARY_KEY)
    for trigger in POSTGRES_TRIGGERS:
        op.execute(trigger)
    op.execute("DROP INDEX IF EXISTS ix_customers_search_name_trgm")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_customers_search_name_trgm ON customers USING gin (search_name gin_trgm_ops)")
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS customers_name_keys_{name} ON customers")
    op.execute("DROP FUNCTION IF EXISTS customers_name_keys_sync()")
    op.execute("DROP FUNCTION IF EXISTS customer_name_keys_of(text)")
    op.execute("DROP TABLE IF EXISTS customer_name_keys")
