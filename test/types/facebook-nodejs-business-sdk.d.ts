/**
 * The little of Meta's Node SDK (facebook-nodejs-business-sdk, plain JavaScript without types) that
 * test/emulator/meta-sdk.test.ts uses, typed from the SDK's src/api.js, src/cursor.js and src/abstract-crud-object.js.
 */
declare module 'facebook-nodejs-business-sdk' {
  /** What `FacebookAdsApi.call` resolves to: Graph's JSON body. */
  export type GraphBody = Record<string, unknown>;

  export class FacebookAdsApi {
    constructor(accessToken: string, locale?: string, crashLog?: boolean);
    accessToken: string;
    static get VERSION(): string;
    static get GRAPH(): string;
    /** Builds an api (`new this(...)`) and makes it the default one objects use. */
    static init<T extends typeof FacebookAdsApi>(this: T, accessToken: string, locale?: string, crashLog?: boolean): InstanceType<T>;
    static getDefaultApi(): FacebookAdsApi;
    /**
     * `path` as an array: `${urlOverride || GRAPH}/${VERSION}/${path.join('/')}?${params + access_token}`;
     * as a string (a `paging.next` URL): requested verbatim, `params` ignored.
     */
    call(
      method: string,
      path: string | string[],
      params?: Record<string, unknown>,
      files?: Record<string, unknown>,
      useMultipartFormData?: boolean,
      urlOverride?: string,
    ): Promise<GraphBody>;
  }

  export class AbstractObject {
    _data: Record<string, unknown>;
  }

  export class AbstractCrudObject extends AbstractObject {
    constructor(id?: string | null, data?: Record<string, unknown>, parentId?: string, api?: FacebookAdsApi);
    id: string;
  }

  /** An edge's current page (an Array of its objects) and the means to load the next. */
  export interface Cursor<T> extends Array<T> {
    paging: { next?: string; previous?: string; cursors?: { before?: string; after?: string } } | undefined;
    hasNext(): boolean;
    next(): Promise<Cursor<T>>;
  }

  export class UnifiedThread extends AbstractCrudObject {
    getMessages(fields: string[], params?: Record<string, unknown>, fetchFirstPage?: true): Promise<Cursor<AbstractObject>>;
  }

  export class Page extends AbstractCrudObject {
    getConversations(fields: string[], params?: Record<string, unknown>, fetchFirstPage?: true): Promise<Cursor<UnifiedThread>>;
  }
}
