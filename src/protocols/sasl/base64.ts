/**
 * The base64 of SASL exchanges (RFC 4648 4, as RFC 4954 4 and RFC 4422 require): the standard
 * alphabet with its padding, nothing else. Node's decoder skips any character it does not know
 * and so would take `!!x` as base64; a response that is not exactly base64 is refused instead
 * (Dovecot: "Invalid base64 data in initial response").
 */
const STRICT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes `text` encodes, or null when it is not strict base64. */
export function decodeBase64(text: string): Buffer | null {
  if (!STRICT.test(text)) return null;
  return Buffer.from(text, 'base64');
}
