// A real OAuth 2.0 authorization server (npm oidc-provider) for the tests: one confidential client
// that may use the client-credentials grant. Usage: node server.mjs PORT CLIENT_ID CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);

// ---- Mail block (tests/servers/mailserver.py, tests/integration/test_mail_oauth.py) -------------
// Only when OIDC_MAIL is set (JSON): {"introspector": [id, secret], "clients": [{"client_id",
// "client_secret", "email", "bits"?, "ttl"?}]}. Dovecot's oauth2 passdb introspects access tokens
// as the confidential "introspector" client (introspection_mode = post); each mail client gets
// opaque client-credentials tokens (scope "mail" when asked for) whose introspection carries its
// mailbox's `email` (extraTokenClaims); "bits" makes a Microsoft-sized token (9000 bits ≈ 1,500
// characters), "ttl" a token that expires after that many seconds. Nothing else changes.
function withMail(config) {
  if (!process.env.OIDC_MAIL) return config;
  const mail = JSON.parse(process.env.OIDC_MAIL);
  const byId = new Map(mail.clients.map((c) => [c.client_id, c]));
  const [introspectorId, introspectorSecret] = mail.introspector;
  const previous = { claims: config.extraTokenClaims, bits: config.formats?.bitsOfOpaqueRandomness,
    ttl: config.ttl?.ClientCredentials };
  return {
    ...config,
    clients: [
      ...config.clients,
      { client_id: introspectorId, client_secret: introspectorSecret, grant_types: [], response_types: [],
        redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
      ...mail.clients.map((c) => ({
        client_id: c.client_id, client_secret: c.client_secret, grant_types: ['client_credentials'],
        response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic',
        scope: 'mail' })),
    ],
    scopes: [...new Set([...(config.scopes || []), 'mail'])],
    features: {
      ...config.features,
      clientCredentials: { enabled: true },
      introspection: {
        ...config.features?.introspection,
        enabled: true,
        allowedPolicy: async (ctx, client, token) => client.clientId === introspectorId
          || token.clientId === client.clientId,
      },
    },
    extraTokenClaims: async (ctx, token) => {
      const c = byId.get(token.clientId);
      if (c) return { email: c.email };
      return previous.claims ? previous.claims(ctx, token) : undefined;
    },
    formats: {
      ...config.formats,
      bitsOfOpaqueRandomness: (ctx, token) => {
        const c = byId.get(token.clientId);
        if (c?.bits) return c.bits;
        if (typeof previous.bits === 'function') return previous.bits(ctx, token);
        return previous.bits || 256;
      },
    },
    ttl: {
      ...config.ttl,
      ClientCredentials: (ctx, token, client) => {
        const c = byId.get(token.clientId);
        if (c?.ttl) return c.ttl;
        if (typeof previous.ttl === 'function') return previous.ttl(ctx, token, client);
        return previous.ttl || 600;
      },
    },
  };
}
// ---- end of the mail block ----------------------------------------------------------------------

const provider = new Provider(`http://127.0.0.1:${port}`, withMail({
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'kafka',
  }],
  scopes: ['kafka'],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
}));
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
