/**
 * Paging links of batch answers carry what a real one carries (a `next` URL of a batch item quoted in
 * arsduo/koala#388): `_fb_batch_child_request=1`, the expiring signature `_fb_batch_expires` and
 * `_fb_batch_sig`, and `_fb_url`, the item's path; the real one's `_fb_profilable_request_id` is left
 * out ([I]: an internal profiling id with no behaviour to reproduce). A link whose
 * signature does not verify (the link was altered) or has expired is refused with Graph's code 104,
 * "Incorrect signature" ([I]: the code is the one Graph lists for incorrect signatures; which
 * signature Graph checks there is not documented).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const BATCH_CHILD_PARAM = '_fb_batch_child_request';
export const BATCH_EXPIRES_PARAM = '_fb_batch_expires';
export const BATCH_SIGNATURE_PARAM = '_fb_batch_sig';
export const BATCH_URL_PARAM = '_fb_url';
/** How long a signed link stays valid. */
const LINK_LIFETIME_SECONDS = 3600;
/**
 * Parameters a client may add or change without invalidating the link: the proof is never in it
 * (https://developers.facebook.com/docs/graph-api/results).
 */
const UNSIGNED_PARAMS: ReadonlySet<string> = new Set([BATCH_SIGNATURE_PARAM, 'appsecret_proof']);

export interface BatchLinkSigner {
  /** Appends the batch marks, the expiry and the signature of `path` (below the version) with `search` to `search`. */
  sign(path: string, search: URLSearchParams): void;
  /** Whether a call carrying a batch signature may run: `undefined` when it carries none. */
  verify(segments: readonly string[], params: Readonly<Record<string, string>>): boolean | undefined;
}

/** A signer with its own random key: links of one emulator verify on it only. */
export function createBatchLinkSigner(now: () => number = Date.now): BatchLinkSigner {
  const key = randomBytes(32);
  const signatureOf = (segments: readonly string[], params: Iterable<readonly [string, string]>): string => {
    const signed = [...params].filter(([name]) => !UNSIGNED_PARAMS.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return createHmac('sha256', key)
      .update(JSON.stringify([segments, signed]))
      .digest('base64url');
  };
  return {
    sign(path, search) {
      search.append(BATCH_CHILD_PARAM, '1');
      search.append(BATCH_URL_PARAM, path);
      search.append(BATCH_EXPIRES_PARAM, String(Math.floor(now() / 1000) + LINK_LIFETIME_SECONDS));
      const segments = path.split('/').map((segment) => decodeURIComponent(segment));
      search.append(BATCH_SIGNATURE_PARAM, signatureOf(segments, search));
    },
    verify(segments, params) {
      const given = params[BATCH_SIGNATURE_PARAM];
      if (given === undefined) return undefined;
      const expires = Number(params[BATCH_EXPIRES_PARAM]);
      if (!Number.isFinite(expires) || expires * 1000 < now()) return false;
      const expected = Buffer.from(signatureOf(segments, Object.entries(params)));
      const actual = Buffer.from(given);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}
