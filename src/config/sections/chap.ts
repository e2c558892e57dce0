/**
 * CHAP credentials (a target's `chap:` and the system's `discoveryChap:`).
 */
import { Fields } from '../fields.ts';
import type { ChapConfig } from '../types.ts';

/** RFC 7143 §9.2.1: without IPsec a CHAP secret needs at least 96 random bits; 12 characters. */
export const MIN_CHAP_SECRET_LENGTH = 12;

export function chap(value: unknown, path: string): ChapConfig {
  const fields = Fields.of(value, path, ['user', 'secret', 'mutualUser', 'mutualSecret', 'allowShortSecrets']);
  const user = fields.string('user');
  const secret = fields.string('secret');
  const mutualUser = fields.optionalString('mutualUser');
  const mutualSecret = fields.optionalString('mutualSecret');
  if ((mutualUser === undefined) !== (mutualSecret === undefined)) {
    fields.fail(mutualUser === undefined ? 'mutualUser' : 'mutualSecret', 'mutual CHAP needs both mutualUser and mutualSecret');
  }
  // RFC 7143 §9.2.1: the same secret must not be used in both directions.
  if (mutualSecret !== undefined && mutualSecret === secret) fields.fail('mutualSecret', 'must differ from secret');
  if (!fields.boolean('allowShortSecrets', false)) {
    for (const [key, text] of [['secret', secret], ['mutualSecret', mutualSecret]] as const) {
      if (text !== undefined && text.length < MIN_CHAP_SECRET_LENGTH) {
        fields.fail(key, `is ${text.length} characters; RFC 7143 §9.2.1 wants at least 96 random bits (${MIN_CHAP_SECRET_LENGTH}+ characters) without IPsec (allowShortSecrets: true to imitate a weak set-up)`);
      }
    }
  }
  return { user, secret, ...(mutualUser === undefined ? {} : { mutualUser, mutualSecret }) };
}
