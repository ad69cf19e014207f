"""The directory mapping (store/directory.py), pure: who gets which role, team and store from their
user groups and profile, and which mapping files are refused with what line."""
from __future__ import annotations

import pytest

from store.directory import DirectoryUser, MappingError, desired_employee, granted_role, parse_mapping
from store.employees import KEEP
from store.vocabulary import Role

MAPPING = parse_mapping("""
[roles]
admin = { groups = ["@HQ-Admins"] }
manager = { groups = ["managers"], profile = { title = ["Store Manager", "Gérant"] } }
associate = { groups = ["call-center"] }

[[teams]]
group = "paris-floor"
team = "Paris floor"
store = "PAR01"

[[teams]]
group = "lyon-floor"
team = "Lyon floor"
""")


def person(**fields) -> DirectoryUser:
    return DirectoryUser(**{"slack_user_id": "U0ANN", "name": "Ann", **fields})


@pytest.mark.parametrize(("groups", "profile", "expected"), [
    ({"hq-admins", "managers"}, {}, Role.ADMIN),  # handles are compared without "@" and case
    ({"managers", "paris-floor"}, {}, Role.MANAGER),
    (set(), {"title": "  gérant "}, Role.MANAGER),  # a profile field, without case or spaces
    ({"call-center"}, {}, Role.ASSOCIATE),
    ({"lyon-floor"}, {}, Role.ASSOCIATE),  # a team group alone gives access as an associate
    ({"marketing"}, {"title": "Buyer"}, None),
    (set(), {}, None),
])
def test_the_highest_matching_role_wins(groups, profile, expected):
    assert granted_role(person(profile=profile), frozenset(groups), MAPPING) == expected


@pytest.mark.parametrize("fields", [{"deleted": True}, {"is_bot": True}, {"is_guest": True},
                                    {"slack_user_id": "USLACKBOT"}])
def test_deleted_bots_and_guests_get_no_access_whatever_their_groups(fields):
    assert granted_role(person(**fields), frozenset({"hq-admins"}), MAPPING) is None
    assert desired_employee(person(**fields), frozenset({"hq-admins"}), MAPPING).active is False


def test_guests_get_access_when_the_mapping_allows_them():
    allowing = parse_mapping('allow_guests = true\n[roles]\nassociate = { groups = ["call-center"] }\n')
    assert granted_role(person(is_guest=True), frozenset({"call-center"}), allowing) == Role.ASSOCIATE


def test_the_desired_employee_carries_slacks_fields_folded():
    desired = desired_employee(person(email=" Ann@Retail.Example ", locale="fr-CA", timezone="America/Toronto"),
                               frozenset({"lyon-floor", "paris-floor"}), MAPPING)
    assert (desired.role, desired.team, desired.store, desired.email, desired.locale, desired.timezone,
            desired.active) == (Role.ASSOCIATE, "Paris floor", "PAR01", "ann@retail.example", "fr",
                                "America/Toronto", True)
    # No team group: team and store are left as they are; a zone or address Slack let through but we
    # cannot use is left empty rather than refusing the person.
    other = desired_employee(person(email="not an address", timezone="Mars/Olympus"), frozenset({"managers"}),
                             MAPPING)
    assert (other.team, other.store, other.email, other.timezone) == (KEEP, KEEP, None, None)


def test_someone_without_access_only_loses_it():
    desired = desired_employee(person(), frozenset(), MAPPING)
    assert desired.active is False and desired.role is KEEP and desired.team is KEEP


@pytest.mark.parametrize(("text", "message"), [
    ("x = [", "not valid TOML"),
    ("[roles]\nadmin = [\"a\"]\n", "roles.admin must be a table"),
    ("[roles]\nadmin = { group = [\"a\"] }\n", "roles.admin: unknown key 'group'"),
    ("[roles]\nadmin = { groups = \"a\" }\n", "roles.admin.groups must be a list of user-group handles"),
    ("[roles]\nadmin = { profile = { title = 3 } }\n", "roles.admin.profile.title must be a text"),
    ("teams = 1\n", "teams must be a list"),
    ("[[teams]]\nteam = \"T\"\n", "teams[1].group must be a user-group handle"),
    ("[[teams]]\ngroup = \"g\"\nteam = \"T\"\nstore = \"" + "S" * 33 + "\"\n", "teams[1].store must be a store code"),
    ("nightly = true\n[roles]\nadmin = { groups = [\"a\"] }\n", "unknown key 'nightly'"),
])
def test_a_bad_mapping_names_the_problem(text, message):
    with pytest.raises(MappingError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        parse_mapping(text)
