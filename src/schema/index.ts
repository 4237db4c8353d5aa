// Each import defines types and root fields for its side effects; the order does not matter.
import './date-time.js';
import './participant.js';
import './attachment.js';
import './message.js';
import './conversation.js';
import './page.js';
import './budget.js';
import './inbox-event.js';
import './node.js';
import './viewer.js';
import { builder } from '../builder.js';

export const schema = builder.toSchema({ sortSchema: true });
