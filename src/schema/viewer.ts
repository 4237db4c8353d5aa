import { builder } from '../builder.js';
import type { PageShape } from './page.js';
import { PageRef } from './page.js';

export interface ViewerShape {
  readonly kind: 'PAGE' | 'USER' | 'GATEWAY';
  readonly graphApiId: string | undefined;
  readonly name: string | undefined;
  readonly pages: readonly PageShape[];
}

const ViewerKind = builder.enumType('ViewerKind', {
  values: {
    PAGE: { description: 'The request carries a Page access token.' },
    USER: { description: 'The request carries a user access token; Pages are read with the Page tokens it grants.' },
    GATEWAY: { description: 'The request carries no token; the gateway serves the Pages configured for it.' },
  } as const,
});

export const ViewerRef = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'Who is asking, and the Pages they can query.',
  fields: (t) => ({
    kind: t.field({ type: ViewerKind, resolve: (viewer) => viewer.kind }),
    graphApiId: t.id({ nullable: true, resolve: (viewer) => viewer.graphApiId ?? null }),
    name: t.string({ nullable: true, resolve: (viewer) => viewer.name ?? null }),
    pages: t.field({ type: [PageRef], description: 'The Pages this caller can query.', resolve: (viewer) => viewer.pages }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'The caller and the Pages they can reach: start here in GraphiQL to find Page ids.',
    resolve: async (_root, _args, context): Promise<ViewerShape> => {
      const { token, credentials } = context.caller;
      const toPage = (page: { id: string; name: string | undefined; tasks: readonly string[] | undefined }): PageShape => ({
        kind: 'Page',
        pageId: page.id,
        name: page.name,
        tasks: page.tasks,
      });
      if (token === undefined) {
        return { kind: 'GATEWAY', graphApiId: undefined, name: undefined, pages: (await credentials.pages({ token })).map(toPage) };
      }
      const identity = await credentials.identify(token, context.usage);
      return {
        kind: identity.kind === 'page' ? 'PAGE' : 'USER',
        graphApiId: identity.id,
        name: identity.name,
        pages: identity.pages.map(toPage),
      };
    },
  }),
);
