/**
 * Write access to one preset schema, used by the CLI through `MysqlBackend`'s DirectoryAdmin
 * methods. Inputs arrive validated and normalized (lower-case addresses and domains); each
 * schema decides how rows are added and removed (soft delete where the schema has it).
 */
import type { AliasEntry } from '../../types.js';

export interface NewMailbox {
  /** Normalized `local@domain`. */
  address: string;
  local: string;
  domain: string;
  /** Hashed, with `{SCHEME}` prefix. */
  password: string;
  /** Bytes; null = the schema's default. */
  quotaBytes: number | null;
}

/** The key of an alias: an address, or `@domain` for a catch-all. */
export interface AliasKey {
  key: string;
  domain: string;
}

export interface SchemaAdmin {
  listUsers(): Promise<string[]>;
  addUser(user: NewMailbox): Promise<void>;
  deleteUser(address: string): Promise<void>;
  setPassword(address: string, password: string): Promise<void>;
  listDomains(): Promise<string[]>;
  addDomain(domain: string): Promise<void>;
  deleteDomain(domain: string): Promise<void>;
  listAliases(): Promise<AliasEntry[]>;
  addAlias(source: AliasKey, destination: string): Promise<void>;
  deleteAlias(source: string, destination?: string): Promise<void>;
}
