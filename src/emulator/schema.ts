/**
 * Which fields each Graph node type has, which of them are edges taking paging modifiers, and
 * what a selection may nest under them. A `fields` value is checked against this once per
 * request, before anything is rendered, so an unknown field fails even on an empty list.
 */
import { nonexistingField, invalidParameter } from './errors.js';
import { parseFields, type FieldSelection } from './fields.js';

/** Node types as Graph names them in `(#100) Tried accessing nonexisting field (x) on node type (T)`. */
export type NodeType = 'UnifiedThread' | 'Message' | 'Page' | 'User' | 'Participant' | 'MessageAttachment' | 'Share' | 'MessageTag';

interface FieldSpec {
  /** Type of the value (or of each list item) a sub-selection picks from; `json` = free-form object. */
  readonly of?: NodeType | 'json';
  /** Modifiers the field accepts; none when absent. */
  readonly modifiers?: readonly string[];
  /** First API major version that has the field. */
  readonly since?: number;
  /** Last API major version that has the field. */
  readonly until?: number;
}

/** Cursor paging modifiers every list edge accepts. */
export const PAGING_MODIFIERS: readonly string[] = ['limit', 'after', 'before'];
/** The conversations edge also takes its filters as modifiers (`conversations.folder(other)`). */
export const CONVERSATION_MODIFIERS: readonly string[] = [...PAGING_MODIFIERS, 'folder', 'platform', 'user_id', 'tags'];

const SCALAR: FieldSpec = {};
const JSON_OBJECT: FieldSpec = { of: 'json' };
const PARTICIPANT_LIST: FieldSpec = { of: 'Participant', modifiers: PAGING_MODIFIERS };

const SCHEMA: Readonly<Record<NodeType, Readonly<Record<string, FieldSpec>>>> = {
  UnifiedThread: {
    id: SCALAR,
    updated_time: SCALAR,
    link: SCALAR,
    snippet: SCALAR,
    message_count: SCALAR,
    unread_count: SCALAR,
    participants: PARTICIPANT_LIST,
    senders: PARTICIPANT_LIST,
    former_participants: PARTICIPANT_LIST,
    can_reply: SCALAR,
    is_subscribed: SCALAR,
    name: SCALAR,
    // Removed from Meta's business SDK in the v23 cycle (2025-07); [I] gone from v23.0 on.
    subject: { until: 22 },
    scoped_thread_key: SCALAR,
    wallpaper: SCALAR,
    // In Meta's business SDK (UnifiedThread): `folder` from v15, `linked_group` from v17.
    folder: { since: 15 },
    linked_group: { of: 'json', since: 17 },
    // In Meta's business SDK from 2025-09 (https://developers.facebook.com/docs/graph-api/reference/conversation);
    // [I] first served by v24.0, released after it.
    is_owner: { since: 24 },
    messages: { of: 'Message', modifiers: PAGING_MODIFIERS },
  },
  Message: {
    id: SCALAR,
    created_time: SCALAR,
    message: SCALAR,
    from: { of: 'Participant' },
    to: { of: 'Participant' },
    attachments: { of: 'MessageAttachment', modifiers: PAGING_MODIFIERS },
    shares: { of: 'Share', modifiers: PAGING_MODIFIERS },
    sticker: SCALAR,
    tags: { of: 'MessageTag' },
    reactions: JSON_OBJECT,
    story: JSON_OBJECT,
    is_unsupported: SCALAR,
    reply_to: JSON_OBJECT,
  },
  Page: {
    id: SCALAR,
    name: SCALAR,
    category: SCALAR,
    access_token: SCALAR,
    tasks: SCALAR,
    instagram_business_account: JSON_OBJECT,
    conversations: { of: 'UnifiedThread', modifiers: CONVERSATION_MODIFIERS },
    threads: { of: 'UnifiedThread', modifiers: CONVERSATION_MODIFIERS },
  },
  User: {
    id: SCALAR,
    name: SCALAR,
    accounts: { of: 'Page', modifiers: PAGING_MODIFIERS },
  },
  Participant: { id: SCALAR, name: SCALAR, email: SCALAR, username: SCALAR },
  MessageAttachment: {
    id: SCALAR,
    mime_type: SCALAR,
    name: SCALAR,
    size: SCALAR,
    file_url: SCALAR,
    image_data: JSON_OBJECT,
    video_data: JSON_OBJECT,
    generic_template: JSON_OBJECT,
  },
  Share: { id: SCALAR, link: SCALAR, name: SCALAR, description: SCALAR, picture: SCALAR, template: JSON_OBJECT },
  MessageTag: { name: SCALAR },
};

/** Default selections, parsed once: what Graph returns when `fields` is absent. */
export const DEFAULT_FIELDS: Readonly<Record<NodeType, readonly FieldSelection[]>> = {
  UnifiedThread: parseFields('id,updated_time'),
  Message: parseFields('id,created_time'),
  Page: parseFields('id,name'),
  User: parseFields('id,name'),
  Participant: parseFields('name,email,username,id'),
  MessageAttachment: parseFields('id,mime_type,name,size,file_url,image_data,video_data,generic_template'),
  // Share sub-fields must be asked for explicitly (Meta: Message, developers.facebook.com/docs/graph-api/reference/message).
  Share: parseFields('id'),
  MessageTag: parseFields('name'),
};

/** `/me/accounts` entries carry the Page token and the user's tasks by default. */
export const DEFAULT_ACCOUNT_FIELDS: readonly FieldSelection[] = parseFields('id,name,access_token,category,tasks');

/**
 * Checks a selection against node type `type` for API major version `major`; throws Graph's
 * code 100 errors for unknown fields, unsupported modifiers and bad modifier values.
 */
export function validateSelection(type: NodeType, selections: readonly FieldSelection[], major: number): void {
  const fields = SCHEMA[type];
  for (const selection of selections) {
    const spec = fields[selection.name];
    if (spec === undefined || (spec.since !== undefined && major < spec.since) || (spec.until !== undefined && major > spec.until)) {
      throw nonexistingField(selection.name, type);
    }
    for (const [modifier, value] of selection.modifiers) {
      if (spec.modifiers?.includes(modifier) !== true) throw invalidParameter(`Unknown modifier ${modifier} on field ${selection.name}`);
      if (modifier === 'limit') parseLimitValue(value, Number.MAX_SAFE_INTEGER);
    }
    if (selection.children === undefined) continue;
    if (spec.of === undefined) throw invalidParameter(`Field ${selection.name} on node type (${type}) has no subfields`);
    if (spec.of !== 'json') validateSelection(spec.of, selection.children, major);
  }
}

/** The edge's item type, for validating a top-level edge request's `fields`. */
export function edgeItemType(owner: NodeType, edge: string): NodeType | undefined {
  const spec = SCHEMA[owner][edge];
  return spec?.modifiers !== undefined && spec.of !== undefined && spec.of !== 'json' ? spec.of : undefined;
}

/**
 * A `limit` value: a whole number, capped silently at `maxLimit` (Meta: Paginated Results,
 * developers.facebook.com/docs/graph-api/results: "some edges cap limit"). `0` asks for no items, answered `{"data":[]}` with no
 * paging ([I]: the `limit=0` of the `summary=true&limit=0` idiom clients use for counts). Anything else (`abc`, `-1`, `2.5`) is an
 * invalid parameter, code 100, the code Meta lists for one (Meta: Handling Errors; [I]: the wording is the emulator's).
 */
export function parseLimitValue(raw: string, maxLimit: number): number {
  if (!/^\d+$/.test(raw)) throw invalidParameter(`Param limit must be a non-negative integer, got "${raw}"`);
  return Math.min(Number(raw), maxLimit);
}
