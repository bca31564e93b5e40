"""Access: an admin sees every live link, a member only the live links granted to them, and
no one a removed link."""

from __future__ import annotations

import pytest

from pp2eb.extensions import db
from pp2eb.models import LinkGrant, utcnow
from pp2eb.setup import access, links, users
from pp2eb.states import Role
from tests.engine_helpers import the_link


@pytest.fixture
def shops(app):
    """Three links (Shop A, B, C), the admin "owner" and two members: "mia" granted A and C,
    "max" granted B. Yields inside an app context."""
    with app.app_context():
        the_link().name = "Shop A"
        db.session.commit()
        b, c = links.add("Shop B"), links.add("Shop C")
        mia = users.add("mia", "mia's password", Role.MEMBER)
        max_ = users.add("max", "max's password", Role.MEMBER)
        access.grant(mia, links.by_name("Shop A"))
        access.grant(mia, c)
        access.grant(max_, b)
        yield


def names(found) -> list[str]:
    return [link.name for link in found]


def test_an_admin_sees_every_live_link_and_a_member_only_those_granted(shops):
    owner, mia, max_ = (users.find(name) for name in ("owner", "mia", "max"))
    assert [access.is_admin(u) for u in (owner, mia, max_)] == [True, False, False]
    assert names(access.links_for(owner)) == ["Shop A", "Shop B", "Shop C"]
    assert names(access.links_for(mia)) == ["Shop A", "Shop C"]  # by id, not by grant
    assert names(access.links_for(max_)) == ["Shop B"]
    seen = {
        user.username: [access.may_see(user, link) for link in links.live()]
        for user in (owner, mia, max_)
    }
    assert seen == {
        "owner": [True, True, True],
        "mia": [True, False, True],
        "max": [False, True, False],
    }


def test_a_removed_link_is_seen_by_no_one_not_even_an_admin(shops):
    c = links.by_name("Shop C")
    c.removed_at = utcnow()
    db.session.commit()
    owner, mia = users.find("owner"), users.find("mia")
    assert not access.may_see(owner, c) and not access.may_see(mia, c)
    assert names(access.links_for(owner)) == ["Shop A", "Shop B"]
    assert names(access.links_for(mia)) == ["Shop A"]
    # The grant stays with the link's history; it just shows nothing.
    assert db.session.get(LinkGrant, (mia.id, c.id)) is not None


def test_no_user_and_no_link_see_nothing(shops):
    assert access.links_for(None) == []
    assert not access.is_admin(None)
    assert not access.may_see(None, links.by_name("Shop A"))
    assert not access.may_see(users.find("owner"), None)


def test_grant_and_revoke_say_whether_they_changed_something(shops):
    max_, a = users.find("max"), links.by_name("Shop A")
    assert not access.may_see(max_, a)
    assert access.grant(max_, a) is True
    assert access.grant(max_, a) is False  # once is enough: still one row
    assert access.may_see(max_, a)
    assert names(access.links_for(max_)) == ["Shop A", "Shop B"]
    assert access.revoke(max_, a) is True
    assert access.revoke(max_, a) is False
    assert not access.may_see(max_, a)
    assert names(access.links_for(max_)) == ["Shop B"]
    assert (
        db.session.execute(
            db.select(db.func.count()).select_from(LinkGrant).where(LinkGrant.user_id == max_.id)
        ).scalar_one()
        == 1
    )


def test_a_member_made_admin_sees_everything_and_back_only_the_granted(shops):
    mia = users.find("mia")
    mia.role = Role.ADMIN
    db.session.commit()
    assert names(access.links_for(mia)) == ["Shop A", "Shop B", "Shop C"]
    mia.role = Role.MEMBER
    db.session.commit()
    assert names(access.links_for(mia)) == ["Shop A", "Shop C"]
