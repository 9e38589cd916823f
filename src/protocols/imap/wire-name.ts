/**
 * A mailbox name as it goes on the wire (LIST, LSUB, STATUS): modified UTF-7 for IMAP4rev1
 * clients (RFC 3501 5.1.3), as an atom when it can be one, else a quoted string. (Temporary
 * until encoder.ts's mailboxName lands; same contract.)
 */
export function wireMailboxName(name: string): string {
  const enc = encodeMutf7(name);
  if (/^[!#$&'+,\-.0-9:;<=>?@A-Z^_`a-z|}~\[\]]+$/.test(enc) && !/^nil$/i.test(enc)) return enc;
  return `"${enc.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function encodeMutf7(text: string): string {
  let out = '';
  let run = '';
  const flush = (): void => {
    if (run !== '') out += `&${Buffer.from(run, 'utf16le').swap16().toString('base64').replace(/=+$/, '').replaceAll('/', ',')}-`;
    run = '';
  };
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0x20 && c <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else run += ch;
  }
  flush();
  return out;
}
