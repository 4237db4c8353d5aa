/**
 * The read vocabulary shared by the upstream's layers: what a read is (`GraphRead`, `ReadSubject`), what
 * reading costs (`UpstreamUsage`), and the transport port the scheduler sends reads through
 * (`GraphTransport`), which the HTTP adapter (client.ts) implements. Types only: importing them pulls in
 * no HTTP, scheduling or caching code.
 */
import type { GraphRequest } from './request.js';

/** One read to make with one token. */
export interface GraphRead {
  readonly request: GraphRequest;
  readonly token: string;
  /**
   * The budget key: the Page whose Conversations API budget this read spends (conversations, threads, messages).
   * A Page named by the client for a thread read: it decides which budget is spent, never what is served.
   */
  readonly budgetKey?: string | undefined;
  /** Who asked (a token fingerprint): reads of one caller may share a batch even with several tokens. */
  readonly caller?: string | undefined;
  /**
   * Limits of further pages to read in the same batch, each after the previous page's
   * `paging.cursors.after` through a batch dependency (Meta: Batch Requests, developers.facebook.com/docs/graph-api/batch-requests). The
   * read's answer is then the
   * array of pages, ending early at the first page that failed or could not be read.
   */
  readonly followUps?: readonly number[] | undefined;
  /** What the read is about, for the read cache: a Page's conversation list, or one thread (node or messages). */
  readonly about?: ReadSubject | undefined;
  /**
   * The read cache's generation for this read: identical reads asked for under different generations (before
   * and after a webhook event) are never shared.
   */
  readonly generation?: string | undefined;
}

/**
 * One write to make with one token (a POST: a message sent, a sender action). Unlike a read, it has an
 * effect: it is never coalesced or batched with another, and made again only when nothing can have
 * happened (see writer.ts).
 */
export interface GraphWrite {
  /** Path below the version, without a leading slash: `123/messages`. */
  readonly path: string;
  /** The form body's fields (JSON values already serialized); never the token, which the client adds. */
  readonly params: Readonly<Record<string, string>>;
  readonly token: string;
}

/** What a read the cache may keep is about: a Page's conversation list, one thread, or the Page node itself (`name`). */
export type ReadSubject =
  | { readonly kind: 'list'; readonly platform: 'messenger' | 'instagram' }
  | { readonly kind: 'thread'; readonly threadId: string }
  | { readonly kind: 'page' };

/** When an answer was read from Graph, and whether it is served stale (from the cache, while Graph could not be called). */
export interface Freshness {
  /** Epoch ms the data was read from Graph. */
  readonly fetchedAt: number;
  /** Set when served from the cache because Graph could not be called: when it can be again. */
  readonly stale: { readonly retryAfterSeconds: number } | undefined;
}

/** A value read from Graph, with its freshness: what resolvers and connections work with. */
export interface FetchedValue<T> extends Freshness {
  readonly value: T;
}

/** Upstream cost of one GraphQL operation, filled in as its reads are made. */
export interface UpstreamUsage {
  /** HTTP requests sent to the Graph API. */
  requests: number;
  /** Billed Graph calls: 1 per plain request, 1 per batch item. */
  calls: number;
  /** Reads answered by an identical read another operation had in flight or queued. */
  coalesced: number;
  /** Reads answered from the read cache, with no upstream call. */
  cached: number;
}

/** Reads a response header (lowercase name) of one answer. */
export type HeaderLookup = (name: string) => string | undefined;

/** What the scheduler needs of the Graph API client: a read's identity, and sending reads. */
export interface GraphTransport {
  /** The canonical identity of a read: equal keys are the same upstream call. */
  keyOf(read: GraphRead): string;
  /** Makes the reads (one request or a batch); never rejects: slot `i` holds the body or an Error. */
  readMany(
    reads: readonly GraphRead[],
    usage?: UpstreamUsage,
    onHeaders?: (read: GraphRead, header: HeaderLookup) => void,
  ): Promise<unknown[]>;
}
