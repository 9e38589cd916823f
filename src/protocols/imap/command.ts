/**
 * A command as data (design principle 3): the states it is allowed in and how it runs. One file
 * per command under commands/ exports one of these; dispatcher.ts checks the state.
 */
import type { Logger } from '../../core/logger.js';
import type { MailUser } from '../../directory/types.js';
import type { Mailbox } from '../../mailstore/types.js';
import type { LoginService } from '../sasl/login-service.js';
import type { Reply } from './replies.js';
import type { ImapSession, SessionState } from './session.js';
import type { Command } from './types.js';

/** What commands need from outside the session (given by compose.ts through the server). */
export interface ImapServices {
  login: LoginService;
  openMailbox(user: MailUser): Promise<Mailbox>;
  /** Largest APPEND literal accepted (mail.max_message_size). */
  maxAppendSize: number;
}

export interface CommandContext {
  tag: string;
  session: ImapSession;
  services: ImapServices;
  log: Logger;
}

export type CommandOf<N extends Command['name']> = Extract<Command, { name: N }>;

export interface CommandSpec<N extends Command['name'] = Command['name']> {
  names: readonly N[];
  states: readonly SessionState[];
  /**
   * Whether changes to the selected mailbox (EXPUNGE among them) are reported when the command
   * is done. RFC 9051 7.5.1: never for FETCH, STORE and SEARCH by sequence number.
   */
  reportsChanges?: (cmd: CommandOf<N>) => boolean;
  run(ctx: CommandContext, cmd: CommandOf<N>): Promise<Reply>;
}

export const AUTHENTICATED: readonly SessionState[] = ['authenticated', 'selected'];
export const SELECTED: readonly SessionState[] = ['selected'];
export const ANY: readonly SessionState[] = ['not-authenticated', 'authenticated', 'selected'];
export const NOT_AUTHENTICATED: readonly SessionState[] = ['not-authenticated'];
