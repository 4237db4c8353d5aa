/**
 * Removes secrets from text that may reach a client or a log: Graph error messages,
 * transport errors, anything that could quote an upstream URL.
 */

// Graph tokens start with EAA (Page/user/system-user tokens); app tokens are `appid|secret`.
const TOKEN_PATTERN = /\bEAA[A-Za-z0-9_-]{8,}/g;
const APP_TOKEN_PATTERN = /\b\d{6,}\|[A-Za-z0-9_-]{16,}/g;
const SECRET_PARAM_PATTERN = /\b(access_token|appsecret_proof|input_token|client_secret|_fb_batch_sig)=[^&\s"']*/gi;
const URL_PATTERN = /\bhttps?:\/\/[^\s"'<>]+/gi;

/** Returns `text` with tokens, proofs and URLs replaced by placeholders. */
export function scrubSecrets(text: string): string {
  return text
    .replace(URL_PATTERN, '[url]')
    .replace(SECRET_PARAM_PATTERN, '$1=[redacted]')
    .replace(TOKEN_PATTERN, '[token]')
    .replace(APP_TOKEN_PATTERN, '[token]');
}

/**
 * Whether `text` holds a user or Page token or a secret URL parameter: what must never leave the process
 * for a shared store. (App tokens are not looked for: `<digits>|<text>` is also how keys are joined.)
 */
export function holdsSecret(text: string): boolean {
  return new RegExp(TOKEN_PATTERN.source).test(text) || new RegExp(SECRET_PARAM_PATTERN.source, 'i').test(text);
}
