"""PostgreSQL: a customer INSERT fills the name-key tables once per statement, not once per row (issue 12)

The insert triggers of revisions 0003 and 0017 ran PL/pgSQL for every new customer: three INSERT .. ON
CONFLICT statements a row, the one-word keys through a call of the SQL function customer_name_keys_of that
PostgreSQL plans again on every call. A relink creating 600,000 customers of a million records spent most
of its create stage waiting on that (bench/README.md, issue 12, branch pgrelink). The INSERT triggers
become statement-level triggers over the statement's transition table (the rows it inserted): one
set-based INSERT per key table per statement, its keys de-duplicated and sorted before they meet the
indexes. They make the same rows, for every writer (a batch of a relink, one customer made on arrival, a
COPY); SQLite keeps its row triggers (it has no statement-level ones) and its bulk path
(store/survivorship.py). Updates and deletes keep their row triggers: they are few, and PostgreSQL allows
no transition table on a trigger with a column list (UPDATE OF search_name).

The key rules' home in application code is store/namekey.py; the SQL below is a frozen copy of it
(a migration must not change when the code does).

Revision ID: 0021
Revises: 0020
"""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Each word, and each word with one of its first 40 letters dropped (search_name holds only [a-z0-9 ]).
# The rows of the two per-customer tables are made de-duplicated and in the primary key's order (its
# collation, "C"), then inserted with no ON CONFLICT: a customer just inserted has no rows there yet (its id
# is new: the update and delete triggers take a customer's rows away with its name, and ids are never
# reused), and an ON CONFLICT insert probes the index for each row before its speculative insertion,
# then confirms it (a WAL record more a row). customer_name_words is shared by every holder of a word: there, a word already held is
# left as it is. Positions are generate_series(0, 40) cut to the word's length (the same ones as revisions
# 0003 and 0017): the planner knows that series' size, where for one bounded by an expression it assumes a
# thousand rows a word and sizes its hash tables for that on every statement.
KEYS_FUNCTION = """
CREATE FUNCTION customers_name_keys_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_name_keys (key, customer_id)
    SELECT DISTINCT CASE WHEN pos = 0 THEN word ELSE substr(word, 1, pos - 1) || substr(word, pos + 1) END COLLATE "C",
           c.id
    FROM inserted AS c, unnest(string_to_array(c.search_name, ' ')) AS word, generate_series(0, 40) AS pos
    WHERE c.search_name IS NOT NULL AND word <> '' AND pos <= length(word)
    ORDER BY 1, 2;
    RETURN NULL;
END
$$
"""
# For every two different words of a name (both orders): "exact other" and "exact " + other with one of
# its first 40 letters dropped; and each word under itself and its one-letter deletions.
PAIR_KEYS_FUNCTION = """
CREATE FUNCTION customers_name_pair_keys_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_name_pair_keys (key, customer_id)
    SELECT DISTINCT (exact || ' ' || CASE WHEN pos = 0 THEN other ELSE substr(other, 1, pos - 1) || substr(other, pos + 1) END)
           COLLATE "C", c.id
    FROM inserted AS c, unnest(string_to_array(c.search_name, ' ')) AS exact,
         unnest(string_to_array(c.search_name, ' ')) AS other, generate_series(0, 40) AS pos
    WHERE c.search_name IS NOT NULL AND exact <> '' AND other <> '' AND exact <> other AND pos <= length(other)
    ORDER BY 1, 2;
    INSERT INTO customer_name_words (variant, word)
    SELECT DISTINCT CASE WHEN pos = 0 THEN w ELSE substr(w, 1, pos - 1) || substr(w, pos + 1) END COLLATE "C", w COLLATE "C"
    FROM inserted AS c, unnest(string_to_array(c.search_name, ' ')) AS w, generate_series(0, 40) AS pos
    WHERE c.search_name IS NOT NULL AND w <> '' AND pos <= length(w)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""
STATEMENT_TRIGGERS = (
    "CREATE TRIGGER customers_name_keys_insert AFTER INSERT ON customers REFERENCING NEW TABLE AS inserted "
    "FOR EACH STATEMENT EXECUTE FUNCTION customers_name_keys_inserted()",
    "CREATE TRIGGER customers_name_pair_keys_insert AFTER INSERT ON customers REFERENCING NEW TABLE AS inserted "
    "FOR EACH STATEMENT EXECUTE FUNCTION customers_name_pair_keys_inserted()",
)
# Revisions 0003 and 0017, for the downgrade (their functions stay: the update and delete triggers use them).
ROW_TRIGGERS = (
    "CREATE TRIGGER customers_name_keys_insert AFTER INSERT ON customers FOR EACH ROW "
    "WHEN (NEW.search_name IS NOT NULL) EXECUTE FUNCTION customers_name_keys_sync()",
    "CREATE TRIGGER customers_name_pair_keys_insert AFTER INSERT ON customers FOR EACH ROW "
    "WHEN (NEW.search_name IS NOT NULL) EXECUTE FUNCTION customers_name_pair_keys_sync()",
)
TRIGGERS = ("customers_name_keys_insert", "customers_name_pair_keys_insert")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # DROP TRIGGER locks customers against writers until commit: no row is inserted between the two triggers.
    op.execute(KEYS_FUNCTION)
    op.execute(PAIR_KEYS_FUNCTION)
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON customers")
    for statement in STATEMENT_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON customers")
    for statement in ROW_TRIGGERS:
        op.execute(statement)
    op.execute("DROP FUNCTION customers_name_keys_inserted()")
    op.execute("DROP FUNCTION customers_name_pair_keys_inserted()")
