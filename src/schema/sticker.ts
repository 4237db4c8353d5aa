import { builder } from '../builder.js';

export interface StickerShape {
  readonly url: string;
}

export const StickerRef = builder.objectRef<StickerShape>('Sticker');

StickerRef.implement({
  description: 'A sticker sent as a message (on Messenger, the "like" thumb is one).',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The sticker image.' }),
  }),
});
