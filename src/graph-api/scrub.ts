/**
 * Removes secrets from text that may reach a client or a log: Graph error messages,
 * transport errors, anything that could quote an upstream URL. What is left still reads
 * as a sentence: a Graph URL becomes its host, a token `[token]`. Secrets known by value
 * (secrets.ts: the configured ones and recent callers' tokens, whatever their shape) go first,
 * then what Graph's shapes give away.
 */
import { redactRegisteredSecrets } from './secrets.js';

// Graph tokens start with EAA (Page/user/system-user tokens); app tokens are `appid|secret`.
const TOKEN_PATTERN = /\bEAA[A-Za-z0-9_-]{8,}/g;
/**
 * A token as a value a store would hold: EAA and its alphanumerics (Graph's tokens are over a hundred), standing alone.
 * Stricter than TOKEN_PATTERN, which may redact too much in a log line; here a false match leaves a Page's inbox uncached
 * for good, and message ids are long base64url strings in which `-EAA…` turns up (a few Pages in 5,000, `npm run scale`).
 */
const STORED_TOKEN_PATTERN = /(?<![A-Za-z0-9_-])EAA[A-Za-z0-9]{40,}(?![A-Za-z0-9_-])/;
const APP_TOKEN_PATTERN = /\b\d{6,}\|[A-Za-z0-9_-]{16,}/g;
// Values stop at a backslash too, so a JSON log line keeps its escapes.
const SECRET_PARAM_PATTERN = /\b(access_token|appsecret_proof|input_token|client_secret|_fb_batch_sig)=[^&\s"'\\]*/gi;
// A URL does not end with the punctuation of the sentence around it.
const URL_PATTERN = /\bhttps?:\/\/[^\s"'<>\\]*[^\s"'<>\\.,;:!?)\]}]/gi;
/**
 * The pointer to Meta's documentation that ends many Graph error messages ("… Please read the Graph
 * API documentation at https://developers.facebook.com/docs/graph-api"): the error's code and fbtrace
 * id say more to whoever reads it.
 */
const DOCUMENTATION_TAIL = /\s*Please read the Graph API documentation at \S+/g;

const GRAPH_HOST = /(^|\.)graph\.(facebook|instagram)\.com$/;
const VERSIONED_PATH = /^\/v\d+\.\d+(\/|$)/;

/**
 * A Graph API call's URL as its host (`graph.facebook.com/…`): where the call went, without the path,
 * query or credentials it carried. Other URLs without a query or credentials (an origin, the gateway's
 * own `/graphql`, a documentation page) stay as they are.
 */
function reduceUrl(url: string): string {
  try {
    const { host, hostname, pathname, search, hash, username, password } = new URL(url);
    const bare = search === '' && hash === '' && username === '' && password === '';
    const graphCall = VERSIONED_PATH.test(pathname) || (GRAPH_HOST.test(hostname) && pathname !== '/');
    return bare && !graphCall ? url : `${host}/…`;
  } catch {
    return 'a URL';
  }
}

/**
 * Returns `text` with every registered secret redacted (secrets.ts), Meta's documentation tail cut, Graph URLs and URLs with a query
 * reduced to their host, and tokens and proofs redacted.
 */
export function scrubSecrets(text: string): string {
  return redactRegisteredSecrets(text)
    .replace(DOCUMENTATION_TAIL, '')
    .replace(URL_PATTERN, reduceUrl)
    .replace(SECRET_PARAM_PATTERN, '$1=[redacted]')
    .replace(TOKEN_PATTERN, '[token]')
    .replace(APP_TOKEN_PATTERN, '[token]');
}

/**
 * Whether `text` holds a secret the process knows by value (secrets.ts), a user or Page token, or a secret URL
 * parameter: what must never leave the process for a shared store. (App tokens are not looked for: `<digits>|<text>`
 * is also how keys are joined.)
 */
export function holdsSecret(text: string): boolean {
  return (
    STORED_TOKEN_PATTERN.test(text) || new RegExp(SECRET_PARAM_PATTERN.source, 'i').test(text) || redactRegisteredSecrets(text) !== text
  );
}
