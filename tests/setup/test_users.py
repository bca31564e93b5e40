"""Users: added with a role and a hashed password, found by name, removed with their grants;
an install keeps at least one admin."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from pp2eb.extensions import db
from pp2eb.models import LinkGrant, User
from pp2eb.setup import access, users
from pp2eb.states import Role
from tests.engine_helpers import the_link


def test_a_user_is_added_with_a_role_and_a_hashed_password(app):
    with app.app_context():
        mia = users.add("mia", "mia's password", Role.MEMBER)
        assert (mia.username, mia.role) == ("mia", "member")
        assert "mia's password" not in mia.password_hash
        assert check_password_hash(mia.password_hash, "mia's password")
        assert [u.username for u in users.every()] == ["mia", "owner"]  # by name
        assert users.by_name("mia") is mia and users.by_name("nobody") is None


@pytest.mark.parametrize(
    ("name", "password", "said"),
    [
        ("owner", "pw", "A user called 'owner' exists already."),
        ("", "pw", "A user name cannot be empty or start or end with a space."),
        (" mia", "pw", "A user name cannot be empty or start or end with a space."),
        ("m" * 81, "pw", "A user name has at most 80 characters."),
        ("mia", "", "The password cannot be empty."),
    ],
)
def test_an_unfit_name_or_password_is_refused_in_words(app, name, password, said):
    with app.app_context():
        with pytest.raises(users.UserError) as refused:
            users.add(name, password, Role.MEMBER)
        assert str(refused.value) == said
        assert [u.username for u in users.every()] == ["owner"]


def test_an_unknown_name_is_said_with_the_names_there_are(app):
    with app.app_context():
        users.add("mia", "pw", Role.MEMBER)
        with pytest.raises(users.UserError) as unknown:
            users.find("max")
        assert str(unknown.value) == "No user is called 'max'; the users are: mia, owner."


def test_removing_a_user_takes_their_grants_so_a_later_user_inherits_none(app):
    with app.app_context():
        mia = users.add("mia", "pw", Role.MEMBER)
        mia_id = mia.id
        access.grant(mia, the_link())
        users.remove(mia)
        assert users.by_name("mia") is None
        assert db.session.execute(db.select(LinkGrant)).first() is None
        # SQLite may give the next user the removed one's id: they must not see her links.
        later = users.add("max", "pw", Role.MEMBER)
        assert later.id >= mia_id
        assert access.links_for(later) == []


def test_the_last_admin_cannot_be_removed(app):
    with app.app_context():
        owner = users.find("owner")
        with pytest.raises(users.UserError) as refused:
            users.remove(owner)
        assert str(refused.value) == (
            "owner is the last admin; add another admin before removing them."
        )
        assert users.admins() == 1
        users.add("anna", "pw", Role.ADMIN)
        users.remove(owner)
        assert [(u.username, u.role) for u in users.every()] == [("anna", "admin")]
        assert db.session.get(User, owner.id) is None
