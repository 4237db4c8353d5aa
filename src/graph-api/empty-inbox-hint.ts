/**
 * The hint an operator needs when a Page's inbox reads empty: with Standard Access (an app in development, or
 * without App Review for `pages_messaging` / `instagram_manage_messages`), Graph lists only conversations with
 * people who have a role on the app, so a busy inbox lists none or a few (Meta: Access Levels,
 * developers.facebook.com/docs/graph-api/overview/access-levels). Graph says nothing of it in its answer, so the
 * gateway says it once per Page and platform, the first time a first page of the inbox comes back empty.
 */
import type { GraphRead } from './read.js';

/** Where the hint goes: pino's logger fits. */
export interface EmptyInboxLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** The README's entry the hint points to. */
export const EMPTY_INBOX_README_ENTRY = 'README, Troubleshooting: "My inbox is empty in development"';

const CONVERSATIONS_PATH = /^\/?(?:v\d+\.\d+\/)?(\d+)\/conversations$/;

/**
 * Returns what to tell of each Graph answer: a first page of `/{page}/conversations` (no cursor, no `user_id`)
 * with no conversation logs the hint, once per Page and platform for the life of the process.
 */
export function createEmptyInboxHint(log: EmptyInboxLog): (read: GraphRead, answer: unknown) => void {
  const told = new Set<string>();
  return (read, answer) => {
    const page = CONVERSATIONS_PATH.exec(read.request.path)?.[1];
    if (page === undefined) return;
    const { params } = read.request;
    if (params.after !== undefined || params.before !== undefined || params.user_id !== undefined || params.folder !== undefined) return;
    const first = Array.isArray(answer) ? answer[0] : answer;
    if (typeof first !== 'object' || first === null || !Array.isArray((first as { data?: unknown }).data)) return;
    if ((first as { data: unknown[] }).data.length > 0) return;
    const platform = String(params.platform ?? 'messenger');
    const key = `${page}:${platform}`;
    if (told.has(key)) return;
    told.add(key);
    log.warn(
      { pageId: page, platform },
      `Page ${page}: its ${platform} inbox read lists no conversation. If the app is in development or has Standard Access, Graph ` +
        `lists only conversations with people who have a role on the app (admins, developers, testers): ask for Advanced Access ` +
        `(App Review) or add the people as testers. See ${EMPTY_INBOX_README_ENTRY}.`,
    );
  };
}
