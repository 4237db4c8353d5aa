/** A drawn message and its attachments: the content of the demo world's messages. */
import { type AttachmentRecord, formatGraphTime, type MessageRecord, type Participant, type Platform, type ShareRecord } from '../model.js';
import type { Draws } from './draws.js';
import { CUSTOMER_LINES, LONG_TAIL, PAGE_LINES, REACTIONS } from './words.js';

/** Where the demo world's media live (never fetched). */
export const MEDIA_HOST = 'https://scontent.example.invalid';

/** What a message's thread and place fix before its content is drawn. */
export interface MessagePlan {
  readonly threadId: string;
  readonly platform: Platform;
  readonly createdTime: number;
  readonly from: Participant;
  readonly to: Participant;
  readonly fromCustomer: boolean;
  /** The newest message always has text, so every thread has a snippet. */
  readonly isNewest: boolean;
}

/**
 * Draws one message of a thread: its text from the word tables, sometimes an attachment, sticker or share,
 * and on Instagram a reply, reaction or story.
 */
export function createMessage(draws: Draws, plan: MessagePlan, earlier: readonly MessageRecord[]): MessageRecord {
  const { threadId, platform, createdTime, from, to, fromCustomer } = plan;
  const lines = fromCustomer ? CUSTOMER_LINES : PAGE_LINES;
  let text = draws.pick(lines);
  if (draws.chance(0.05)) text += LONG_TAIL;

  const message: { -readonly [K in keyof MessageRecord]: MessageRecord[K] } = {
    id: platform === 'instagram' ? draws.opaque('aWdGGi', 70) : draws.opaque('m_', 60),
    threadId,
    createdTime,
    createdTimeText: formatGraphTime(createdTime),
    from,
    to,
    text,
  };
  if (plan.isNewest) return message;

  const roll = draws.float();
  if (roll < 0.1) {
    message.attachments = [createAttachment(draws)];
    if (draws.chance(0.5)) message.text = '';
  } else if (roll < 0.105) {
    message.sticker = `${MEDIA_HOST}/v/t39.1997-6/${draws.digits(15)}_n.png`;
    message.text = '';
  } else if (roll < 0.108) {
    message.isUnsupported = true;
    message.text = '';
  } else if (roll < 0.118) {
    const share: ShareRecord = {
      id: draws.digits(16),
      link: `https://shop.example.invalid/p/${draws.digits(6)}`,
      name: 'Linen shirt',
      description: 'Relaxed fit, 100% linen',
      picture: `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`,
    };
    message.shares = [share];
  }
  if (platform === 'instagram') {
    const previous = earlier[earlier.length - 1];
    if (previous !== undefined && draws.chance(0.03)) message.replyTo = { mid: previous.id, is_self_reply: previous.from === from };
    if (draws.chance(0.03)) message.reactions = { data: [{ reaction: draws.pick(REACTIONS), users: [to] }] };
    if (fromCustomer && draws.chance(0.01)) {
      message.story = {
        [draws.chance(0.5) ? 'reply_to' : 'mention']: {
          link: `https://lookaside.example.invalid/story/${draws.digits(12)}`,
          id: draws.digits(17),
        },
      };
    }
  }
  return message;
}

/** Draws an attachment: an image (70%), a PDF (22%) or a video. */
export function createAttachment(draws: Draws): AttachmentRecord {
  const id = draws.digits(16);
  const kind = draws.float();
  if (kind < 0.7) {
    const width = draws.pick([640, 960, 1080, 1440]);
    const height = draws.pick([480, 720, 1080, 1920]);
    return {
      id,
      mime_type: 'image/jpeg',
      name: `image-${id}.jpg`,
      size: draws.int(40_000, 2_500_000),
      image_data: {
        width,
        height,
        max_width: width,
        max_height: height,
        url: `${MEDIA_HOST}/v/t1.15752-9/${id}_n.jpg`,
        preview_url: `${MEDIA_HOST}/v/t1.15752-9/s280x280/${id}_n.jpg`,
      },
    };
  }
  if (kind < 0.92) {
    return {
      id,
      mime_type: 'application/pdf',
      name: `invoice-${draws.int(1000, 9999)}.pdf`,
      size: draws.int(20_000, 900_000),
      file_url: `${MEDIA_HOST}/v/t59.2708-21/${id}_n.pdf`,
    };
  }
  return {
    id,
    mime_type: 'video/mp4',
    name: `video-${id}.mp4`,
    size: draws.int(500_000, 20_000_000),
    video_data: {
      width: 720,
      height: 1280,
      length: draws.int(3, 60),
      video_type: 0,
      rotation: 0,
      url: `${MEDIA_HOST}/v/t42.3356-2/${id}_n.mp4`,
      preview_url: `${MEDIA_HOST}/v/t15.3394-10/${id}_n.jpg`,
    },
  };
}
