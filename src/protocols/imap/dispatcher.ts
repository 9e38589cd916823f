/**
 * The one dispatcher: finds the command's spec, checks the session's state (→ BAD), runs it,
 * reports mailbox changes where the protocol allows them, and maps anything thrown through
 * replies.ts. Tagged replies go out in the order commands arrived: the server awaits each one.
 */
import type { CommandContext, CommandSpec } from './command.js';
import { errorReply, formatTagged, type Reply } from './replies.js';
import type { Command } from './types.js';
import { COMMANDS } from './commands/index.js';

export class Dispatcher {
  private readonly specs = new Map<string, CommandSpec>();

  constructor(specs: readonly CommandSpec<any>[] = COMMANDS) {
    for (const spec of specs) for (const name of spec.names) this.specs.set(name, spec as CommandSpec);
  }

  /** Runs one parsed command and writes its tagged reply. */
  // Not async: one suspended frame less while a command (IDLE, in thousands of sessions) waits.
  dispatch(ctx: CommandContext, command: Command): Promise<Reply> {
    return this.run(ctx, command).then((reply) => {
      ctx.session.out.write(formatTagged(ctx.tag, reply));
      // The command's name and outcome only: arguments can hold passwords and private names.
      ctx.log.debug({ command: command.name, status: reply.status, code: reply.code?.split(' ')[0] }, 'imap command');
      return reply;
    });
  }

  private async run(ctx: CommandContext, command: Command): Promise<Reply> {
    const spec = this.specs.get(command.name);
    const { session } = ctx;
    if (!spec) return { status: 'BAD', text: 'Unknown command.' };
    if (!spec.states.includes(session.state)) {
      if (session.state === 'authenticated' && spec.states.includes('selected')) return { status: 'BAD', text: 'No mailbox selected.' };
      if (session.state === 'not-authenticated') return { status: 'BAD', text: 'Command not allowed before login.' };
      return { status: 'BAD', text: 'Command not allowed in this state.' };
    }
    let reply: Reply;
    try {
      reply = await spec.run(ctx, command);
    } catch (err) {
      reply = errorReply(err, ctx.log, mailboxOf(command));
    }
    if (session.state === 'selected' && (spec.reportsChanges?.(command) ?? true)) {
      try {
        await session.reportChanges();
      } catch (err) {
        ctx.log.warn({ err: (err as Error).message }, 'cannot sync the selected mailbox');
      }
    }
    return reply;
  }
}

function mailboxOf(command: Command): string | undefined {
  return 'mailbox' in command ? command.mailbox : command.name === 'RENAME' ? command.from : undefined;
}
