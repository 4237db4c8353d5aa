// Each import defines types and root fields for its side effects; the order does not matter.
import './date-time.js';
import './participant.js';
import './attachment.js';
import './sticker.js';
import './shared-product.js';
import './shared-template.js';
import './share.js';
import './reaction.js';
import './story.js';
import './message-reply.js';
import './message.js';
import './conversation-folder.js';
import './conversation.js';
import './page.js';
import './budget.js';
import './inbox-event.js';
import './reply.js';
import './node.js';
import './viewer.js';
import './inbox.js';
import { builder } from '../builder.js';

export const schema = builder.toSchema({ sortSchema: true });
