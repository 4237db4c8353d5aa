/**
 * The filter parameters of `GET /{page-id}/conversations` (Meta: Page Conversations,
 * developers.facebook.com/docs/graph-api/reference/page/conversations): `folder`,
 * `platform`, `user_id` and the legacy `tags`, read either from the query string or from
 * modifiers of a nested `conversations.folder(…)` selection.
 */
import { invalidParameter } from './errors.js';
import { FOLDERS, PLATFORMS, type Folder, type Platform } from './model.js';
import type { ConversationFilter } from './store.js';

/**
 * `platform` exists from v11.0 on; earlier versions reject it (Meta: Page Conversations,
 * developers.facebook.com/docs/graph-api/reference/page/conversations).
 */
export const PLATFORM_SINCE_MAJOR = 11;

/** Filter params in the order they are re-encoded into paging links. */
export const CONVERSATION_FILTER_PARAMS: readonly string[] = ['folder', 'platform', 'user_id', 'tags'];

/**
 * Validates the filters. `read(name)` returns a raw parameter value. `folder` defaults to `inbox`
 * unless `user_id` or `tags` narrows the list by itself; `platform` defaults to Messenger.
 */
export function parseConversationFilter(read: (name: string) => string | undefined, major: number): ConversationFilter {
  const rawFolder = read('folder');
  if (rawFolder !== undefined && !(FOLDERS as readonly string[]).includes(rawFolder)) {
    throw invalidParameter(`param folder must be one of {${FOLDERS.join(', ')}} - got "${rawFolder}"`);
  }
  const rawPlatform = read('platform');
  let platform: Platform = 'messenger';
  if (rawPlatform !== undefined) {
    if (major < PLATFORM_SINCE_MAJOR) throw invalidParameter(`param platform is not supported before v${PLATFORM_SINCE_MAJOR}.0`);
    const lower = rawPlatform.toLowerCase();
    if (!(PLATFORMS as readonly string[]).includes(lower))
      throw invalidParameter(`param platform must be one of {INSTAGRAM, MESSENGER} - got "${rawPlatform}"`);
    platform = lower as Platform;
  }
  const userId = read('user_id');
  if (userId !== undefined && userId.trim() === '') throw invalidParameter('param user_id must be a non-empty string');
  const rawTags = read('tags');
  const tags = rawTags === undefined ? undefined : parseTags(rawTags);
  const folder = rawFolder as Folder | undefined;
  return {
    platform,
    folder: folder ?? (userId === undefined && tags === undefined ? 'inbox' : undefined),
    userId: userId?.trim(),
    tags,
  };
}

/** A Graph list param: a JSON array or a comma-separated list. Sorted, since matching is any-of. */
function parseTags(raw: string): readonly string[] {
  let values: unknown;
  if (raw.trimStart().startsWith('[')) {
    try {
      values = JSON.parse(raw);
    } catch {
      throw invalidParameter('param tags must be an array of strings');
    }
    if (!Array.isArray(values) || !values.every((value) => typeof value === 'string'))
      throw invalidParameter('param tags must be an array of strings');
  } else {
    values = raw.split(',');
  }
  const tags = [...new Set((values as string[]).map((tag) => tag.trim()).filter((tag) => tag !== ''))].sort();
  if (tags.length === 0) throw invalidParameter('param tags must not be empty');
  return tags;
}
