import { builder } from '../builder.js';

export interface StoryShape {
  readonly kind: 'mention' | 'reply';
  readonly url: string | undefined;
  readonly graphApiId: string | undefined;
}

export const StoryKind = builder.enumType('StoryKind', {
  description: 'How a message refers to an Instagram story.',
  values: {
    MENTION: { value: 'mention', description: 'The sender mentioned the business in their story.' },
    REPLY: { value: 'reply', description: "The message replies to the business's story." },
  } as const,
});

export const StoryRef = builder.objectRef<StoryShape>('Story');

StoryRef.implement({
  description: 'An Instagram story a message mentions the business in, or replies to.',
  fields: (t) => ({
    kind: t.field({ type: StoryKind, resolve: (story) => story.kind }),
    url: t.string({ nullable: true, description: 'The story media; it expires with the story.', resolve: (story) => story.url ?? null }),
    graphApiId: t.id({ nullable: true, resolve: (story) => story.graphApiId ?? null }),
  }),
});
