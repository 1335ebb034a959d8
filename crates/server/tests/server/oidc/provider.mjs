// The identity provider the single sign-on test starts: panva's oidc-provider (OpenID
// Certified), on loopback, with one confidential client (the Presently server), its own
// development sign-in form (any password; the login names the account) and consent granted
// for that client, as a company's provider would for a first-party application.
//
// The test can make the token endpoint misbehave, to see the server refuse what a broken or
// hostile provider might send: POST /__mode with one of
//   none            answer as issued
//   wrong_audience  the ID token re-signed (with the provider's key) for another client
//   bad_signature   the ID token signed with a key the provider never published
//   expired         the ID token re-signed with an expiry an hour ago
//   replay          the ID token of the previous sign-in (its nonce is another sign-in's)
//
// GET /__reads says how often its signing keys were read ({"jwks": n}): only a relying party
// (the server, after the discovery document) reads them, never the browser.
//
// Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Prints "ready ISSUER" once it listens.

import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

// Accounts: the login typed in the form is the account id.
const accounts = {
  ivy: { email: 'ivy@one.test', email_verified: true, name: 'Ivy Invited' },
  bea: { email: 'bea@one.test', email_verified: true, name: 'Bea From Provider' },
  new: { email: 'newcomer@one.test', email_verified: true, name: 'New Comer' },
  unverified: { email: 'cal@one.test', email_verified: false, name: 'Cal Unverified' },
  eve: { email: 'eve@two.test', email_verified: true, name: 'Eve Elsewhere' },
  admin: { email: 'admin@one.test', email_verified: true, name: 'Ada Admin' },
};

const signing = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(signing.privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
const stranger = await generateKeyPair('RS256');

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['presently-test-cookie-key'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

let mode = 'none';
let previous = null;
let jwksReads = 0;

async function resign(token, change, key = signing.privateKey) {
  const claims = { ...decodeJwt(token), ...change };
  const header = decodeProtectedHeader(token);
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid: header.kid }).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__mode' && ctx.method === 'POST') {
    mode = ctx.query.mode || 'none';
    ctx.body = { mode };
    return;
  }
  if (ctx.path === '/__reads' && ctx.method === 'GET') {
    ctx.body = { jwks: jwksReads };
    return;
  }
  if (ctx.path === '/jwks') jwksReads += 1;
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
  const issued = ctx.body.id_token;
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'wrong_audience':
      ctx.body.id_token = await resign(issued, { aud: 'someone-else' });
      break;
    case 'bad_signature':
      ctx.body.id_token = await resign(issued, {}, stranger.privateKey);
      break;
    case 'expired':
      ctx.body.id_token = await resign(issued, { iat: now - 7200, exp: now - 3600 });
      break;
    case 'replay':
      if (previous) ctx.body.id_token = previous;
      break;
    default:
      break;
  }
  previous = issued;
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
