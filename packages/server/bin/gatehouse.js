#!/usr/bin/env node
// The `gatehouse` command. Gatehouse runs its TypeScript directly (Node's type stripping), so it
// needs Node 22.18 or later; npm scripts and npx in this repository use the pinned Node 24.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `gatehouse: Node ${process.versions.node} is too old; Gatehouse needs Node 22.18+ (24 recommended).\n` +
      'In this repository run it through npm (npm start, npx gatehouse), which uses the pinned Node 24.\n',
  );
  process.exit(1);
}
// Embedded mode runs Postgres as WebAssembly (PGlite). V8's optimising compiler (TurboFan)
// compiles its hot functions in the background, and that compilation alone took the process to
// about 800 MB at start-up (idle afterwards: 290 MB). The baseline compiler (Liftoff) compiles it
// in a fraction of the memory and time: measured, start-up peak 810 -> 254 MB, idle 293 -> 247 MB.
// V8 flags cannot be set once the process runs, so the command replaces itself (same pid, stdio
// and environment) with node and this flag, unless it was given. Postgres + Redis mode runs no
// WebAssembly, so the flag changes nothing there.
// (A smaller young generation, --max-semi-space-size=16, saves another 18 MB idle but seemed to
// cost the hot path CPU per request; not made the default: see bench/README.md.)
const V8_FLAGS = ['--liftoff-only'];
const missing = V8_FLAGS.filter(
  (flag) => !process.execArgv.some((arg) => arg.split('=')[0] === flag.split('=')[0]),
);
if (missing.length > 0 && typeof process.execve === 'function') {
  process.execve(
    process.execPath,
    [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}
// In this repository gatehouse-client resolves to its TypeScript sources through the
// "gatehouse-source" export condition (its package.json points the published exports at dist/).
//
// drizzle-orm's package.json is 175 KB (an exports entry per file), and Node reads and parses it
// again to find the module type of each of its files (over a hundred at start-up): about 150 MB of transient heap
// and 1-2 s of start-up. Its files are all ES modules ("type": "module"), so a relative `.js`
// import inside drizzle-orm is resolved here with that format, which skips the lookup.
const DRIZZLE = '/node_modules/drizzle-orm/';
const { registerHooks } = await import('node:module');
registerHooks({
  resolve: (specifier, context, nextResolve) => {
    if (specifier === 'gatehouse-client' || specifier.startsWith('gatehouse-client/'))
      return nextResolve(specifier, {
        ...context,
        conditions: [...context.conditions, 'gatehouse-source'],
      });
    if (
      specifier.startsWith('.') &&
      specifier.endsWith('.js') &&
      context.parentURL?.startsWith('file:') &&
      context.parentURL.includes(DRIZZLE)
    )
      return {
        url: new URL(specifier, context.parentURL).href,
        format: 'module',
        shortCircuit: true,
      };
    return nextResolve(specifier, context);
  },
});
const { main, KEEP_RUNNING } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
if (code !== KEEP_RUNNING) process.exit(code);
