"""Scenery for the trust tests: two stores, three teams, every role, customers with full profiles and
customers whose names try to ping a channel."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from store.models import (
    AuditEvent, Consent, Customer, CustomerIdentifier, DeclaredPreference, FollowUp, Interaction, Store, Team,
    WebSignal,
)
from store.normalize import fold
from tests.support.world import count_written_history
from tests.support.people import employee_today

JEANNE_EMAIL = "jeanne.dupont@example.com"
JEANNE_PHONE = "+33611223344"
EVIL_EMAIL = "evil.name@example.com"
EVIL_FIRST, EVIL_LAST = "<!channel>", "<@U0NINA> <https://evil.example|click>"
SECRET_NOTE = "Jeanne confided she is moving to Nantes"


@dataclass(frozen=True)
class World:
    lea: int
    marc: int
    nina: int  # manager of Floor (Paris)
    omar: int  # manager of Stock (Paris)
    zoe: int  # manager of Lyon
    ada: int  # admin
    gone: int  # deactivated
    floor: int
    stock: int
    paris: int
    lyon: int
    jeanne: int
    evil: int
    erased: int


def _customer(session, first, last, **extra) -> int:
    customer = Customer(first_name=first, last_name=last, search_name=fold(f"{first} {last}"), **extra)
    session.add(customer)
    session.flush()
    for kind in ("email", "phone"):
        if extra.get(kind):
            session.add(CustomerIdentifier(customer_id=customer.id, kind=kind, value=extra[kind]))
    return customer.id


def build_world(session_factory, employee) -> World:
    with session_factory.begin() as session:
        paris, lyon = Store(code="PAR1", name="Paris Rivoli"), Store(code="LYO1", name="Lyon Part-Dieu")
        session.add_all([paris, lyon])
        session.flush()
        floor, stock, lyon_team = (Team(name="Floor", store_id=paris.id), Team(name="Stock", store_id=paris.id),
                                   Team(name="Lyon floor", store_id=lyon.id))
        session.add_all([floor, stock, lyon_team])
        session.flush()
        ids = paris.id, lyon.id, floor.id, stock.id, lyon_team.id
        jeanne = _customer(session, "Jeanne", "Dupont", email=JEANNE_EMAIL, phone=JEANNE_PHONE,
                           birth_date=dt.date(1980, 5, 17), street="12 rue de Rivoli", postcode="75001",
                           city="Paris", country="FR", loyalty_tier="Gold")
        evil = _customer(session, EVIL_FIRST, EVIL_LAST, email=EVIL_EMAIL, city="Lille")
        erased = _customer(session, None, None, status="erased")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        session.add_all([
            DeclaredPreference(customer_id=jeanne, category="size", label="shoes", value="38"),
            DeclaredPreference(customer_id=jeanne, category="brand", value="Aigle"),
            Consent(customer_id=jeanne, purpose="profiling", channel="any", granted=True, recorded_at=now,
                    source="web"),
            WebSignal(customer_id=jeanne, kind="wishlist", sku="TR1", product_name="Trench Ultraviolet",
                      occurred_at=now),
        ])
    paris_id, lyon_id, floor_id, stock_id, lyon_team_id = ids
    lea = employee("U0LEA", "Léa Martin", store_id=paris_id, team_id=floor_id)
    marc = employee("U0MARC", "Marc Petit", store_id=paris_id, team_id=floor_id)
    nina = employee("U0NINA", "Nina Roy", role="manager", store_id=paris_id, team_id=floor_id)
    omar = employee("U0OMAR", "Omar Haddad", role="manager", store_id=paris_id, team_id=stock_id)
    zoe = employee("U0ZOE", "Zoé Lambert", role="manager", store_id=lyon_id, team_id=lyon_team_id)
    ada = employee("U0ADA", "Ada Admin", role="admin")
    gone = employee("U0GONE", "Gaston Parti", store_id=paris_id, team_id=floor_id, active=False)
    with session_factory.begin() as session:
        session.add(Interaction(customer_id=jeanne, employee_id=lea, store_id=paris_id, team_id=floor_id,
                                channel="store", type="advice", outcome="resolved", note=SECRET_NOTE,
                                created_at=now - dt.timedelta(days=1)))
        count_written_history(session)
    return World(lea, marc, nina, omar, zoe, ada, gone, floor_id, stock_id, paris_id, lyon_id, jeanne, evil, erased)


def add_follow_up(session_factory, *, assignee: int, customer: int, note: str = "Call back") -> int:
    with session_factory.begin() as session:
        row = FollowUp(customer_id=customer, assignee_id=assignee, created_by_id=assignee, note=note,
                       due_date=employee_today())
        session.add(row)
        session.flush()
        return row.id


COUNTED = (Interaction, FollowUp, AuditEvent, DeclaredPreference, Customer, Consent)


def row_counts(session_factory) -> dict[str, int]:
    """How many rows each table a Slack request could write holds (to prove nothing changed)."""
    with session_factory() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def channel_posts(slack, since: int = 0):
    """Messages the bot put in a conversation other than the asker's DM (D...) or an app DM (U...)."""
    return [c for c in slack.calls_since(since)
            if c.method in ("chat.postMessage", "chat.update", "chat.scheduleMessage")
            and not str(c.args.get("channel", "")).startswith(("D", "U"))]
