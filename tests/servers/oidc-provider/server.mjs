// A real OAuth 2.0 / OpenID Connect authorization server (npm oidc-provider) for the tests.
// Usage: node server.mjs PORT CONFIG_JSON_FILE
//   (older form, still accepted: node server.mjs PORT CLIENT_ID CLIENT_SECRET — the Kafka client only)
// The config file holds {"issuer", "kafka": {id, secret}, "clients": [oidc-provider client metadata…],
// "tls": {"cert", "key"} (optional: https), "prefix" (optional: a path the provider is mounted at)}.
//
// What the tests rely on:
//  - authorization code with PKCE S256 required for every client (public and confidential);
//  - native clients: http://127.0.0.1/… and http://localhost/… redirects on any port (RFC 8252 §7.3);
//  - refresh tokens for every client allowed the refresh_token grant, without prompt=consent
//    (issueRefreshToken overridden), not rotated on use (like Google);
//  - the device grant (RFC 8628) and introspection (RFC 7662) with the user's e-mail in the answer
//    (Dovecot's oauth2 passdb: username_attribute = email);
//  - opaque access tokens (no resource indicators): oidc-provider introspects only opaque ones;
//  - devInteractions: its login form accepts any login (the login becomes the account id; an
//    account id with an "@" is also its e-mail, else <id>@example.test) and its consent form.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const port = Number(args[0]);
let config;
if (args.length === 3) {
  config = { issuer: `http://127.0.0.1:${port}`, kafka: { id: args[1], secret: args[2] }, clients: [] };
} else {
  config = JSON.parse(fs.readFileSync(args[1], 'utf8'));
}

const clients = [...config.clients];
if (config.kafka) {
  clients.push({
    client_id: config.kafka.id,
    client_secret: config.kafka.secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'kafka',
  });
}

// Microsoft's mail scopes, so a Microsoft sign-in (msal) can be tested against this server too.
const MICROSOFT_MAIL = ['https://outlook.office.com/SMTP.Send', 'https://outlook.office.com/IMAP.AccessAsUser.All'];
const email = (id) => (id.includes('@') ? id : `${id}@example.test`);

const provider = new Provider(config.issuer, {
  clients,
  scopes: ['openid', 'offline_access', 'email', 'profile', 'mail', 'kafka', ...MICROSOFT_MAIL],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id, email: email(id), email_verified: true }; } };
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'AccessToken' && token.accountId) return { email: email(token.accountId) };
    return undefined;
  },
  async issueRefreshToken(ctx, client) { return client.grantTypeAllowed('refresh_token'); },
  rotateRefreshToken: () => Boolean(config.rotate), // config.rotate: like Microsoft, a new one on each use
  pkce: { required: () => true },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, DeviceCode: 600, RefreshToken: 14 * 24 * 3600,
         Grant: 14 * 24 * 3600, Interaction: 3600, Session: 3600 },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async (ctx, client) => client.clientAuthMethod !== 'none' },
    revocation: { enabled: true },
  },
});
provider.proxy = false;
const callback = provider.callback();
const prefix = config.prefix || '';
// Like Google (access_type=offline) and Microsoft (offline_access), grant offline_access without the
// caller adding prompt=consent (oidc-provider drops the scope otherwise); the consent form still shows.
const offlineWithoutPrompt = (req) => {
  const url = new URL(req.url, 'http://x');
  const scope = url.searchParams.get('scope') || '';
  if (req.method === 'GET' && url.pathname === `${prefix}/auth` && /(^| )offline_access( |$)/.test(scope)
      && !url.searchParams.has('prompt')) {
    url.searchParams.set('prompt', 'consent');
    req.url = url.pathname + url.search;
  }
};
const handler = (req, res) => {
  offlineWithoutPrompt(req);
  if (prefix) {
    if (!req.url.startsWith(prefix)) { res.statusCode = 404; res.end('not here'); return; }
    req.originalUrl = req.url; // how oidc-provider learns where it is mounted
    req.url = req.url.slice(prefix.length) || '/';
  }
  callback(req, res);
};
const server = config.tls
  ? https.createServer({ cert: fs.readFileSync(config.tls.cert), key: fs.readFileSync(config.tls.key) }, handler)
  : http.createServer(handler);
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
