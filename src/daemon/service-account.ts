import { ConfigError } from '../core/errors.js';

/** The unprivileged account a root-started daemon switches to (`daemon.user`/`daemon.group`). */
export interface ServiceAccount {
  user: string;
  group: string;
  uid: number;
  gid: number;
}

/** True when start() will switch users: started as root with `daemon.user` set. */
export function willDropPrivileges(daemon: { user: string }): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0 && daemon.user !== '';
}

/**
 * Resolves `daemon.user`/`daemon.group` to ids before anything is created for that account;
 * null when there is nothing to switch to (not root, or no `daemon.user`).
 *
 * Node has no getpwnam(): seteuid()/setegid() take names and resolve them through NSS exactly as
 * the final setuid()/setgid() will (files, LDAP, ...), so the ids read back are the ones the
 * process will run as. Only the effective ids change, and they are restored at once.
 */
export function resolveServiceAccount(daemon: { user: string; group: string }): ServiceAccount | null {
  if (!willDropPrivileges(daemon)) return null;
  const user = daemon.user;
  const group = daemon.group || user;
  try {
    process.setegid!(group);
    process.seteuid!(user);
    return { user, group, uid: process.geteuid!(), gid: process.getegid!() };
  } catch (err) {
    throw new ConfigError(`daemon.user/daemon.group: cannot switch to ${user}:${group}: ${(err as Error).message}`);
  } finally {
    // Effective uid first: setegid() back to 0 needs root's privileges again.
    process.seteuid!(0);
    process.setegid!(0);
  }
}
