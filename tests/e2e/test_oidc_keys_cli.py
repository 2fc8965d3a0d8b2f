"""``wazo-like-auth keys rotate``: the new key is published at once, on every node (it signs
once the certs max-age has passed: tests/integration/test_oidc_key_lifecycle.py)."""
from __future__ import annotations

import requests
from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.live_server import LiveServer
from wazo_like_auth.app import services_of
from wazo_like_auth.cli import main


def test_keys_rotate_adds_a_key_that_certs_publishes(tmp_path, db_uri, engine, baseline,
                                                     make_config, capsys):
    # The session's database as migrated: keys an earlier test's service made under another
    # token_secret would make `keys rotate` refuse (not the service's configuration).
    baseline.restore(engine)
    secret = 's' * 40
    path = tmp_path / 'config.yml'
    path.write_text(f'state_dir: {tmp_path}/state\ntoken_secret: {secret}\n')
    assert main(['keys', 'rotate', '--config', str(path), '--db-uri', db_uri]) == 0
    first = capsys.readouterr().out.split()[2]
    assert main(['keys', 'rotate', '--algorithm', 'ES256', '--config', str(path),
                 '--db-uri', db_uri]) == 0
    second = capsys.readouterr().out.split()[2]

    config = make_config(db_uri=db_uri, token_secret=secret)
    with running_app(config, engine) as app, LiveServer(app) as live:
        jwks = requests.get(f'{live.url}/api/auth/0.1/oauth2/certs', timeout=10).json()
        active = services_of(app).oidc.signing_keys.active()
    published = {k['kid']: k['alg'] for k in jwks['keys']}
    assert published[first] == 'RS256' and published[second] == 'ES256'
    assert active.kid == first and active.alg == 'RS256'  # the first signs at once, the
    # second once caches of certs have it
    with engine.begin() as conn:
        conn.execute(text('DELETE FROM auth_signing_key'))
