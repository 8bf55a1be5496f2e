// An independent upstream OpenID provider for the federation tests: node oidc-provider
// (OpenID-certified) with its development login form. Input: UPSTREAM_INPUT (JSON) with
// port, issuer, client_id, client_secret, redirect_uri, post_logout_redirect_uri,
// accounts {login: claims} and
// bad_jwks (publish a JWKS whose key does not verify the ID tokens: a bad signature).
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const input = JSON.parse(process.env.UPSTREAM_INPUT);
const accounts = input.accounts || {};

const provider = new Provider(input.issuer, {
  clients: [{
    client_id: input.client_id,
    client_secret: input.client_secret,
    redirect_uris: [input.redirect_uri],
    post_logout_redirect_uris: [input.post_logout_redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'groups'],
  },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, ...(accounts[id] || {}) }),
  }),
  cookies: { keys: ['federation-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});

if (input.bad_jwks) {
  // Same kid, another key: the signature check must fail, not the key lookup.
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.body && ctx.body.keys) {
      ctx.body = { keys: ctx.body.keys.map((k) => ({ ...k, n: jwk.n, e: jwk.e })) };
    }
  });
}

provider.listen(input.port, '127.0.0.1', () => {
  console.log('ready');
});
