// Table names from options, checked before they are pasted into SQL: shared by the store and the
// dead-letter sink.
import { WebhookError } from '@ittybit-webhooks/core';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface TableName {
  /** `"schema"."table"` or `"table"`, safe to paste into SQL. */
  quoted: string;
  /** The bare table name, for naming its index. */
  bare: string;
}

/** `"schema"."table"` (or `"table"`) and the bare name, or a refusal naming the rule. */
export function tableName(table: string): TableName {
  const parts = typeof table === 'string' ? table.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new WebhookError(
      'invalid_options',
      `Invalid table name ${JSON.stringify(table)}: use letters, digits and underscores (at most 63, not starting with a digit), optionally as schema.table.`,
    );
  }
  return {
    quoted: parts.map((part) => `"${part}"`).join('.'),
    bare: parts[parts.length - 1] as string,
  };
}
