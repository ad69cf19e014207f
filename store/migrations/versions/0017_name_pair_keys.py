"""name search over two common words: a key table per pair of words, kept by triggers on both databases

A typed name of two common words with one typo ("zoe martn") was found by reading every holder of one
word (~9,000 Zoes at 1M customers) and checking each for the other word's keys: ~30 ms of CPU per such
lookup, most of the name kind's mean (bench/README.md, issue 14). customer_name_pair_keys stores, for
every two different words a and b of customers.search_name (both orders), "a b" and "a " + b with one of
its letters dropped: "zoe martn" then reads "zoe " + the keys of martn and "martn " + zoe, a dozen
primary-key ranges holding only the customers within one typo of both words (store/search.py). The word
read exactly may be the mistyped one ("zoey martn" for Zoe Martin): customer_name_words keeps each word
of the names under itself and its one-letter deletions, so the words within one typo of a typed word are
one primary-key read, and each is read exactly in turn: the customers found are those within one typo of
both words, the same as reading every holder of one word.

Same shape as the one-word table (revisions 0002 to 0004): triggers keep it in step with search_name for
every writer and process. A customer's old rows are deleted by their keys, made again from the old name
(each a primary-key probe), not through an index on customer_id: every customer insert pays for each
index of this table, and an insert is what imports do millions of times. A word stays in
customer_name_words while a customer other than the renamed or deleted one holds it as a name key (an
erased customer's rare surname goes with them).

The rule's home in application code is store/namekey.py (`stored_pair_keys`); the SQL below is a frozen
copy of it (a migration must not change when the code does).

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# --- SQLite -----------------------------------------------------------------------------------------
# Positions 0..40: 0 keeps the other word whole, n drops its n-th letter. search_name holds only
# [a-z0-9 ] (store.normalize.fold), so turning it into a JSON array by replacing spaces is safe.
_POSITIONS = "[" + ",".join(str(i) for i in range(41)) + "]"
_WORDS = "json_each('[\"' || replace({name}, ' ', '\",\"') || '\"]')"
_PAIR_KEYS_OF = (
    "SELECT exact.value || ' ' || substr(other.value, 1, pos.value - 1) || substr(other.value, pos.value + 1) AS k, "
    "{id} FROM " + _WORDS + " AS exact, " + _WORDS + " AS other, "
    f"json_each('{_POSITIONS}') AS pos "
    "WHERE exact.value != '' AND other.value != '' AND exact.value != other.value "
    "AND pos.value <= length(other.value)"
)
_WORD_VARIANTS_OF = (
    "SELECT substr(word.value, 1, pos.value - 1) || substr(word.value, pos.value + 1) AS v, word.value AS w "
    "FROM " + _WORDS + " AS word, " + f"json_each('{_POSITIONS}') AS pos "
    "WHERE word.value != '' AND pos.value <= length(word.value)"
)
SQLITE_TABLES = (
    "CREATE TABLE customer_name_pair_keys (key VARCHAR(130) NOT NULL, customer_id INTEGER NOT NULL, "
    "PRIMARY KEY (key, customer_id)) WITHOUT ROWID",
    "CREATE TABLE customer_name_words (variant VARCHAR(64) NOT NULL, word VARCHAR(64) NOT NULL, "
    "PRIMARY KEY (variant, word)) WITHOUT ROWID",
)


def _sqlite_words_gone(kept: str) -> str:
    """Delete the old name's words that no other customer holds, except those of `kept` (a name)."""
    return ("DELETE FROM customer_name_words WHERE (variant, word) IN (SELECT v, w FROM ("
            + _WORD_VARIANTS_OF.format(name="coalesce(old.search_name, '')") + ") AS old_words "
            "WHERE w NOT IN (SELECT value FROM " + _WORDS.format(name=kept) + ") "
            "AND NOT EXISTS (SELECT 1 FROM customer_name_keys AS k WHERE k.key = w AND k.customer_id != old.id))")


_SQLITE_WORDS_IN = ("INSERT OR IGNORE INTO customer_name_words (variant, word) "
                    + _WORD_VARIANTS_OF.format(name="{name}"))
SQLITE_TRIGGERS = (
    "CREATE TRIGGER customers_name_pair_keys_insert AFTER INSERT ON customers WHEN new.search_name IS NOT NULL "
    "BEGIN INSERT OR IGNORE INTO customer_name_pair_keys (key, customer_id) "
    + _PAIR_KEYS_OF.format(id="new.id", name="new.search_name") + "; "
    + _SQLITE_WORDS_IN.format(name="new.search_name") + "; END",
    "CREATE TRIGGER customers_name_pair_keys_update AFTER UPDATE OF search_name, id ON customers "
    "BEGIN DELETE FROM customer_name_pair_keys WHERE customer_id = old.id AND key IN ("
    + _PAIR_KEYS_OF.format(id="old.id", name="coalesce(old.search_name, '')").replace(" AS k, old.id FROM", " FROM")
    + "); INSERT OR IGNORE INTO customer_name_pair_keys (key, customer_id) "
    + _PAIR_KEYS_OF.format(id="new.id", name="coalesce(new.search_name, '')") + "; "
    + _sqlite_words_gone("coalesce(new.search_name, '')") + "; "
    + _SQLITE_WORDS_IN.format(name="coalesce(new.search_name, '')") + "; END",
    "CREATE TRIGGER customers_name_pair_keys_delete AFTER DELETE ON customers "
    "BEGIN DELETE FROM customer_name_pair_keys WHERE customer_id = old.id AND key IN ("
    + _PAIR_KEYS_OF.format(id="old.id", name="coalesce(old.search_name, '')").replace(" AS k, old.id FROM", " FROM")
    + "); " + _sqlite_words_gone("''") + "; END",
)


def sqlite_backfill_sql() -> str:
    # Sorted inserts build the B-tree sequentially: much faster than trigger-by-trigger on big tables.
    return ("INSERT OR IGNORE INTO customer_name_pair_keys (key, customer_id) "
            + _PAIR_KEYS_OF.format(id="c.id", name="c.search_name")
            .replace(" FROM json_each", " FROM customers AS c, json_each", 1)
            + " AND c.search_name IS NOT NULL ORDER BY k, c.id")


def sqlite_words_backfill_sql() -> str:
    return ("INSERT OR IGNORE INTO customer_name_words (variant, word) SELECT DISTINCT v, w FROM ("
            + _WORD_VARIANTS_OF.format(name="c.search_name").replace(" FROM json_each", " FROM customers AS c, json_each", 1)
            + " AND c.search_name IS NOT NULL) ORDER BY v, w")


# --- PostgreSQL -------------------------------------------------------------------------------------
PAIR_KEYS_FUNCTION = """
CREATE OR REPLACE FUNCTION customer_name_pair_keys_of(name text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT exact || ' ' || CASE WHEN pos = 0 THEN other ELSE substr(other, 1, pos - 1) || substr(other, pos + 1) END
    FROM unnest(string_to_array(name, ' ')) AS exact, unnest(string_to_array(name, ' ')) AS other,
         generate_series(0, least(length(other), 40)) AS pos
    WHERE exact <> '' AND other <> '' AND exact <> other
$$
"""
WORD_VARIANTS_FUNCTION = """
CREATE OR REPLACE FUNCTION customer_name_word_variants_of(name text) RETURNS TABLE (variant text, word text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT CASE WHEN pos = 0 THEN w ELSE substr(w, 1, pos - 1) || substr(w, pos + 1) END, w
    FROM unnest(string_to_array(name, ' ')) AS w, generate_series(0, least(length(w), 40)) AS pos
    WHERE w <> ''
$$
"""
# The trigger writes the rows with the functions' bodies inline, not by calling them: PL/pgSQL keeps its
# statements' plans for the session, where a call to a set-returning SQL function is planned again on
# every row (measured: 0.8 ms of server CPU per new customer, most of the trigger's cost).
_PAIR_KEYS_OF_NAME = """
    SELECT exact || ' ' || CASE WHEN pos = 0 THEN other ELSE substr(other, 1, pos - 1) || substr(other, pos + 1) END
    FROM unnest(string_to_array({name}, ' ')) AS exact, unnest(string_to_array({name}, ' ')) AS other,
         generate_series(0, least(length(other), 40)) AS pos
    WHERE exact <> '' AND other <> '' AND exact <> other"""
_WORD_VARIANTS_OF_NAME = """
    SELECT CASE WHEN pos = 0 THEN w ELSE substr(w, 1, pos - 1) || substr(w, pos + 1) END AS variant, w AS word
    FROM unnest(string_to_array({name}, ' ')) AS w, generate_series(0, least(length(w), 40)) AS pos
    WHERE w <> ''"""
SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION customers_name_pair_keys_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kept text[] := '{}';
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.search_name IS NOT NULL THEN
        kept := string_to_array(NEW.search_name, ' ');
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.search_name IS NOT NULL THEN
        DELETE FROM customer_name_pair_keys
        WHERE customer_id = OLD.id AND key = ANY (ARRAY(""" + _PAIR_KEYS_OF_NAME.format(name="OLD.search_name") + """));
        DELETE FROM customer_name_words AS w
        USING (""" + _WORD_VARIANTS_OF_NAME.format(name="OLD.search_name") + """) AS gone
        WHERE w.variant = gone.variant AND w.word = gone.word AND gone.word <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM customer_name_keys AS k WHERE k.key = gone.word AND k.customer_id <> OLD.id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.search_name IS NOT NULL THEN
        INSERT INTO customer_name_pair_keys (key, customer_id)
        SELECT key, NEW.id FROM (""" + _PAIR_KEYS_OF_NAME.format(name="NEW.search_name") + """) AS made (key)
        ON CONFLICT DO NOTHING;
        INSERT INTO customer_name_words (variant, word)
        """ + _WORD_VARIANTS_OF_NAME.format(name="NEW.search_name") + """
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER customers_name_pair_keys_insert AFTER INSERT ON customers FOR EACH ROW "
    "WHEN (NEW.search_name IS NOT NULL) EXECUTE FUNCTION customers_name_pair_keys_sync()",
    "CREATE TRIGGER customers_name_pair_keys_update AFTER UPDATE OF search_name, id ON customers FOR EACH ROW "
    "WHEN (OLD.search_name IS DISTINCT FROM NEW.search_name OR OLD.id <> NEW.id) "
    "EXECUTE FUNCTION customers_name_pair_keys_sync()",
    "CREATE TRIGGER customers_name_pair_keys_delete AFTER DELETE ON customers FOR EACH ROW "
    "WHEN (OLD.search_name IS NOT NULL) EXECUTE FUNCTION customers_name_pair_keys_sync()",
)
# COLLATE "C": the prefix range of the word being typed ("zoe mart" -> "zoe martin") is a byte-order scan.
POSTGRES_TABLES = (
    "CREATE TABLE customer_name_pair_keys (key text COLLATE \"C\" NOT NULL, customer_id integer NOT NULL)",
    "CREATE TABLE customer_name_words (variant text COLLATE \"C\" NOT NULL, word text COLLATE \"C\" NOT NULL)",
)
POSTGRES_PRIMARY_KEY = "ALTER TABLE customer_name_pair_keys ADD PRIMARY KEY (key, customer_id)"
POSTGRES_WORDS_PRIMARY_KEY = "ALTER TABLE customer_name_words ADD PRIMARY KEY (variant, word)"
POSTGRES_BACKFILL = (
    "INSERT INTO customer_name_pair_keys (key, customer_id) "
    "SELECT key, c.id FROM customers AS c, customer_name_pair_keys_of(c.search_name) AS key "
    "WHERE c.search_name IS NOT NULL"
)
POSTGRES_WORDS_BACKFILL = (
    "INSERT INTO customer_name_words (variant, word) "
    "SELECT DISTINCT v.variant, v.word FROM customers AS c, customer_name_word_variants_of(c.search_name) AS v "
    "WHERE c.search_name IS NOT NULL"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Writers wait until the triggers exist: none of their rows can fall between backfill and trigger.
        op.execute("LOCK TABLE customers IN SHARE ROW EXCLUSIVE MODE")
        for table in POSTGRES_TABLES:
            op.execute(table)
        op.execute(PAIR_KEYS_FUNCTION)
        op.execute(WORD_VARIANTS_FUNCTION)
        op.execute(SYNC_FUNCTION)
        # Filled before the primary keys exist: one sorted index build instead of millions of inserts into it.
        op.execute(POSTGRES_BACKFILL)
        op.execute(POSTGRES_PRIMARY_KEY)
        op.execute(POSTGRES_WORDS_BACKFILL)
        op.execute(POSTGRES_WORDS_PRIMARY_KEY)
        for trigger in POSTGRES_TRIGGERS:
            op.execute(trigger)
        op.execute("ANALYZE customer_name_pair_keys")
        op.execute("ANALYZE customer_name_words")
    else:
        for table in SQLITE_TABLES:
            op.execute(table)
        op.execute(sqlite_backfill_sql())
        op.execute(sqlite_words_backfill_sql())
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS customers_name_pair_keys_{name}" + (" ON customers" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS customers_name_pair_keys_sync()")
        op.execute("DROP FUNCTION IF EXISTS customer_name_pair_keys_of(text)")
        op.execute("DROP FUNCTION IF EXISTS customer_name_word_variants_of(text)")
    op.execute("DROP TABLE IF EXISTS customer_name_words")
    op.execute("DROP TABLE IF EXISTS customer_name_pair_keys")
