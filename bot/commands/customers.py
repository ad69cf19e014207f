"""Identity commands for admins: `review list|accept|reject`, `merge`, `unmerge`, `customers show`, `relink`.

These print customer details (names, e-mails) on the admin's terminal; nothing of it is logged.
"""
from __future__ import annotations

import sys
import time

from sqlalchemy import select

from bot.commands import CommandError, WholeNumber, open_database, record_id
from store.identity import describe_evidence
from bot.commands.output import SafeCsvWriter
from store.merging import MergeError, merge_customers, unmerge
from store.models import Customer, CustomerIdentifier, MergeEvent, SourceRecord
from store.resolution import relink, thresholds_from_settings
from store.review import ReviewError, accept, count_pending, list_pending, reject, set_steward, stewards
from store.survivorship import GOLDEN_FIELDS
from store.vocabulary import MergeReason

ACTOR = "cli"


def add_commands(subparsers) -> None:
    review = subparsers.add_parser("review", help="decide uncertain customer matches (same person or not)")
    actions = review.add_subparsers(metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show pending matches, most likely first")
    listing.add_argument("--limit", type=WholeNumber("limit", 1, 10_000), default=None,
                         help="at most this many (default 20; with --csv, all)")
    listing.add_argument("--csv", action="store_true",
                         help="for scripts: review_id,score,source_a,source_id_a,source_b,source_id_b (header + rows)")
    listing.set_defaults(run=run_review_list)
    stewards = actions.add_parser("stewards", help="who may answer the review queue in Slack (/review, App Home)",
                                  description="Data stewards answer possible duplicates in Slack. Admins always "
                                  "may; grant it to others here. Every change is audited.")
    steward_actions = stewards.add_subparsers(metavar="ACTION", required=True)
    steward_actions.add_parser("list", help="employees granted data_steward").set_defaults(run=run_stewards_list)
    for name, text in (("add", "grant data_steward to an employee"), ("remove", "revoke it")):
        change = steward_actions.add_parser(name, help=text)
        change.add_argument("slack_user_id", help="the employee's Slack user id (U…)")
        change.set_defaults(run=run_steward_change, granted=name == "add")
    for name, text in (("accept", "same person: link the records and merge their customers"),
                       ("reject", "different people: keep these records apart from now on")):
        action = actions.add_parser(name, help=text)
        action.add_argument("review_id", type=record_id("review id"), help="review id (from `frontline review list`)")
        action.set_defaults(run=run_review_decision, decision=name)

    merge = subparsers.add_parser("merge", help="merge customer B into customer A (A keeps its id)")
    merge.add_argument("customer_a", type=record_id("customer id"), help="surviving customer id")
    merge.add_argument("customer_b", type=record_id("customer id"), help="customer id merged into A")
    merge.set_defaults(run=run_merge)
    undo = subparsers.add_parser("unmerge", help="undo a merge exactly, and keep the two customers apart")
    undo.add_argument("merge_event_id", type=record_id("merge id"), help="merge id (printed by merge, shown by customers show)")
    undo.set_defaults(run=run_unmerge)

    customers = subparsers.add_parser("customers", help="inspect customers")
    customer_actions = customers.add_subparsers(metavar="ACTION", required=True)
    show = customer_actions.add_parser("show", help="golden record with the source of every field")
    show.add_argument("customer_id", type=record_id("customer id"))
    show.set_defaults(run=run_show)

    again = subparsers.add_parser("relink", help="run identity resolution over all source records now",
                                  description="Link source records into customers. Safe to repeat. Existing "
                                  "customers merge only on new evidence unless --reconsider is given.")
    again.add_argument("--reconsider", action="store_true",
                       help="let any cluster merge existing customers (after changing FRONTLINE_MATCH_MERGE)")
    again.set_defaults(run=run_relink)


def _fail(error: Exception) -> CommandError:
    return CommandError(str(error))


def _record_line(record) -> str:
    name = " ".join(v for v in (record.first_name, record.last_name) if v) or "(no name)"
    details = [d for d in (record.email, record.phone, record.birth_date and record.birth_date.isoformat(),
                           " ".join(v for v in (record.postcode, record.city) if v), record.loyalty_id and
                           f"loyalty {record.loyalty_id}") if d]
    owner = f"customer {record.customer_id}" if record.customer_id else "unlinked"
    return f"{record.source}:{record.source_id} ({owner}) {name} | {' | '.join(details)}"


CSV_HEADER = ("review_id", "score", "source_a", "source_id_a", "source_b", "source_id_b")


def run_review_list(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            pending = list_pending(session, args.limit or (None if args.csv else 20))
            total = count_pending(session)
    finally:
        engine.dispose()
    if args.csv:
        # Source ids are whatever the source system sent: a leading = or + is written as text (SafeCsvWriter).
        writer = SafeCsvWriter(sys.stdout)
        writer.writerow(CSV_HEADER)
        for review in pending:
            writer.writerow((review.id, f"{review.score:.4f}", review.a.source, review.a.source_id,
                             review.b.source, review.b.source_id))
        return 0
    if not pending:
        print("No match waiting for review.")
        return 0
    for review in pending:
        print(f"#{review.id}  score {review.score:.2f}  {', '.join(review.reasons)}")
        if review.evidence:
            print(f"    evidence (bits)  {describe_evidence(review.evidence)}")
        print(f"    A  {_record_line(review.a)}")
        print(f"    B  {_record_line(review.b)}")
    print(f"{len(pending)} of {total} pending. Decide with `frontline review accept ID` or `reject ID`.")
    return 0


def run_stewards_list(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            granted = stewards(session)
    finally:
        engine.dispose()
    for slack_user_id, name in granted:
        print(f"{slack_user_id}  {name}")
    print(f"{len(granted)} data steward(s) besides the admins.")
    return 0


def run_steward_change(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            changed = set_steward(session, args.slack_user_id, args.granted, actor=ACTOR)
    except ReviewError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    state = "is now a data steward" if args.granted else "is no longer a data steward"
    print(f"{args.slack_user_id} {state}." if changed else f"{args.slack_user_id}: nothing to change.")
    return 0


def run_review_decision(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            if args.decision == "accept":
                event_id = accept(session, args.review_id, ACTOR)
                message = (f"Review {args.review_id} accepted: merged (merge {event_id})." if event_id
                           else f"Review {args.review_id} accepted: the records already share a customer.")
            else:
                reject(session, args.review_id, ACTOR)
                message = f"Review {args.review_id} rejected: these records will be kept apart."
    except ReviewError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    print(message)
    return 0


def run_merge(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            event = merge_customers(session, survivor_id=args.customer_a, absorbed_id=args.customer_b,
                                    actor=ACTOR, reason=MergeReason.MANUAL)
            event_id = event.id
    except MergeError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    print(f"Customer {args.customer_b} merged into {args.customer_a} (merge {event_id}; "
          f"undo with `frontline unmerge {event_id}`).")
    return 0


def run_unmerge(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            event = session.get(MergeEvent, args.merge_event_id)
            unmerge(session, merge_event_id=args.merge_event_id, actor=ACTOR)
            sides = (event.survivor_id, event.absorbed_id)
    except MergeError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    print(f"Merge {args.merge_event_id} undone: customers {sides[0]} and {sides[1]} are separate again "
          "and will be kept apart.")
    return 0


def run_show(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            customer = session.get(Customer, args.customer_id)
            if customer is None:
                raise _fail(ValueError(f"customer {args.customer_id} does not exist"))
            identifiers = session.execute(
                select(CustomerIdentifier.kind, CustomerIdentifier.value).where(
                    CustomerIdentifier.customer_id == customer.id).order_by(CustomerIdentifier.kind,
                                                                            CustomerIdentifier.value)).all()
            records = session.scalars(select(SourceRecord).where(SourceRecord.customer_id == customer.id)
                                      .order_by(SourceRecord.source, SourceRecord.source_id)).all()
            merges = session.scalars(select(MergeEvent).where(
                (MergeEvent.survivor_id == customer.id) | (MergeEvent.absorbed_id == customer.id))
                .order_by(MergeEvent.id)).all()
            lines = [f"Customer {customer.id} ({customer.status}"
                     + (f", merged into {customer.merged_into_id}" if customer.merged_into_id else "") + ")"]
            for name in GOLDEN_FIELDS:
                value = getattr(customer, name)
                if value is None:
                    continue
                origin = (customer.provenance or {}).get(name) or {}
                where = f"{origin.get('source')}:{origin.get('source_id')}" if origin.get("source_id") else \
                    origin.get("source", "-")
                lines.append(f"  {name:<19}{value!s:<40} from {where}")
            lines.append("Identifiers: " + (", ".join(f"{k} {v}" for k, v in identifiers) or "none"))
            lines.append(f"Source records ({len(records)}):")
            lines += [f"  {_record_line(record)}" for record in records]
            for event in merges:
                state = f"undone {event.undone_at:%Y-%m-%d}" if event.undone_at else "in place"
                lines.append(f"Merge {event.id}: {event.absorbed_id} into {event.survivor_id}, {event.reason} "
                             f"by {event.actor} on {event.at:%Y-%m-%d} ({state})")
    finally:
        engine.dispose()
    print("\n".join(lines))
    return 0


def run_relink(args, settings) -> int:
    try:
        thresholds = thresholds_from_settings(settings)
    except ValueError as error:
        raise _fail(error) from None
    engine, session_factory = open_database(settings)
    try:
        bar = RelinkBar(sys.stderr) if sys.stderr.isatty() else None
        with session_factory.begin() as session:
            report = relink(session, thresholds=thresholds, actor=ACTOR, via="cli", reconsider=args.reconsider,
                            progress=bar)
    finally:
        engine.dispose()
    if bar:
        sys.stderr.write("\n")
    print(report.summary())
    return 0


class RelinkBar:
    """relink's progress on one stderr line, redrawn at most twice a second: at ten million records a
    relink runs for an hour, and its stages (read, estimate, block, score, cluster, create, assign,
    golden) are each long enough to wonder about."""

    WIDTH = 28

    def __init__(self, stream) -> None:
        self.stream = stream
        self.started = self.drawn_at = time.monotonic()
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.drawn_at < 0.5 and done < total:
            return
        if stage != self.stage and self.stage:
            self.stream.write("\n")
        self.stage, self.drawn_at = stage, now
        share = min(1.0, done / total) if total else 1.0
        filled = int(share * self.WIDTH)
        self.stream.write(f"\rrelink {stage:<8} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} "
                          f"{done:,}/{total:,} {now - self.started:,.0f}s\x1b[K")
        self.stream.flush()
