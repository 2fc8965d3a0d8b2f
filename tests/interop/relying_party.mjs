// A relying party built on panva's openid-client (OpenID Certified), driven by the Python
// tests one step at a time: each line on stdin is a JSON command {"op": ..., ...}, each
// answer a JSON line on stdout, {"ok": true, "result": ...} or {"ok": false, "error": ...}
// with the library's error (its name, code, OAuth error and cause). The library's own checks
// are the point: issuer, RFC 9207 iss, state, PKCE, the ID token's signature against the
// JWKS, nonce, aud, exp/iat, auth_time, the userinfo subject (not at_hash: the tests check it).
// The provider speaks plain HTTP on 127.0.0.1 in the tests, hence allowInsecureRequests (a
// transport rule, not a protocol one).
import * as readline from 'node:readline';
import * as client from 'openid-client';

let config; // the client of the last `discover`
const pending = new Map(); // state -> the checks of an authorization request

const ops = {
  async discover({ issuer, client_id, client_secret, auth, algorithm }) {
    const methods = {
      client_secret_basic: () => client.ClientSecretBasic(client_secret),
      client_secret_post: () => client.ClientSecretPost(client_secret),
      none: () => client.None(),
    };
    config = await client.discovery(new URL(issuer), client_id, undefined,
      methods[auth || (client_secret ? 'client_secret_basic' : 'none')](),
      { execute: [client.allowInsecureRequests], algorithm: algorithm || 'oidc', timeout: 10 });
    return config.serverMetadata();
  },

  // `bare`: as openid-client's own example does with a server that supports PKCE S256, no
  // state and no nonce (PKCE protects the code).
  async authorize({ redirect_uri, scope, params, bare }) {
    const verifier = client.randomPKCECodeVerifier();
    const state = bare ? undefined : client.randomState();
    const nonce = bare ? undefined : client.randomNonce();
    const key = state ?? 'bare';
    pending.set(key, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
      idTokenExpected: scope.split(' ').includes('openid'),
      maxAge: params?.max_age === undefined ? undefined : Number(params.max_age) });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri, scope, code_challenge_method: 'S256',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      ...(bare ? {} : { state, nonce }), ...params,
    });
    return { url: url.href, state: key, nonce: nonce ?? null };
  },

  // `form`: the fields of a response_mode=form_post answer, posted to `url`.
  async callback({ url, state, form }) {
    const current = form
      ? new Request(url, { method: 'POST', body: new URLSearchParams(form) })
      : new URL(url);
    const tokens = await client.authorizationCodeGrant(config, current, pending.get(state));
    return tokenAnswer(tokens);
  },

  async userinfo({ access_token, sub }) {
    return client.fetchUserInfo(config, access_token, sub);
  },

  async refresh({ refresh_token, params }) {
    return tokenAnswer(await client.refreshTokenGrant(config, refresh_token, params));
  },

  async grant({ grant_type, params }) {
    return tokenAnswer(await client.genericGrantRequest(config, grant_type, params));
  },

  async client_credentials({ scope }) {
    return tokenAnswer(await client.clientCredentialsGrant(config, scope ? { scope } : {}));
  },

  async introspect({ token, token_type_hint }) {
    return client.tokenIntrospection(config, token, token_type_hint ? { token_type_hint } : {});
  },

  async revoke({ token, token_type_hint }) {
    await client.tokenRevocation(config, token, token_type_hint ? { token_type_hint } : {});
    return null;
  },

  async device_start({ scope }) {
    return client.initiateDeviceAuthorization(config, scope ? { scope } : {});
  },

  async device_poll({ response }) {
    return tokenAnswer(await client.pollDeviceAuthorizationGrant(config, response));
  },

  async end_session(params) {
    return client.buildEndSessionUrl(config, params).href;
  },
};

function tokenAnswer(tokens) {
  return { ...tokens, claims: tokens.claims() ?? null };
}

function describe(error) {
  const plain = (value) => {
    try {
      return JSON.parse(JSON.stringify(value ?? null));
    } catch {
      return String(value);
    }
  };
  return { name: error.name, message: error.message, code: error.code ?? null,
    error: error.error ?? null, error_description: error.error_description ?? null,
    status: error.status ?? null, cause: plain(error.cause) };
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const { op, ...args } = JSON.parse(line);
  let answer;
  try {
    answer = { ok: true, result: await ops[op](args) };
  } catch (error) {
    answer = { ok: false, error: describe(error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
