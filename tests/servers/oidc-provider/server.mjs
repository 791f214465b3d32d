// A real OAuth 2.0 authorization server (npm oidc-provider) for the tests: one confidential client
// that may use the client-credentials grant. Usage: node server.mjs PORT CLIENT_ID CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
const provider = new Provider(`http://127.0.0.1:${port}`, {
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
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
