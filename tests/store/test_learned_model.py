"""A batch relink learns its weights from the base and keeps them, so that a record arriving alone is
weighed as the next relink will weigh it (issue 12, "incremental and batch agree")."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bench.registry_people import generate
from store import resolution
from store.identity import DEFAULT_MODEL, IdentityRecord, link_records
from store.models import LearnedMatchModel, SourceRecord
from store.resolution import learned_model, relink
from store.vocabulary import EvidenceField
from tests.store.resolution_fixtures import add_record


def test_relink_keeps_the_learned_weights_and_arrivals_are_weighed_with_them(session_factory, monkeypatch):
    monkeypatch.setattr(resolution, "LEARN_FROM", 300)  # the EM needs a base, not thousands here
    with session_factory.begin() as session:
        assert learned_model(session) == DEFAULT_MODEL  # nothing learned yet: the hand-set weights
        for source, person, record in generate(200, seed=5):
            add_record(session, source, f"{person}-{record.key}", first_name=record.first_name,
                       last_name=record.last_name, birth_date=record.birth_date, street=record.street,
                       postcode=record.postcode, city=record.city)
        relink(session)
    with session_factory() as session:
        records = session.scalar(select(func.count()).select_from(SourceRecord))
        [stored] = session.scalars(select(LearnedMatchModel)).all()
        model = learned_model(session)
    assert stored.records == records >= 300
    assert model != DEFAULT_MODEL and model.m_first != DEFAULT_MODEL.m_first
    assert "m_first" in stored.parameters and not any(isinstance(v, str) for v in stored.parameters.values())
    # names only in the alias table (pairs of first names, none learned from these registry records)
    assert stored.parameters["first_name_aliases"] == [] and model.first_name_aliases == frozenset()
    # an arrival linked with the stored model is weighed with the learned weights, not the hand-set ones
    pair = [IdentityRecord(n, "Claire", "Moreau", None, None, dt.date(1971, 3, 2), "3 rue Pasteur", "69003",
                           None, "FR", None) for n in (1, 2)]

    def first_name_bits(weights):
        [decision] = link_records(pair, model=weights).links
        return next(line.bits for line in decision.evidence if line.field == EvidenceField.FIRST_NAME)

    assert first_name_bits(model) != first_name_bits(DEFAULT_MODEL)


def test_a_small_base_keeps_the_hand_set_weights(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Claire", last_name="Moreau", postcode="69003")
        relink(session)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LearnedMatchModel)) == 0
        assert learned_model(session) == DEFAULT_MODEL
