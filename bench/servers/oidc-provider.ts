// The token-endpoint baseline: a bare oidc-provider (the library Gatehouse's provider is built
// on, same version) with its default in-memory adapter and one confidential client allowed the
// client_credentials grant, on its default routes (POST /token). Gatehouse's POST /oidc/token
// is divided by this server's rate, measured in the same run.
// PORT (required), HOST (default 127.0.0.1), CLIENT_ID and CLIENT_SECRET (required).

import Provider from 'oidc-provider';
import { listenAddress, stopWith } from './child.ts';

const { port, host } = listenAddress('oidc-provider');
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
if (!clientId || !clientSecret) {
  process.stderr.write('oidc-provider: set CLIENT_ID and CLIENT_SECRET\n');
  process.exit(2);
}

const provider = new Provider(`http://${host}:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  features: { clientCredentials: { enabled: true } },
});
const server = provider.listen(port, host);

stopWith(() => new Promise<void>((resolve) => server.close(() => resolve())));
