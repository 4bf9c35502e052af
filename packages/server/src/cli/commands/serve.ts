// `gatehouse serve`: migrate, listen, print the first-administrator link when there are no
// users yet, and on SIGTERM finish in-flight requests before exiting.

import { existsSync, lstatSync, rmSync } from 'node:fs';
import { configWarnings, SERVE_FLAGS } from '../../config/config.ts';
import { createLogger } from '../../config/logger.ts';
import { createGatehouse } from '../../gatehouse.ts';
import { buildApp } from '../../http/app.ts';
import { lockDataDir } from '../../store/data-dir.ts';
import { adminSocketPath } from '../admin-protocol.ts';
import { type AdminServer, openAdminSocket } from '../admin-server.ts';
import { type Command, KEEP_RUNNING } from '../command.ts';
import { configFromEnvironment } from '../context.ts';
import { CommandError, type Io } from '../output.ts';

const SETUP_LINK_TTL_MS = 24 * 60 * 60_000;

const flagOptions = Object.fromEntries(
  SERVE_FLAGS.map((f) => [
    f.flag,
    { type: f.flag === 'dev' ? ('boolean' as const) : ('string' as const) },
  ]),
);

/** Runs one `gatehouse` command with the given Io (main's, handed in to avoid an import cycle). */
export type Execute = (argv: string[], io: Io) => Promise<number>;

export const serveCommand = (execute: Execute): Command => ({
  path: ['serve'],
  local: 'it is already serving',
  summary: 'run the Gatehouse server',
  usage: `Usage: gatehouse serve [options]

Serves Gatehouse. Every option mirrors an environment variable; flags override the
environment, which overrides the config file (GATEHOUSE_CONFIG, or ./gatehouse.yaml).

Options:
  --config FILE         ${'GATEHOUSE_CONFIG'.padEnd(24)} YAML or JSON settings file
${SERVE_FLAGS.map((f) => `  --${`${f.flag}${f.flag === 'dev' ? '' : ' V'}`.padEnd(20)}${f.env}`).join('\n')}`,
  options: { ...flagOptions, config: { type: 'string' } },
  async run(values, io) {
    const config = configFromEnvironment(values);
    // A socket left by a previous run is replaced; anything else at that path is not ours.
    if (config.socket && existsSync(config.socket)) {
      if (!lstatSync(config.socket).isSocket()) {
        throw new CommandError(
          `GATEHOUSE_SOCKET ${config.socket} exists and is not a socket; choose another path`,
        );
      }
      rmSync(config.socket);
    }
    const logger = createLogger({ level: config.logLevel });
    const unlock = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
    let gh: Awaited<ReturnType<typeof createGatehouse>>;
    try {
      gh = await createGatehouse(config, { logger });
    } catch (err) {
      unlock();
      throw err;
    }
    for (const warning of configWarnings(config)) logger.warn(warning);
    const app = await buildApp(gh);

    if (config.socket) {
      await app.listen({ path: config.socket });
    } else {
      await app.listen({ host: config.host, port: config.port });
    }
    // Embedded mode: the CLI reaches this server through the admin socket while it runs.
    let admin: AdminServer | null = null;
    if (!config.databaseUrl) {
      const path = adminSocketPath(config.dataDir);
      try {
        admin = await openAdminSocket({ path, gh, logger, execute });
      } catch (err) {
        if (err instanceof CommandError) {
          await app.close();
          await gh.close();
          unlock();
          throw err;
        }
        logger.warn(
          `cannot open the admin socket ${path} (${(err as Error).message}); the gatehouse command cannot run while this server runs`,
        );
      }
    }
    const where = config.socket
      ? `unix:${config.socket}`
      : `http://${config.host}:${(app.server.address() as { port: number }).port}`;
    logger.info(
      { issuer: config.issuer, database: gh.stores.database.kind, listen: where },
      `Gatehouse listening on ${where}`,
    );

    if (!(await gh.accounts.hasAdmin())) {
      const token = await gh.oneTimeTokens.issue('setup', { ttlMs: SETUP_LINK_TTL_MS });
      // Printed, not logged: this is the one secret the operator must see, and it works once.
      io.out(
        [
          '',
          '  Gatehouse has no administrator yet. Create the first one at this one-time link',
          '  (valid 24 hours; a new one is printed at every start until an administrator exists):',
          '',
          `    ${config.issuer}/setup/${token}`,
          '',
        ].join('\n'),
      );
    }

    // SIGHUP re-reads the config file's forward_auth rules and swaps them in whole; requests in
    // flight finish with the old set. A bad file keeps the old rules and says why.
    const reload = () => {
      try {
        const next = configFromEnvironment(values);
        const where = next.configFile ? ` in ${next.configFile}` : '';
        const { rules } = gh.forwardAuth.reload(next.forwardAuth, where);
        logger.info({ rules }, `SIGHUP: reloaded ${rules} forward-auth rules`);
      } catch (err) {
        logger.error(
          `SIGHUP: kept the previous forward-auth rules: ${(err as Error).message.split('\n')[0]}`,
        );
      }
    };
    process.on('SIGHUP', reload);

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.off('SIGHUP', reload);
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      const force = setTimeout(() => {
        logger.error('shutdown took longer than 10 s; exiting');
        process.exit(1);
      }, 10_000);
      force.unref();
      try {
        await admin?.close();
        await app.close();
        await gh.close();
      } finally {
        unlock();
        if (config.socket) rmSync(config.socket, { force: true });
      }
      logger.info('stopped');
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    return KEEP_RUNNING;
  },
});
