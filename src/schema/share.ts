import { builder } from '../builder.js';
import type { GraphShare } from '../graph-api/wire-types.js';
import { SharedProductRef } from './shared-product.js';
import { SharedTemplateRef } from './shared-template.js';

export const ShareRef = builder.objectRef<GraphShare>('Share');

/**
 * The Graph sub-fields a share is read with: Graph serves none of them unless asked
 * (https://developers.facebook.com/docs/graph-api/reference/message).
 */
export const SHARE_GRAPH_FIELDS = 'shares{description,id,link,name,picture,template}';

ShareRef.implement({
  description:
    'Something shared in a message: a link, products of the catalog, or a structured template. On Instagram only image and video URLs ' +
    'come back.',
  fields: (t) => ({
    graphApiId: t.id({ nullable: true, resolve: (share) => share.id ?? null }),
    link: t.string({ nullable: true, resolve: (share) => share.link ?? null }),
    name: t.string({ nullable: true, resolve: (share) => share.name ?? null }),
    description: t.string({ nullable: true, resolve: (share) => share.description ?? null }),
    pictureUrl: t.string({ nullable: true, resolve: (share) => share.picture ?? null }),
    products: t.field({
      type: [SharedProductRef],
      description: 'The products of a product template (a carousel when several); empty for other shares.',
      resolve: (share) => share.template?.payload?.product?.elements?.data ?? [],
    }),
    template: t.field({
      type: SharedTemplateRef,
      nullable: true,
      description: 'A structured template other than products (e.g. generic cards); null for links and products.',
      resolve: (share) => {
        const payload = share.template?.payload;
        return payload?.elements === undefined ? null : { templateType: payload.template_type, elements: payload.elements };
      },
    }),
  }),
});
