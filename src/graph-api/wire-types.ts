/**
 * JSON shapes of the Graph API as it sends them (../shared/docs/graph-api.md §1.4, §1.5, §2.2).
 * Fields Graph has no data for are omitted, so every field but `id` is optional.
 */

export interface GraphPaging {
  cursors?: { before?: string; after?: string };
  /** Absolute URL embedding the access token: read for its presence only, never followed or returned. */
  next?: string;
  previous?: string;
}

/** A page of an edge: `{ data, paging }`. A page may be short or empty while `next` is present. */
export interface GraphPage<T> {
  data: T[];
  paging?: GraphPaging;
}

/** Messenger participants carry name/email, Instagram ones a username. */
export interface GraphParticipant {
  id: string;
  name?: string;
  email?: string;
  username?: string;
}

export interface GraphImageData {
  url?: string;
  preview_url?: string;
  width?: number;
  height?: number;
}

export interface GraphAttachment {
  id?: string;
  mime_type?: string;
  name?: string;
  size?: number;
  file_url?: string;
  image_data?: GraphImageData;
  video_data?: GraphImageData;
}

export interface GraphMessage {
  id: string;
  created_time?: string;
  message?: string;
  from?: GraphParticipant;
  to?: { data: GraphParticipant[] };
  attachments?: GraphPage<GraphAttachment>;
}

/** A conversation node (`UnifiedThread`). */
export interface GraphThread {
  id: string;
  updated_time?: string;
  snippet?: string;
  message_count?: number;
  unread_count?: number;
  can_reply?: boolean;
  is_subscribed?: boolean;
  link?: string;
  name?: string;
  participants?: { data: GraphParticipant[] };
  senders?: { data: GraphParticipant[] };
  messages?: GraphPage<GraphMessage>;
}

export interface GraphPageNode {
  id: string;
  name?: string;
  /** The Instagram professional account linked to the Page. */
  instagram_business_account?: { id: string };
}
