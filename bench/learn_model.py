"""Learn the model relink would learn (EM weights and first-name aliases) on a world's source records and
keep it as the latest `learned_match_models` row, so that bench/arrival.py measures arrivals weighed as on a
relinked base. It writes: run it on a copy.

    cp --reflink=auto /tmp/arrival-main.db /tmp/arrival-copy.db
    .venv/bin/python bench/learn_model.py sqlite:////tmp/arrival-copy.db
    .venv/bin/python bench/arrival.py --url sqlite:////tmp/arrival-copy.db --arrivals 300
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from store.clock import utc_now
from store.db import make_engine, make_session_factory
from store.identity import IdentityRecord, estimate, model_as_json
from store.models import LearnedMatchModel, SourceRecord

COLUMNS = (SourceRecord.id, SourceRecord.first_name, SourceRecord.last_name, SourceRecord.email, SourceRecord.phone,
           SourceRecord.birth_date, SourceRecord.street, SourceRecord.postcode, SourceRecord.city,
           SourceRecord.country, SourceRecord.loyalty_id)


def main() -> None:
    factory = make_session_factory(make_engine(sys.argv[1]))
    with factory.begin() as session:
        records = [IdentityRecord(*row) for row in session.execute(select(*COLUMNS))]
        started = time.process_time()
        model, found = estimate(records)
        print(f"{len(records):,} records: estimate {time.process_time() - started:.1f} s CPU, "
              f"{found.aliases} first-name aliases; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        session.add(LearnedMatchModel(records=found.records, parameters=model_as_json(model), estimated_at=utc_now()))


if __name__ == "__main__":
    main()
