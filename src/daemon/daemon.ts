import { access } from 'node:fs/promises';
import type { Config } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UserDirectory } from '../directory/types.js';
import { claimStateDir, createOwnedDir, ensureWritableDir } from './data-dir.js';
import type { Listener } from './listener.js';
import { dropPrivileges } from './privileges.js';
import { resolveServiceAccount, type ServiceAccount } from './service-account.js';
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
  /**
   * tsmail's own directories under data_dir (spool, self-signed certificate): given to
   * `daemon.user` when started as root, and checked as that user after the switch.
   */
  stateDirs?: () => string[];
  /**
   * Run as root just before switching to `daemon.user`: load what may not be readable after
   * the switch (the passwd-file, program files loaded on first use, worker threads).
   */
  beforeDrop?: (() => Promise<void>)[];
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
    // Started as root with daemon.user: directories are made for that account now and checked
    // as that account after the switch; otherwise checked as the current user right away.
    const account = resolveServiceAccount(config.daemon);
    const mailRoot = staticRoot(config.mail.location);
    if (account) {
      await createOwnedDir(config.data_dir, 'data_dir', account);
      if (mailRoot) await createOwnedDir(mailRoot, 'mail.location', account);
    } else {
      await ensureWritableDir(config.data_dir, 'data_dir');
      if (mailRoot) await ensureWritableDir(mailRoot, 'mail.location');
    }
    for (const start of this.parts.starters ?? []) await start();
    await certs.reload();
    const started: Listener[] = [];
    try {
      if (account) await this.prepareForAccount(account);
      for (const l of listeners) {
        await l.start();
        started.push(l);
        log.info({ listener: l.spec.name, address: l.address(), tls: l.spec.tls ? 'implicit' : 'none' }, `listening for ${l.spec.name}`);
      }
      dropPrivileges(config.daemon.user, config.daemon.group, log);
      if (account) await this.checkWritableAfterSwitch(mailRoot);
    } catch (err) {
      await Promise.all(started.map((l) => l.stop(0)));
      certs.close();
      throw err;
    }
    log.info({
      config: config.configFile, data_dir: config.data_dir, mail_location: config.mail.location,
      directory: config.directory.backend, tls: certs.describe(),
    }, 'tsmail started');
  }

  /**
   * As root, before the switch: tsmail's state directories (and their files, one level) belong
   * to the service account, as `postfix set-permissions` does for Postfix's queue; directories
   * the operator made (a pre-existing data_dir, /var/mail/vhosts) keep their owner: only
   * checked. Then the root-only reads are set up: the certificate reader that stays root, and
   * whatever the components load before the switch (beforeDrop).
   */
  private async prepareForAccount(account: ServiceAccount): Promise<void> {
    const { log, certs } = this.parts;
    for (const dir of this.parts.stateDirs?.() ?? []) {
      const changed = await claimStateDir(dir, account).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return 0;
        throw new ConfigError(`data_dir: cannot give ${dir} to ${account.user}: ${err.code ?? err.message}`);
      });
      if (changed) log.info({ dir, entries: changed, user: account.user, group: account.group }, 'gave a state directory to the service user');
    }
    certs.keepPrivilegedAccess();
    for (const prepare of this.parts.beforeDrop ?? []) await prepare();
  }

  /** After the switch: every directory tsmail writes, probed as the service account itself. */
  private async checkWritableAfterSwitch(mailRoot: string | null): Promise<void> {
    for (const dir of this.parts.stateDirs?.() ?? []) {
      // Absent: not used in this configuration (data_dir/tls with a configured certificate).
      const absent = await access(dir).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
      if (!absent) await ensureWritableDir(dir, 'data_dir');
    }
    if (mailRoot) await ensureWritableDir(mailRoot, 'mail.location');
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
    this.parts.certs.close();
    log.info('tsmail stopped');
  }
}
