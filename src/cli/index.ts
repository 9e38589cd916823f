import { Command, CommanderError } from 'commander';
import { MailError, TempFailure } from '../core/errors.js';
import { authTest } from './auth-test.js';
import { configCheck } from './config-check.js';
import { DirectoryCommands } from './directory-commands.js';
import { CliExit, type CliIo } from './io.js';
import { serve } from './serve.js';

const CONFIG_HELP = 'config file (default: $TSMAIL_CONFIG or the package\'s config/tsmail.toml)';

function build(io: CliIo): Command {
  const dir = new DirectoryCommands(io);
  const program = new Command('tsmail')
    .description('one-process mail server: SMTP, submission, LMTP, IMAP, POP3 on Maildir')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const withConfig = (cmd: Command) => cmd.option('-c, --config <file>', CONFIG_HELP);

  withConfig(program.command('serve').description('run the mail server')).action((o) => serve(io, o));

  const config = program.command('config').description('configuration');
  withConfig(config.command('check').description('validate and print the effective configuration')).action((o) => configCheck(io, o));

  const user = program.command('user').description('manage mail users');
  withConfig(user.command('add <email>').description('add a user (password from a prompt or stdin)'))
    .option('--quota <size>', 'storage quota, e.g. 1G, 500M (default: unlimited)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action((email, o) => dir.userAdd(email, o));
  withConfig(user.command('list').description('list users')).action((o) => dir.userList(o));
  withConfig(user.command('del <email>').alias('delete').description('delete a user (keeps the Maildir)')).action((email, o) => dir.userDel(email, o));
  withConfig(user.command('passwd <email>').description('change a password'))
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action((email, o) => dir.userPasswd(email, o));

  const domain = program.command('domain').description('manage local domains');
  withConfig(domain.command('add <domain>')).action((d, o) => dir.domainAdd(d, o));
  withConfig(domain.command('del <domain>').alias('delete')).action((d, o) => dir.domainDel(d, o));
  withConfig(domain.command('list')).action((o) => dir.domainList(o));

  const alias = program.command('alias').description('manage aliases (SOURCE may be @domain for a catch-all)');
  withConfig(alias.command('add <source> <destination>')).action((s, d, o) => dir.aliasAdd(s, d, o));
  withConfig(alias.command('del <source> [destination]').alias('delete')).action((s, d, o) => dir.aliasDel(s, d, o));
  withConfig(alias.command('list')).action((o) => dir.aliasList(o));

  const auth = program.command('auth').description('authentication');
  withConfig(auth.command('test <email>').description('check a password (read from stdin), like doveadm auth test'))
    .action((email, o) => authTest(io, email, o));

  return program;
}

/** Runs the CLI and returns the process exit code; never calls process.exit itself. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = build(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliExit) {
      io.stderr.write(`tsmail: ${err.message}\n`);
      return err.code;
    }
    if (err instanceof MailError) {
      const what = err instanceof TempFailure ? 'temporary failure: ' : '';
      io.stderr.write(`tsmail: ${what}${err.message}\n`);
      return err instanceof TempFailure ? 75 : 1;
    }
    io.stderr.write(`tsmail: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
