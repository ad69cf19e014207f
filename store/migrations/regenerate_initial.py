"""Pre-release helper: rewrite revision 0001 from the models (no database has shipped yet).

Once a release ships, schema changes get new revisions with `alembic revision --autogenerate`
instead, and this script is deleted.
"""
import sys
import tempfile
from pathlib import Path

from alembic import command

from store.db import MIGRATIONS_DIR, _alembic_config

initial = MIGRATIONS_DIR / "versions" / "0001_initial.py"
initial.unlink(missing_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{Path(tmp) / 'empty.db'}"
    command.revision(_alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001")
generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
generated.rename(initial)
print(f"wrote {initial}", file=sys.stderr)
