"""Lookup searches: a trigram index kept up to date, the same answers as a plain scan."""

from __future__ import annotations

import random

import pytest

from deskwork import Lookup, Text, Tool
from deskwork.db import lookups
from deskwork.db.storage import Storage


@pytest.fixture
def db(tmp_path):
    tool = Tool("T")
    people = tool.table("people", name=Text())
    tool.table("visits", person=Lookup(people, show="name"))
    storage = Storage(tmp_path / "l.sqlite3")
    storage.prepare(tool)
    with storage.open() as db:
        yield db


ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def expected(names, text, limit=lookups.LIMIT):
    """What a search should answer, worked out in Python: three characters or more are
    found anywhere, in any case (the trigram index folds beyond ASCII), those starting
    with them first (SQLite's LIKE, which folds ASCII only); fewer, at the start."""
    named = [(i, n) for i, n in names.items() if n is not None]
    if len(text) < 3:
        start = text.translate(ASCII_FOLD)
        found = [(i, n) for i, n in named if n.translate(ASCII_FOLD).startswith(start)]
        return sorted(found, key=lambda r: (r[1].translate(ASCII_FOLD), r[0]))[:limit]
    found = [(i, n) for i, n in named if text.lower() in n.lower()]
    start = text.translate(ASCII_FOLD)
    found.sort(key=lambda r: (not r[1].translate(ASCII_FOLD).startswith(start), r[1], r[0]))
    return found[:limit]


def test_searches_answer_as_a_plain_scan_would(db):
    rng = random.Random(7)
    syllables = ["an", "na", "ok", "afor", "lind", "qvist", "é", "mo", "reau", "Ja", "cob"]
    names = {}
    with db.conn:
        for i in range(1, 3001):
            name = " ".join(
                "".join(rng.choice(syllables) for _ in range(rng.randrange(1, 4))).capitalize()
                for _ in range(2)
            )
            names[i] = name
            db.execute("insert into people (id, name) values (?, ?)", [i, name])
        db.execute("insert into people (id, name) values (3001, NULL)")
    names[3001] = None
    for text in ["", "a", "Ok", "nan", "afor", "QVIST", "é m", "É MO", "cob Ja", "zzz", "an an"]:
        assert lookups.matches(db, "people", "name", text) == expected(names, text), text


def test_the_index_follows_every_insert_update_and_delete(db):
    with db.conn:
        db.execute("insert into people (id, name) values (1, 'Ada Okafor')")
        db.execute("insert into people (id, name) values (2, 'Ben Moreau')")
    assert lookups.matches(db, "people", "name", "okafor") == [(1, "Ada Okafor")]
    with db.conn:
        db.execute("update people set name = 'Ada Lindqvist' where id = 1")
    assert lookups.matches(db, "people", "name", "okafor") == []
    assert lookups.matches(db, "people", "name", "lindq") == [(1, "Ada Lindqvist")]
    with db.conn:
        db.execute("delete from people where id = 2")
    assert lookups.matches(db, "people", "name", "moreau") == []
    plan = " ".join(
        str(r[-1])
        for r in db.execute(
            "explain query plan select rowid from _deskwork_lookup_people_name "
            "where name match '\"lindq\"'"
        )
    )
    assert "VIRTUAL TABLE" in plan


def test_a_lost_trigger_is_put_back_and_the_index_rebuilt(tmp_path):
    tool = Tool("T")
    people = tool.table("people", name=Text())
    tool.table("visits", person=Lookup(people))
    storage = Storage(tmp_path / "r.sqlite3")
    storage.prepare(tool)
    with storage.open() as db, db.conn:
        db.execute("drop trigger _deskwork_lookup_people_name_ai")
        db.execute("insert into people (name) values ('Missed by the index')")
    storage.prepare(tool)
    with storage.open() as db:
        assert lookups.matches(db, "people", "name", "missed") == [(1, "Missed by the index")]


def test_short_searches_use_the_case_insensitive_index(db):
    plan = " ".join(
        str(r[-1])
        for r in db.execute(
            "explain query plan select id from people where name like ? escape '\\' "
            "order by name collate nocase, id limit 20",
            ["ab%"],
        )
    )
    assert "_deskwork_lookup_people_name_nocase" in plan and "SCAN" not in plan
