"""``flask users``: add with a role, grant and revoke links, list, remove (never the last
admin); and ``flask create-user``, which makes admins as before."""

from __future__ import annotations

import pytest

from pp2eb.extensions import db
from pp2eb.models import AppState, User, utcnow
from pp2eb.setup import access, links, users
from pp2eb.states import Role
from tests.engine_helpers import the_link


@pytest.fixture
def two(app):
    """Links Shop A and Shop B."""
    with app.app_context():
        the_link().name = "Shop A"
        db.session.commit()
        links.add("Shop B")


def lines(result) -> list[str]:
    return result.output.strip().splitlines()


def seen(app, name: str) -> list[str]:
    with app.app_context():
        return [link.name for link in access.links_for(users.find(name))]


def test_a_member_is_added_and_sees_only_the_links_granted(app, two, runner):
    added = runner.invoke(args=["users", "add", "mia", "--role", "member", "--password", "pw"])
    assert added.exit_code == 0, added.output
    assert lines(added) == ["Added member mia; grant links with `flask users grant mia LINK`."]
    assert seen(app, "mia") == []
    granted = runner.invoke(args=["users", "grant", "mia", "Shop B"])
    assert (granted.exit_code, lines(granted)) == (0, ["mia may now see Shop B."])
    again = runner.invoke(args=["users", "grant", "mia", "Shop B"])
    assert (again.exit_code, lines(again)) == (0, ["mia could already see Shop B."])
    assert seen(app, "mia") == ["Shop B"]
    listed = runner.invoke(args=["users", "list"])
    assert (listed.exit_code, lines(listed)) == (
        0,
        ["mia (member): Shop B", "owner (admin): every link"],
    )
    revoked = runner.invoke(args=["users", "revoke", "mia", "Shop B"])
    assert (revoked.exit_code, lines(revoked)) == (0, ["mia no longer sees Shop B."])
    again = runner.invoke(args=["users", "revoke", "mia", "Shop B"])
    assert lines(again) == ["mia had not been granted Shop B."]
    assert lines(runner.invoke(args=["users", "list"]))[0] == "mia (member): no links"


def test_the_password_is_asked_when_left_out_and_the_user_logs_in(app, two, runner, auth):
    added = runner.invoke(
        args=["users", "add", "anna", "--role", "admin"], input="a long password\n" * 2
    )
    assert added.exit_code == 0, added.output
    assert lines(added)[-1] == "Added admin anna."
    assert auth.login("anna", "a long password").status_code == 302
    with app.app_context():
        assert users.find("anna").role == Role.ADMIN


def test_adding_a_name_that_exists_is_one_line_and_asks_nothing(app, runner):
    result = runner.invoke(args=["users", "add", "owner", "--role", "member"], input="x\nx\n")
    assert result.exit_code == 1
    assert lines(result) == ["Error: A user called 'owner' exists already."]
    with app.app_context():
        assert users.find("owner").role == Role.ADMIN


def test_a_role_is_required_and_is_admin_or_member(runner):
    missing = runner.invoke(args=["users", "add", "mia", "--password", "pw"])
    assert missing.exit_code == 2 and "Missing option '--role'" in missing.output
    wrong = runner.invoke(args=["users", "add", "mia", "--role", "boss", "--password", "pw"])
    assert wrong.exit_code == 2 and "'admin', 'member'" in wrong.output


def test_granting_to_an_admin_says_it_changes_nothing(app, two, runner):
    result = runner.invoke(args=["users", "grant", "owner", "Shop A"])
    assert result.exit_code == 0
    assert lines(result) == [
        "owner is an admin and sees every link; granting Shop A changes nothing."
    ]
    revoked = runner.invoke(args=["users", "revoke", "owner", "Shop A"])
    assert lines(revoked) == [
        "owner is an admin and sees every link; revoking Shop A changes nothing."
    ]
    assert seen(app, "owner") == ["Shop A", "Shop B"]


@pytest.mark.parametrize("command", ["grant", "revoke"])
def test_an_unknown_user_or_link_is_one_line_naming_those_there_are(two, runner, command):
    runner.invoke(args=["users", "add", "mia", "--role", "member", "--password", "pw"])
    user = runner.invoke(args=["users", command, "max", "Shop A"])
    assert user.exit_code == 2
    assert lines(user) == ["Error: No user is called 'max'; the users are: mia, owner."]
    link = runner.invoke(args=["users", command, "mia", "Shop C"])
    assert link.exit_code == 2
    assert lines(link) == ["Error: No link is called 'Shop C'; the links are: Shop A, Shop B."]
    assert "Traceback" not in user.output + link.output


def test_a_removed_link_cannot_be_granted(app, two, runner):
    runner.invoke(args=["users", "add", "mia", "--role", "member", "--password", "pw"])
    runner.invoke(args=["users", "grant", "mia", "Shop B"])
    with app.app_context():
        links.by_name("Shop B").removed_at = utcnow()
        db.session.commit()
    result = runner.invoke(args=["users", "grant", "mia", "Shop B"])
    assert result.exit_code == 2
    assert lines(result) == ["Error: No link is called 'Shop B'; the links are: Shop A."]
    assert lines(runner.invoke(args=["users", "list"]))[0] == "mia (member): no links"


def test_remove_deletes_the_user_and_ends_their_sessions_but_never_the_last_admin(app, runner):
    last = runner.invoke(args=["users", "remove", "owner"])
    assert last.exit_code == 1
    assert lines(last) == [
        "Error: owner is the last admin; add another admin before removing them."
    ]
    runner.invoke(args=["users", "add", "mia", "--role", "member", "--password", "pw"])
    with app.app_context():
        mia_id = users.find("mia").id
    removed = runner.invoke(args=["users", "remove", "mia"])
    assert (removed.exit_code, lines(removed)) == (0, ["Removed user mia."])
    assert lines(runner.invoke(args=["users", "list"])) == ["owner (admin): every link"]
    with app.app_context():
        # A later user given the same id is not logged in by a copy of mia's session cookie.
        assert db.session.get(AppState, f"sessions_ended:{mia_id}") is not None
    unknown = runner.invoke(args=["users", "remove", "mia"])
    assert (unknown.exit_code, lines(unknown)) == (
        2,
        ["Error: No user is called 'mia'; the users are: owner."],
    )
    with app.app_context():
        db.session.execute(db.delete(User))
        db.session.commit()
    assert lines(runner.invoke(args=["users", "list"])) == [
        "No users yet; add an admin with `flask create-user NAME`."
    ]


def test_create_user_makes_an_admin_and_keeps_a_members_role(app, two, runner, auth):
    made = runner.invoke(args=["create-user", "anna", "--password", "first password"])
    assert (made.exit_code, lines(made)) == (0, ["User anna can now log in."])
    runner.invoke(args=["users", "add", "mia", "--role", "member", "--password", "pw"])
    changed = runner.invoke(args=["create-user", "mia", "--password", "new password"])
    assert changed.exit_code == 0, changed.output
    with app.app_context():
        assert users.find("anna").role == Role.ADMIN
        assert users.find("mia").role == Role.MEMBER  # a new password is not a promotion
    assert auth.login("mia", "new password").status_code == 302
    help_text = runner.invoke(args=["create-user", "--help"]).output
    assert "Create an admin" in help_text and "role" in help_text
