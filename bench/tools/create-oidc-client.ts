// Registers an OIDC client in the Gatehouse the environment points at (GATEHOUSE_* variables,
// as the `gatehouse` command reads them) through the client registry the CLI uses, and prints
// {"client_id", "client_secret"} on one line. The bench runs it before `gatehouse serve`.
// Usage: node bench/tools/create-oidc-client.ts '<ClientInput as JSON>'

import { withGatehouse } from '../../packages/server/src/cli/context.ts';
import { processIo } from '../../packages/server/src/cli/output.ts';
import type { ClientInput } from '../../packages/server/src/clients/clients.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as ClientInput;
const { client, secret } = await withGatehouse(processIo, (gh) => gh.clients.create(input));
process.stdout.write(`${JSON.stringify({ client_id: client.clientId, client_secret: secret })}\n`);
process.exit(0);
