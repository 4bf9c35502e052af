"""FastAPI dependencies with FastAPI's test client (Starlette's, over httpx)."""

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from conftest import ADA
from gatehouse_client import GatehouseClient, Member
from gatehouse_client.fastapi import FastAPIGatehouse

BOB = "0b0b0b0b-0000-4000-8000-000000000000"


def test_fastapi_dependencies(standin):
    known = {ADA}
    client = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret,
                             is_known_user=lambda m: m.id in known)
    gate = FastAPIGatehouse(client)
    app = FastAPI()
    gate.install(app)

    @app.post("/messages", status_code=201)
    async def post(member: Member = Depends(gate.require_permission("post:messages"))):
        return {"by": member.id}

    @app.get("/workshop")
    async def workshop(member: Member = Depends(gate.require_access("members/workshop & !perm:banned"))):
        return {"ok": True}

    @app.post("/users", status_code=201)
    def create(member: Member = Depends(gate.login_required(allow_unknown=True))):
        known.add(member.id)
        return {"created": member.id}

    @app.get("/")
    async def home(member=Depends(gate.login_optional())):
        return {"username": member.username if member else None}

    with TestClient(app) as c:
        ada = {"Authorization": f"Bearer {standin.sign(ADA)}"}
        bob = {"Authorization": f"Bearer {standin.sign(BOB, username='bob', groups=[], permissions=[])}"}
        assert c.post("/messages", headers=ada).json() == {"by": ADA}
        r = c.post("/messages")
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_missing"
        assert c.get("/workshop", headers=ada).status_code == 200
        r = c.get("/workshop", headers=bob)
        assert r.status_code == 403 and r.json()["error"]["code"] == "unknown_user"
        assert c.post("/users", headers=bob).status_code == 201
        r = c.get("/workshop", headers=bob)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert c.get("/").json() == {"username": None}
        assert c.get("/", headers=ada).json() == {"username": "ada"}
    client.close()
