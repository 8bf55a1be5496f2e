// A relying party built on openid-client (OpenID-certified), driven by tests/interop.
//
// Input: one JSON object, as the first argument or in the RP_INPUT environment variable:
//   {issuer, client_id, client_secret, redirect_uri, mode, ...}
// mode "code-build":        prints {url, code_verifier, state, nonce}
// mode "par-build":         the same through a pushed authorization request (RFC 9126)
// mode "code-callback":     also needs callback_url, code_verifier, state, nonce; exchanges the
//                           code, fetches userinfo, refreshes; prints the claims it verified
//                           (dpop: every call with one DPoP key; private_jwk, token_alg: a
//                           private_key_jwt client with ES256 tokens, as FAPI 2.0 asks);
//                           `exchanges` lists each HTTP answer (path, status, error)
// mode "client-credentials": optional scope; prints the token response
// mode "device":            device authorization grant; two lines (see device())
// mode "token-exchange":    subject_token, audience; prints the token response
// Output: one JSON object on stdout. On failure: exit 1 and a JSON error on stderr.
//
// Every check of the library stays on; the only relaxation is plain http, which the tests
// need because the provider listens on loopback without TLS.
import * as client from 'openid-client'

function readInput() {
  const raw = process.argv[2] ?? process.env.RP_INPUT
  if (!raw) throw new Error('pass the input JSON as the first argument or in RP_INPUT')
  return JSON.parse(raw)
}

// Every HTTP exchange the library makes, for the tests to see what happened on the wire
// (e.g. a use_dpop_nonce challenge the library answered by itself).
const exchanges = []

async function recordingFetch(url, options) {
  const response = await fetch(url, options)
  const entry = { path: new URL(url).pathname, status: response.status,
    dpop_nonce: response.headers.has('dpop-nonce') }
  if (response.status >= 400) {
    entry.www_authenticate = response.headers.get('www-authenticate')
    try { entry.error = (await response.clone().json()).error } catch { /* not JSON */ }
  }
  exchanges.push(entry)
  return response
}

// input.private_jwk: private_key_jwt with this key (ES256), as a FAPI 2.0 client does.
async function clientAuth(input) {
  if (input.private_jwk) {
    const { kid, ...jwk } = input.private_jwk
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' },
      false, ['sign'])
    return client.PrivateKeyJwt({ key, kid })
  }
  // The provider registers exactly one auth method per client; the CLI default is basic,
  // public clients (no secret) use none.
  return input.client_secret ? client.ClientSecretBasic(input.client_secret) : client.None()
}

async function configure(input) {
  const metadata = input.token_alg ? { id_token_signed_response_alg: input.token_alg } : undefined
  const config = await client.discovery(
    new URL(input.issuer),
    input.client_id,
    metadata,
    await clientAuth(input),
    { execute: [client.allowInsecureRequests] },
  )
  config[client.customFetch] = recordingFetch
  return config
}

async function codeBuild(config, input) {
  const code_verifier = client.randomPKCECodeVerifier()
  const code_challenge = await client.calculatePKCECodeChallenge(code_verifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: input.redirect_uri,
    scope: input.scope ?? 'openid profile email',
    code_challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  return { url: url.href, code_verifier, state, nonce }
}

// RFC 9126: the parameters are pushed to the PAR endpoint (client-authenticated); the URL
// carries only client_id and request_uri.
async function parBuild(config, input) {
  const code_verifier = client.randomPKCECodeVerifier()
  const code_challenge = await client.calculatePKCECodeChallenge(code_verifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: input.redirect_uri,
    scope: input.scope ?? 'openid profile email',
    code_challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  return { url: url.href, code_verifier, state, nonce }
}

async function codeCallback(config, input) {
  // Checks iss (RFC 9207), state, PKCE, the ID token (signature, iss, aud, exp, iat, nonce,
  // at_hash when present) and the token response shape.
  // input.dpop: every call carries a DPoP proof (RFC 9449) from one fresh key pair; the
  // library then insists on token_type DPoP and sends the tokens with the DPoP scheme.
  const options = input.dpop
    ? { DPoP: client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) }
    : undefined
  const tokens = await client.authorizationCodeGrant(config, new URL(input.callback_url), {
    pkceCodeVerifier: input.code_verifier,
    expectedState: input.state,
    expectedNonce: input.nonce,
    idTokenExpected: true,
  }, undefined, options)
  const idClaims = tokens.claims()
  // Checks the response's sub equals the ID token's.
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub, options)

  if (!tokens.refresh_token) throw new Error('no refresh_token in the token response')
  // Validates any ID token in the refresh response too (same iss/sub/aud as the original).
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined,
    options)
  const refreshedClaims = refreshed.claims() ?? null
  const userinfoAfter = await client.fetchUserInfo(config, refreshed.access_token, idClaims.sub,
    options)

  return {
    exchanges,
    id_token_claims: idClaims,
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    scope: tokens.scope ?? null,
    expires_in: tokens.expires_in ?? null,
    userinfo,
    refresh: {
      token_type: refreshed.token_type,
      access_token_changed: refreshed.access_token !== tokens.access_token,
      refresh_token_rotated: Boolean(refreshed.refresh_token) &&
        refreshed.refresh_token !== tokens.refresh_token,
      id_token_claims: refreshedClaims,
      userinfo_sub: userinfoAfter.sub,
    },
  }
}

// RFC 8628: prints the device authorization response as one line at once (the test plays
// the person meanwhile), then polls until tokens arrive and prints them as a second line.
async function device(config, input) {
  const started = await client.initiateDeviceAuthorization(config, {
    scope: input.scope ?? 'openid profile',
  })
  process.stdout.write(JSON.stringify(started) + '\n')
  const tokens = await client.pollDeviceAuthorizationGrant(config, started)
  return { token_type: tokens.token_type, id_token_claims: tokens.claims() ?? null,
    scope: tokens.scope ?? null, has_refresh_token: Boolean(tokens.refresh_token) }
}

// RFC 8693 through the library's generic grant: prints the token response.
async function tokenExchange(config, input) {
  const tokens = await client.genericGrantRequest(
    config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
      subject_token: input.subject_token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: input.audience,
    })
  return { ...tokens }
}

async function clientCredentials(config, input) {
  const params = {}
  if (input.scope) params.scope = input.scope
  const tokens = await client.clientCredentialsGrant(config, params)
  return { ...tokens }
}

const MODES = {
  'code-build': codeBuild,
  'par-build': parBuild,
  'code-callback': codeCallback,
  'client-credentials': clientCredentials,
  device,
  'token-exchange': tokenExchange,
}

function describe(err) {
  const out = { name: err?.name, message: err?.message, code: err?.code }
  if (err?.error) out.error = err.error
  if (err?.error_description) out.error_description = err.error_description
  if (err?.status) out.status = err.status
  if (err?.cause !== undefined) {
    const c = err.cause
    out.cause = c instanceof Error ? describe(c) : c
  }
  return out
}

try {
  const input = readInput()
  const mode = MODES[input.mode]
  if (!mode) throw new Error(`unknown mode ${JSON.stringify(input.mode)}`)
  const config = await configure(input)
  process.stdout.write(JSON.stringify(await mode(config, input)) + '\n')
} catch (err) {
  let text
  try {
    text = JSON.stringify(describe(err))
  } catch {
    text = JSON.stringify({ message: String(err) })
  }
  process.stderr.write(text + '\n')
  process.exitCode = 1
}
