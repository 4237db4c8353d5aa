/**
 * Who is calling: the access token (query, form body or `Authorization` header) resolved to a
 * viewer, and the `appsecret_proof` check (Meta: Handling Errors, developers.facebook.com/docs/graph-api/guides/error-handling; Meta:
 * Securing Requests, developers.facebook.com/docs/graph-api/guides/secure-requests).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appSecretProofRequired, expiredToken, invalidAppSecretProof, invalidToken, missingToken } from './errors.js';
import type { Viewer } from './render.js';
import type { WorldStore } from './store.js';

/** How strictly proofs are checked; see `EmulatorOptions`. */
export interface ProofPolicy {
  readonly appSecret: string | undefined;
  readonly requireAppSecretProof: boolean;
}

/** The token of a call, from its parameters or else from `Authorization: Bearer|OAuth <token>`. */
export function tokenOf(params: Readonly<Record<string, string>>, authorization: string | undefined): string | undefined {
  const fromParams = params.access_token;
  if (fromParams !== undefined && fromParams !== '') return fromParams;
  const match = authorization === undefined ? null : /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

/** Lowercase hex HMAC-SHA256 of the token keyed by the app secret. */
export function appSecretProofOf(appSecret: string, token: string): string {
  return createHmac('sha256', appSecret).update(token).digest('hex');
}

/**
 * Resolves a token to its viewer, throwing Graph's answer for a missing (104), unknown (190) or
 * expired (190/463) token, then for a wrong or (when required) missing proof.
 */
export function authenticate(store: WorldStore, policy: ProofPolicy, token: string | undefined, proof: string | undefined): Viewer {
  if (token === undefined) throw missingToken();
  const record = store.token(token);
  if (record === undefined) throw invalidToken();
  if (record.kind === 'expired') throw expiredToken();

  if (policy.appSecret !== undefined) {
    if (proof === undefined || proof === '') {
      if (policy.requireAppSecretProof) throw appSecretProofRequired();
    } else {
      const expected = Buffer.from(appSecretProofOf(policy.appSecret, token), 'utf8');
      const given = Buffer.from(proof, 'utf8');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidAppSecretProof();
    }
  }

  if (record.kind === 'page') return record;
  const user = store.user(record.userId);
  if (user === undefined) throw invalidToken();
  return { kind: 'user', user };
}
