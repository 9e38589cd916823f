/** Every command tsmail's IMAP server knows (APPEND is streamed: see append.ts). */
import type { CommandSpec } from '../command.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { check } from './check.js';
import { close } from './close.js';
import { copy } from './copy.js';
import { create } from './create.js';
import { del } from './delete.js';
import { enable } from './enable.js';
import { expunge } from './expunge.js';
import { fetch } from './fetch.js';
import { id } from './id.js';
import { idle } from './idle.js';
import { list } from './list.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { lsub } from './lsub.js';
import { namespace } from './namespace.js';
import { noop } from './noop.js';
import { rename } from './rename.js';
import { search } from './search.js';
import { select } from './select.js';
import { starttls } from './starttls.js';
import { status } from './status.js';
import { store } from './store.js';
import { subscribe } from './subscribe.js';
import { unselect } from './unselect.js';

export const COMMANDS: readonly CommandSpec<any>[] = [
  authenticate, capability, check, close, copy, create, del, enable, expunge, fetch, id, idle, list, login,
  logout, lsub, namespace, noop, rename, search, select, starttls, status, store, subscribe, unselect,
];
