"""A Flask service protected by Gatehouse: a page greeting the member, a page for the workshop
group only, and a JSON API with one permission per route.

    GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… GATEHOUSE_RESOURCE=http://127.0.0.1:3001/ \\
      SESSION_SECRET=$(openssl rand -hex 32) PORT=3001 python3 examples/python/flask_app.py
"""

import logging
import os

import flask
from werkzeug.serving import make_server

from shared import READ, WORKSHOP, WRITE, example_client, home_page, test_hooks, workshop_page
from gatehouse_client.flask import FlaskGatehouse


def create_app(port: int) -> flask.Flask:
    gatehouse = example_client(port)
    app = flask.Flask(__name__)
    gate = FlaskGatehouse(gatehouse, app)  # /auth/login, /auth/callback, /auth/logout

    @app.get("/")
    @gate.login_optional
    def home():
        return home_page(gate.member)

    @app.get("/workshop")
    @gate.require_access(WORKSHOP)
    def workshop():
        return workshop_page(gate.member)

    @app.get("/api/me")
    @gate.login_required
    def me():
        return gate.member.to_dict()

    @app.get("/api/uploads")
    @gate.require_permission(READ)
    def uploads():
        return {"uploads": []}

    @app.post("/api/uploads")
    @gate.require_permission(WRITE)
    def upload():
        return {"created": True, "owner": gate.member.id}, 201

    if test_hooks():

        @app.get("/_test/events")
        def events_connected():
            gatehouse.connect(timeout=10)
            return "", 204

    return app


if __name__ == "__main__":
    if test_hooks():
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log in test output
    port = int(os.environ.get("PORT", "3001"))
    server = make_server("127.0.0.1", port, create_app(port), threaded=True)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
