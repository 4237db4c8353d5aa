import { createHash, createHmac } from 'node:crypto';

/**
 * A short, stable, non-reversible name for a token: what caches, coalescing keys and cursors
 * hold instead of the token itself.
 */
export function tokenFingerprint(token: string): string {
  let fingerprint = fingerprints.get(token);
  if (fingerprint === undefined) {
    fingerprint = createHash('sha256').update(token).digest('base64url').slice(0, 22);
    // Tokens in use are few; forget them all rather than grow without bound.
    if (fingerprints.size >= MAX_REMEMBERED_TOKENS) fingerprints.clear();
    fingerprints.set(token, fingerprint);
  }
  return fingerprint;
}

const MAX_REMEMBERED_TOKENS = 1_000;
// Computed for every read's key: remembered, as hashing is a visible share of a request's CPU.
const fingerprints = new Map<string, string>();

/** `appsecret_proof` for a token: lowercase hex HMAC-SHA256 keyed by the app secret (graph-api.md §7.1). */
export function appSecretProof(appSecret: string, token: string): string {
  return createHmac('sha256', appSecret).update(token).digest('hex');
}
