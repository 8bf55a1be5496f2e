// A relying party that registers itself (RFC 7591) with openid-client's
// dynamicClientRegistration, then signs a person in with the code flow and PKCE, in one
// process, with the Configuration the registration returned. Driven by
// tests/interop/test_dynamic_registration.py.
//
// Input (RP_INPUT): {issuer, initial_access_token, metadata}
// Line 1 on stdout: {registered: <client metadata>, url, state}; then it waits for the
// callback URL on stdin (the test plays the browser) and prints line 2: the verified ID
// token claims, the UserInfo response and the token type. Failure: exit 1, JSON on stderr.
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const input = JSON.parse(process.env.RP_INPUT)

async function firstLine() {
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) return line.trim()
  throw new Error('no callback URL on stdin')
}

async function main() {
  // No client authentication given: the library picks it from the registered metadata
  // (client_secret_post with the issued secret, none for a public client).
  const config = await client.dynamicClientRegistration(
    new URL(input.issuer), input.metadata, undefined,
    { initialAccessToken: input.initial_access_token, execute: [client.allowInsecureRequests] })
  const code_verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: input.metadata.redirect_uris[0],
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  process.stdout.write(JSON.stringify({ registered: config.clientMetadata(), url: url.href }) + '\n')
  const callback = await firstLine()
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: code_verifier, expectedState: state, expectedNonce: nonce,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  return { id_token_claims: claims, userinfo, token_type: tokens.token_type }
}

try {
  process.stdout.write(JSON.stringify(await main()) + '\n')
} catch (err) {
  process.stderr.write(JSON.stringify({ name: err?.name, message: err?.message, code: err?.code,
    error: err?.error, error_description: err?.error_description, status: err?.status }) + '\n')
  process.exitCode = 1
}
