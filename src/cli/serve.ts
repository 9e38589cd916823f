import { chooseConfigPath, loadConfig } from '../config/load.js';
import { createDaemon, createLogger } from '../compose.js';
import type { CliIo } from './io.js';

/**
 * `tsmail serve`: runs until SIGTERM/SIGINT (graceful stop, exit 0); SIGHUP reloads TLS
 * certificates and the directory. Resolves when the daemon has stopped.
 *
 * The signal handlers are in place before the daemon starts: without one, SIGINT and SIGTERM
 * kill a Node process outright, so a signal in the moment after "tsmail started" was logged
 * would end it without a clean stop. A stop asked for while starting waits for the start.
 */
export async function serve(io: CliIo, opts: { config?: string }): Promise<void> {
  const config = await loadConfig(chooseConfigPath(opts.config, io.env));
  const log = await createLogger(config);
  const daemon = createDaemon(config, log);
  let started: Promise<void> | undefined;
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stop requested');
      const afterStart = started?.catch(() => {}) ?? Promise.resolve();
      void afterStart.then(() => daemon.stop()).then(resolve, (err: unknown) => {
        log.error({ err: (err as Error).message }, 'error during shutdown');
        resolve();
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      void (started ?? Promise.resolve()).then(() => daemon.reload()).catch((err: unknown) => log.error({ err: (err as Error).message }, 'reload failed; keeping the previous state'));
    });
  });
  started = daemon.start();
  await started;
  await stopped;
}
