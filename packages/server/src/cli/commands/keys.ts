// `gatehouse keys rotate`: promote the published next signing key, retire the current one.

import { CLI_ACTOR } from '../../audit/audit.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';

export const keysRotateCommand: Command = {
  path: ['keys', 'rotate'],
  summary: 'rotate the token signing keys',
  usage: `Usage: gatehouse keys rotate [--json]

The next key of each algorithm (published in the JWKS since the last rotation, signing
nothing) starts signing; the current key is retired but stays published until every token
it signed has expired; a new next key is published. A relying party that refreshes its JWKS
cache at least as often as you rotate never meets an unknown key. Running servers pick the
change up through the shared store at once, or within a minute otherwise.`,
  options: {},
  async run(values, io) {
    return withGatehouse(io, async (gh) => {
      const result = await gh.oidc.rotateKeys(CLI_ACTOR);
      if (values.json) io.out(JSON.stringify(result));
      else
        io.out(
          `Rotated the signing keys: ${result.activated.length} now signing, ${result.retired.length} retired (published until their tokens expire).`,
        );
      return 0;
    });
  },
};
