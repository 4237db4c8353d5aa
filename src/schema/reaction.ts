import { builder } from '../builder.js';
import type { GraphParticipant } from '../graph-api/wire-types.js';
import { ParticipantRef } from './participant.js';

export interface ReactionShape {
  readonly emoji: string;
  readonly users: readonly GraphParticipant[];
}

export const ReactionRef = builder.objectRef<ReactionShape>('Reaction');

ReactionRef.implement({
  description: 'People who reacted to a message with one emoji (Instagram).',
  fields: (t) => ({
    emoji: t.exposeString('emoji', { description: 'The reaction as Graph gives it, e.g. "❤️".' }),
    users: t.field({ type: [ParticipantRef], resolve: (reaction) => reaction.users }),
  }),
});
