import { formatSize } from '../core/size.js';
import { withContext } from './context.js';
import { CliExit, type CliIo } from './io.js';
import { readPassword } from './password-input.js';

/**
 * `tsmail auth test EMAIL`, the counterpart of `doveadm auth test`: password on stdin; prints
 * where the user's mail lives and its quota, or the reason the login fails (exit 1).
 */
export async function authTest(io: CliIo, address: string, opts: { config?: string }): Promise<void> {
  const password = await readPassword(io, { fromStdin: true, confirm: false });
  await withContext(opts.config, io, async ({ directory }) => {
    const user = await directory.authenticate(address, password);
    if (!user) {
      const exists = await directory.lookupUser(address);
      throw new CliExit(`auth failed for ${address}: ${exists ? 'wrong password' : 'unknown user (or inactive/deleted)'}`);
    }
    const lines = [
      `auth succeeded: ${user.user}`,
      `mail: maildir:${user.maildir}`,
      `quota: ${user.quotaBytes === null ? 'unlimited' : `${formatSize(user.quotaBytes)} (${user.quotaBytes} bytes)`}`,
      ...(user.quotaMessages !== null ? [`quota_messages: ${user.quotaMessages}`] : []),
      ...(user.uid !== null ? [`uid: ${user.uid}`] : []),
      ...(user.gid !== null ? [`gid: ${user.gid}`] : []),
      ...(user.home ? [`home: ${user.home}`] : []),
    ];
    io.stdout.write(lines.join('\n') + '\n');
  });
}
