import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createMailStore } from '../../src/compose.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { LocalDelivery } from '../../src/delivery/local-delivery.js';
import { Directory } from '../../src/directory/directory.js';
import { PasswdFileBackend } from '../../src/directory/passwd-file/backend.js';
import { PasswordHasher } from '../../src/directory/schemes/index.js';
import type { MaildirStore } from '../../src/mailstore/maildir/store.js';

/**
 * The directory, store and delivery a protocol test runs against, all real: a passwd-file
 * (`users` lines), a Postfix-style alias map and Maildirs under `dir/vmail/example.test/`.
 */
export interface MailFixture {
  directory: Directory;
  store: MaildirStore;
  delivery: LocalDelivery;
  hasher: PasswordHasher;
}

export async function mailFixture(dir: string, users: string, aliases: string, configToml = ''): Promise<MailFixture> {
  await writeFile(path.join(dir, 'users'), users);
  await writeFile(path.join(dir, 'aliases'), aliases);
  const config = parseConfig(`data_dir = "."\n${configToml}`, path.join(dir, 't.toml'));
  const backend = new PasswdFileBackend({
    passwdFile: path.join(dir, 'users'), aliasesFile: path.join(dir, 'aliases'), domainsFile: path.join(dir, 'domains'), configDomains: ['example.test'],
  });
  const hasher = new PasswordHasher({ defaultScheme: 'PLAIN', workers: 0 });
  const directory = new Directory(backend, hasher, { mailLocation: config.mail.location, recipientDelimiter: '+' }, silentLogger);
  const store = createMailStore(config, silentLogger);
  const delivery = new LocalDelivery({ directory, store, log: silentLogger });
  return { directory, store, delivery, hasher };
}
