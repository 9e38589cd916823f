import type { Logger } from '../core/logger.js';
import { ConfigError } from '../core/errors.js';

/**
 * Dovecot and Postfix bind privileged ports as root, then run as an unprivileged user. When the
 * process starts as root (not the systemd unit, which uses User= and CAP_NET_BIND_SERVICE),
 * switch to daemon.user/daemon.group after the listeners are bound.
 */
export function dropPrivileges(user: string, group: string, log: Logger): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  if (!user) {
    log.warn('running as root; set daemon.user (or use systemd/tsmail.service) so tsmail runs unprivileged');
    return;
  }
  try {
    // Supplementary groups of root must not survive the switch.
    (process as NodeJS.Process & { initgroups?: (u: string, g: string) => void }).initgroups?.(user, group || user);
    process.setgid?.(group || user);
    process.setuid?.(user);
  } catch (err) {
    throw new ConfigError(`daemon.user/daemon.group: cannot switch to ${user}:${group || user}: ${(err as Error).message}`);
  }
  log.info({ uid: process.getuid(), gid: process.getgid?.() }, 'dropped root privileges');
}
