"""The Flask adapter with Flask's test client: the decorators Flask Modular Login and Send A Hug
need (login_required, require_permission, require_access, authenticated-not-yet-a-user)."""

import flask
import pytest

from conftest import ADA
from gatehouse_client import GatehouseClient
from gatehouse_client.flask import FlaskGatehouse

BOB = "0b0b0b0b-0000-4000-8000-000000000000"


@pytest.fixture
def app(standin):
    known = {ADA}
    client = GatehouseClient(
        standin.issuer, standin.client_id, standin.client_secret,
        is_known_user=lambda m: m.id in known,
    )
    app = flask.Flask(__name__)
    gate = FlaskGatehouse(client, app)

    @app.get("/me")
    @gate.login_required
    def me():
        return gate.member.to_dict()

    @app.get("/me/kw")
    @gate.login_required(kw="user")
    def me_kw(user):
        return {"id": user["id"], "g": flask.g.user.id}

    @app.post("/messages")
    @gate.require_permission("post:messages")
    def post_message():
        return {"by": gate.member.id}, 201

    @app.get("/workshop")
    @gate.require_access("members/workshop & !perm:banned")
    def workshop():
        return "workshop"

    @app.get("/teams/<team>")
    @gate.require_access(lambda request, member: f"teams/{request.view_args['team']}")
    def team(team):
        return team

    @app.post("/users")
    @gate.login_required(allow_unknown=True)
    def create_user():
        known.add(gate.member.id)
        return {"created": gate.member.id}, 201

    @app.get("/")
    @gate.login_optional
    def home():
        return "hello " + (gate.member.username if gate.member else "visitor")

    bp = flask.Blueprint("private", __name__, url_prefix="/private")

    @bp.get("/page")
    def page():
        return flask.g.member.username

    gate.login_required(bp)
    app.register_blueprint(bp)
    yield app
    client.close()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_flask_guards(app, standin):
    c = app.test_client()
    ada = standin.sign(ADA)
    banned = standin.sign(ADA, permissions=["post:messages", "banned"])
    bob = standin.sign(BOB, username="bob", groups=["members/kitchen"], permissions=[])

    r = c.get("/me")
    assert r.status_code == 401 and r.json["error"]["code"] == "token_missing"
    assert c.get("/me", headers=auth(ada)).json["username"] == "ada"
    assert c.get("/me/kw", headers=auth(ada)).json == {"id": ADA, "g": ADA}
    assert c.post("/messages", headers=auth(ada)).status_code == 201
    assert c.get("/workshop", headers=auth(ada)).status_code == 200
    assert c.get("/workshop", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    assert c.get("/private/page", headers=auth(ada)).data == b"ada"
    assert c.get("/private/page").status_code == 401
    assert c.get("/").data == b"hello visitor"
    assert c.get("/", headers=auth(ada)).data == b"hello ada"
    assert c.get("/", headers={"Authorization": "Bearer"}).status_code == 401
    assert c.get("/teams/x", headers=auth(ada)).status_code == 403


def test_flask_expression_and_permission_refusals(app, standin):
    c = app.test_client()
    # Bob is signed in but unknown to the service: refused everywhere but POST /users.
    bob = standin.sign(BOB, username="bob", groups=["members/kitchen"], permissions=[])
    r = c.get("/me", headers=auth(bob))
    assert r.status_code == 403 and r.json["error"]["code"] == "unknown_user"
    assert c.post("/users", headers=auth(bob)).json == {"created": BOB}
    assert c.get("/me", headers=auth(bob)).status_code == 200
    r = c.post("/messages", headers=auth(bob))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert "post:messages" in r.json["error"]["message"]
    assert c.get("/workshop", headers=auth(bob)).status_code == 403
    banned = standin.sign(ADA, permissions=["post:messages", "banned"])
    assert c.get("/workshop", headers=auth(banned)).status_code == 403
    team = standin.sign(ADA, groups=["teams"])
    assert c.get("/teams/red", headers=auth(team)).data == b"red"
