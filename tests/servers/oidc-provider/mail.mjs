// The authorization server of the OAuth mail tests (npm oidc-provider, the real thing, configured for
// mail only): Dovecot's oauth2 passdb introspects access tokens as the confidential "introspector"
// client (introspection_mode = post); each mail client gets opaque client-credentials tokens (scope
// "mail" when asked for) whose introspection carries its mailbox's `email` (extraTokenClaims) — real
// tokens with no person and no browser. "bits" makes a Microsoft-sized token (9000 bits ≈ 1,500
// characters), "ttl" a token that expires after that many seconds.
// Usage: node mail.mjs PORT CONFIG_JSON_FILE, the file holding
//   {"introspector": [id, secret], "clients": [{"client_id", "client_secret", "email", "bits"?, "ttl"?}]}
// (started by tests/servers/mailserver.py, MailOAuthProvider).
import fs from 'node:fs';
import Provider from 'oidc-provider';

const [port, file] = process.argv.slice(2);
const mail = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(mail.clients.map((c) => [c.client_id, c]));
const [introspectorId, introspectorSecret] = mail.introspector;

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    { client_id: introspectorId, client_secret: introspectorSecret, grant_types: [], response_types: [],
      redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
    ...mail.clients.map((c) => ({
      client_id: c.client_id, client_secret: c.client_secret, grant_types: ['client_credentials'],
      response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'mail' })),
  ],
  scopes: ['mail'],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => client.clientId === introspectorId
        || token.clientId === client.clientId,
    },
  },
  extraTokenClaims: async (ctx, token) => {
    const c = byId.get(token.clientId);
    return c ? { email: c.email } : undefined;
  },
  formats: { bitsOfOpaqueRandomness: (ctx, token) => byId.get(token.clientId)?.bits || 256 },
  ttl: { ClientCredentials: (ctx, token) => byId.get(token.clientId)?.ttl || 600 },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
