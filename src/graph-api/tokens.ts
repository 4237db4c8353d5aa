import { createHash, createHmac } from 'node:crypto';
import { remembered } from '../remembered.js';

/**
 * A short, stable, non-reversible name for a token: what caches, coalescing keys and cursors
 * hold instead of the token itself. Computed for every read's key, so remembered: hashing is a
 * visible share of a request's CPU.
 */
export const tokenFingerprint: (token: string) => string = remembered(1_000, (token) =>
  createHash('sha256').update(token).digest('base64url').slice(0, 22),
);

/**
 * `appsecret_proof` for a token: lowercase hex HMAC-SHA256 keyed by the app secret (Meta: Securing Requests,
 * developers.facebook.com/docs/graph-api/guides/secure-requests).
 */
export function appSecretProof(appSecret: string, token: string): string {
  return createHmac('sha256', appSecret).update(token).digest('hex');
}
