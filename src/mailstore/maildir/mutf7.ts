/** Moved to core (the IMAP parser decodes mailbox names with it too); kept for the store's imports. */
export { decodeMutf7, encodeMutf7, isValidMutf7 } from '../../core/mutf7.js';
