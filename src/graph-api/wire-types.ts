/**
 * JSON shapes of the Graph API as it sends them (https://developers.facebook.com/docs/graph-api/reference/conversation,
 * /reference/message). Fields Graph has no data for are omitted, so every field but `id` is optional.
 */

export interface GraphPaging {
  cursors?: { before?: string; after?: string };
  /** Absolute URL embedding the access token: read for its presence only, never followed or returned. */
  next?: string;
  previous?: string;
}

/** A page of an edge: `{ data, paging }`. A page may be short or empty while `next` is present. */
export interface GraphList<T> {
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

/** A product of a shared product template. */
export interface GraphSharedProduct {
  id?: string;
  retailer_id?: string;
  image_url?: string;
  name?: string;
  price?: string;
}

/** A card of a shared structured template (the payload the Send API took). */
export interface GraphTemplateElement {
  title?: string;
  subtitle?: string;
  image_url?: string;
  default_action?: { type?: string; url?: string };
  buttons?: Array<{ type?: string; title?: string; url?: string }>;
}

/** A shared item: a link, a product template or another structured template. Sub-fields come only when asked for. */
export interface GraphShare {
  id?: string;
  link?: string;
  name?: string;
  description?: string;
  picture?: string;
  template?: {
    payload?: {
      template_type?: string;
      product?: { elements?: { data?: GraphSharedProduct[] } };
      elements?: GraphTemplateElement[];
    };
  };
}

/** An Instagram story a message mentions or replies to. */
export interface GraphStoryRef {
  link?: string;
  id?: string;
}

export interface GraphMessage {
  id: string;
  created_time?: string;
  /** Present (maybe empty) whenever Graph serves the message's details. */
  message?: string;
  from?: GraphParticipant;
  to?: { data: GraphParticipant[] };
  attachments?: GraphList<GraphAttachment>;
  /** The sticker image's URL. */
  sticker?: string;
  shares?: GraphList<GraphShare>;
  /** Instagram: who reacted with what. */
  reactions?: { data: Array<{ reaction?: string; users?: GraphParticipant[] }> };
  /** Only on replies. */
  reply_to?: { mid?: string; is_self_reply?: boolean };
  /** Instagram: a story mention, or a reply to a story. */
  story?: { mention?: GraphStoryRef; reply_to?: GraphStoryRef };
  /** Only present, as `true`, on messages Graph cannot represent. */
  is_unsupported?: boolean;
  /** Messenger: folder, read and source markers. */
  tags?: { data: Array<{ name?: string }> };
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
  /** `inbox`, `other`, `page_done`, `spam`; from v15.0 on. */
  folder?: string;
  /** Messenger: a second name of the thread, accepted wherever its id is. */
  scoped_thread_key?: string;
  /** From v24.0 on, with Conversation Routing: whether this app owns the thread. */
  is_owner?: boolean;
  participants?: { data: GraphParticipant[] };
  senders?: { data: GraphParticipant[] };
  former_participants?: { data: GraphParticipant[] };
  messages?: GraphList<GraphMessage>;
}

export interface GraphPageNode {
  id: string;
  name?: string;
  /** The Instagram professional account linked to the Page. */
  instagram_business_account?: { id: string };
}
