"""Groups: create, join by invite code, list, read; nobody sees a group they are not in."""

from __future__ import annotations

import uuid

from tests.api.conftest import Api


async def test_a_created_group_has_its_creator_as_owner_and_an_invite_code(api: Api) -> None:
    ana = api.user("Ana")
    created = await api.client.post("/groups", json={"name": "  Kopi   gang "}, headers=ana.headers)
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["name"] == "Kopi gang"
    assert len(group["invite_code"]) == 8

    detail = (await api.client.get(f"/groups/{group['id']}", headers=ana.headers)).json()
    assert [(m["user_id"], m["role"], m["display_name"]) for m in detail["members"]] == [
        (str(ana.id), "owner", "Ana")
    ]


async def test_joining_by_code_makes_a_member_and_joining_twice_is_harmless(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    group = await api.group(ana)
    code = group["invite_code"]
    for shared in (code, code.lower(), f"{code[:4]}-{code[4:]}"):  # as friends type it
        joined = await api.client.post(
            "/groups/join", json={"invite_code": shared}, headers=ben.headers
        )
        assert joined.status_code == 200, joined.text
        assert joined.json()["id"] == group["id"]
    members = (await api.client.get(f"/groups/{group['id']}", headers=ben.headers)).json()
    assert sorted(m["role"] for m in members["members"]) == ["member", "owner"]
    listed = (await api.client.get("/groups", headers=ben.headers)).json()
    assert [g["id"] for g in listed["groups"]] == [group["id"]]


async def test_an_unknown_invite_code_is_404_with_a_hint(api: Api) -> None:
    response = await api.client.post(
        "/groups/join", json={"invite_code": "NOPE2345"}, headers=api.user("Ben").headers
    )
    assert response.status_code == 404
    assert "invite code" in response.json()["message"]


async def test_other_groups_are_invisible(api: Api) -> None:
    ana, eve = api.user("Ana"), api.user("Eve")
    group = await api.group(ana)
    mine = await api.group(eve, name="Eve's")
    seen = await api.client.get(f"/groups/{group['id']}", headers=eve.headers)
    missing = await api.client.get(f"/groups/{uuid.uuid4()}", headers=eve.headers)
    assert seen.status_code == missing.status_code == 404
    assert seen.json()["message"].startswith("no group")
    listed = (await api.client.get("/groups", headers=eve.headers)).json()
    assert [g["id"] for g in listed["groups"]] == [mine["id"]]


async def test_a_blank_group_name_is_rejected(api: Api) -> None:
    response = await api.client.post("/groups", json={"name": "   "}, headers=api.user("A").headers)
    assert response.status_code == 422
    assert "name" in response.json()["message"]


async def test_the_profile_is_made_on_the_first_request(api: Api) -> None:
    ana = api.user("Ana")
    me = await api.client.get("/users/me", headers=ana.headers)
    assert me.status_code == 200
    assert me.json() == {"id": str(ana.id), "email": ana.email, "display_name": "Ana"}


async def test_group_routes_need_a_token(api: Api) -> None:
    for method, path in [("GET", "/groups"), ("POST", "/groups"), ("GET", "/users/me")]:
        response = await api.client.request(method, path, json={"name": "x"})
        assert response.status_code == 401, (method, path)
