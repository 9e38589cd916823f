import { readFile } from 'node:fs/promises';

/**
 * Resolves the uid/gid fields of a userdb entry. A passwd-file may name them (`mail:mail`,
 * `vmail`) rather than give numbers, as seed 002's `/etc/dovecot/users` does.
 */
export class SystemIds {
  private users: Promise<Map<string, number>> | undefined;
  private groups: Promise<Map<string, number>> | undefined;

  constructor(
    private readonly passwdPath = '/etc/passwd',
    private readonly groupPath = '/etc/group',
  ) {}

  async uid(value: number | string | undefined): Promise<number | null> {
    if (value === undefined) return null;
    if (typeof value === 'number') return value;
    this.users ??= readIds(this.passwdPath);
    return (await this.users).get(value) ?? null;
  }

  async gid(value: number | string | undefined): Promise<number | null> {
    if (value === undefined) return null;
    if (typeof value === 'number') return value;
    this.groups ??= readIds(this.groupPath);
    return (await this.groups).get(value) ?? null;
  }

  reload(): void {
    this.users = undefined;
    this.groups = undefined;
  }
}

async function readIds(file: string): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id && /^\d+$/.test(id)) map.set(name, Number(id));
  }
  return map;
}
