import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import type { UserDirectory } from '../directory/types.js';
import { ensureWritableDir } from './data-dir.js';
import type { Listener } from './listener.js';
import { dropPrivileges } from './privileges.js';
import type { TlsCertificates } from './tls.js';

export interface DaemonParts {
  config: Config;
  log: Logger;
  certs: TlsCertificates;
  directory: UserDirectory;
  listeners: Listener[];
  /** Released last on shutdown (worker pools, ...). */
  closers: { close(): Promise<void> }[];
  /** Run at start, before the listeners (create spool directories, ...). */
  starters?: (() => Promise<void>)[];
}

/**
 * The fixed part of a mail location, `/var/mail/vhosts` for `maildir:/var/mail/vhosts/%d/%n`:
 * the directory every user's Maildir is created in. Null when the path starts at the home.
 */
export function staticRoot(location: string): string | null {
  const dir = /^maildir:([^:]*)/.exec(location)?.[1] ?? '';
  const parts = dir.split('/');
  const firstVar = parts.findIndex((p) => p.includes('%') || p.startsWith('~'));
  const fixed = (firstVar < 0 ? parts : parts.slice(0, firstVar)).join('/');
  return fixed.startsWith('/') && fixed !== '/' ? fixed : null;
}

/** Start-up order, SIGHUP reload and graceful SIGTERM shutdown of the whole process. */
export class Daemon {
  constructor(private readonly parts: DaemonParts) {}

  get listeners(): readonly Listener[] {
    return this.parts.listeners;
  }

  async start(): Promise<void> {
    const { config, log, certs, listeners } = this.parts;
    await ensureWritableDir(config.data_dir, 'data_dir');
    const mailRoot = staticRoot(config.mail.location);
    if (mailRoot) await ensureWritableDir(mailRoot, 'mail.location');
    for (const start of this.parts.starters ?? []) await start();
    await certs.reload();
    const started: Listener[] = [];
    try {
      for (const l of listeners) {
        await l.start();
        started.push(l);
        log.info({ listener: l.spec.name, address: l.address(), tls: l.spec.tls ? 'implicit' : 'none' }, `listening for ${l.spec.name}`);
      }
    } catch (err) {
      await Promise.all(started.map((l) => l.stop(0)));
      throw err;
    }
    dropPrivileges(config.daemon.user, config.daemon.group, log);
    log.info({
      config: config.configFile, data_dir: config.data_dir, mail_location: config.mail.location,
      directory: config.directory.backend, tls: certs.describe(),
    }, 'tsmail started');
  }

  /** SIGHUP: new certificates and a fresh view of the directory; sessions keep running. */
  async reload(): Promise<void> {
    const { log, certs, directory } = this.parts;
    await certs.reload();
    await directory.reload();
    log.info('reloaded TLS certificates and directory');
  }

  /** SIGTERM: stop accepting, give sessions `shutdown_timeout` seconds, then release everything. */
  async stop(): Promise<void> {
    const { config, log, listeners, directory, closers } = this.parts;
    const open = listeners.reduce((n, l) => n + l.connections, 0);
    log.info({ connections: open, grace_seconds: config.daemon.shutdown_timeout }, 'shutting down');
    await Promise.all(listeners.map((l) => l.stop(config.daemon.shutdown_timeout * 1000)));
    await directory.close();
    await Promise.all(closers.map((c) => c.close()));
    log.info('tsmail stopped');
  }
}
