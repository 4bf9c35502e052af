// What every reference server started by the benchmark shares: where to listen, how to stop.

/** PORT (required) and HOST (default 127.0.0.1) from the environment. */
export function listenAddress(name: string): { port: number; host: string } {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) {
    process.stderr.write(`${name}: set PORT\n`);
    process.exit(2);
  }
  return { port, host: process.env.HOST ?? '127.0.0.1' };
}

/** Stops on SIGTERM/SIGINT, and exits if the benchmark that started us is gone. */
export function stopWith(close: () => Promise<void> | void) {
  const stop = () => void Promise.resolve(close()).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
}
