import { builder } from '../builder.js';
import type { GraphParticipant } from '../graph-api/wire-types.js';

export const ParticipantRef = builder.objectRef<GraphParticipant>('Participant');

ParticipantRef.implement({
  description: 'A person or the Page/Instagram account in a conversation. Messenger gives `name` and `email`, Instagram a `username`.',
  fields: (t) => ({
    graphApiId: t.exposeID('id', {
      description: 'The Graph id: a Page-scoped id (PSID), an Instagram-scoped id (IGSID), or the Page/IG account id.',
    }),
    name: t.string({ nullable: true, resolve: (p) => p.name ?? null }),
    email: t.string({ nullable: true, resolve: (p) => p.email ?? null }),
    username: t.string({ nullable: true, resolve: (p) => p.username ?? null }),
  }),
});
