import { builder } from '../builder.js';
import type { GraphSharedProduct } from '../graph-api/wire-types.js';

export const SharedProductRef = builder.objectRef<GraphSharedProduct>('SharedProduct');

SharedProductRef.implement({
  description: "A product of the Page's catalog, shared in a message (a product template).",
  fields: (t) => ({
    graphApiId: t.id({ nullable: true, description: 'The catalog product id.', resolve: (p) => p.id ?? null }),
    retailerId: t.string({ nullable: true, description: "The retailer's own id (SKU).", resolve: (p) => p.retailer_id ?? null }),
    name: t.string({ nullable: true, resolve: (p) => p.name ?? null }),
    imageUrl: t.string({ nullable: true, resolve: (p) => p.image_url ?? null }),
    price: t.string({
      nullable: true,
      description: 'The price as the catalog formats it, currency included.',
      resolve: (p) => p.price ?? null,
    }),
  }),
});
