import { createHash, createHmac } from 'node:crypto';

/**
 * A short, stable, non-reversible name for a token: what caches, coalescing keys and cursors
 * hold instead of the token itself.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/** `appsecret_proof` for a token: lowercase hex HMAC-SHA256 keyed by the app secret (graph-api.md §7.1). */
export function appSecretProof(appSecret: string, token: string): string {
  return createHmac('sha256', appSecret).update(token).digest('hex');
}
