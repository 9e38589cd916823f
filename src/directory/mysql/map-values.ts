/**
 * Postfix map results: dict_mysql uses every column of every returned row, skipping NULL and
 * empty values (db_common_expand: "empty lookup result ... ignored"); a lookup whose values are
 * all skipped is "not found". A virtual_alias_maps result is a list of addresses separated by
 * commas and/or whitespace (virtual(5)), as in PostfixAdmin's `alias.goto`.
 */
import { columnText } from './userdb-fields.js';

/** Every usable value of a map query result, in row then column order. */
export function mapValues(rows: readonly unknown[][]): string[] {
  const values: string[] = [];
  for (const row of rows) {
    for (const column of row) {
      const text = columnText(column);
      if (text !== null && text !== '') values.push(text);
    }
  }
  return values;
}

/** Splits an address list into its members, trimmed, empty ones dropped. */
export function splitAddressList(value: string): string[] {
  return value.split(/[\s,]+/).filter((part) => part !== '');
}
