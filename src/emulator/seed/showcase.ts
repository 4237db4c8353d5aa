/** The showcase: every kind of message content an inbox UI must render, put where the first page of Acme's inboxes shows it. */
import type { MessageRecord, ThreadRecord } from '../model.js';
import { createAttachment, MEDIA_HOST } from './content.js';
import { DEMO } from './demo.js';
import type { Draws } from './draws.js';

/** Newest threads of each Acme inbox whose second and third newest messages show every kind of content. */
const SHOWCASE_THREADS = 5;

type MutableMessage = { -readonly [K in keyof MessageRecord]: MessageRecord[K] };

/** One kind of content, and who may have sent it. */
interface ShowcaseKind {
  readonly sender: 'customer' | 'business' | 'anyone';
  /** The message's content; `older` is the message before it, `draws` the showcase's PRNG. */
  readonly content: (message: MessageRecord, older: MessageRecord | undefined, draws: Draws) => Partial<MutableMessage> | undefined;
}

const replyKind: ShowcaseKind = {
  sender: 'anyone',
  content: (message, older) =>
    older === undefined
      ? undefined
      : { text: 'Yes, that one please.', replyTo: { mid: older.id, is_self_reply: older.from === message.from } },
};

/** What an inbox UI must render on Messenger (https://developers.facebook.com/docs/graph-api/reference/message). */
const MESSENGER_SHOWCASE: readonly ShowcaseKind[] = [
  { sender: 'anyone', content: () => ({ text: '', sticker: `${MEDIA_HOST}/v/t39.1997-6/851557_369239266556155_759568595_n.png` }) },
  {
    sender: 'anyone',
    content: (_message, _older, draws) => ({
      text: 'Is this the one?',
      shares: [
        {
          id: draws.digits(16),
          link: 'https://shop.example.invalid/p/204817',
          name: 'Linen shirt',
          description: 'Relaxed fit, 100% linen',
          picture: `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`,
        },
      ],
    }),
  },
  {
    sender: 'business',
    content: (_message, _older, draws) => {
      const product = (name: string, retailerId: string, price: string) => ({
        id: draws.digits(16),
        retailer_id: retailerId,
        image_url: `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`,
        name,
        price,
      });
      const elements = [product('Canvas tote bag', 'TOTE-NAT-01', '€24.00'), product('Linen shirt', 'SHIRT-LIN-M', '€59.00')];
      return {
        text: '',
        // The product template as the Message reference describes its share.
        shares: [{ id: draws.digits(16), name: elements[0]!.name, template: { payload: { product: { elements: { data: elements } } } } }],
      };
    },
  },
  {
    sender: 'business',
    content: (_message, _older, draws) => {
      const url = 'https://shop.example.invalid/spring';
      const image = `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`;
      return {
        text: '',
        // [I] A generic template read back as the payload the Send API took, with the card's title as the share's name.
        shares: [
          {
            id: draws.digits(16),
            link: url,
            name: 'Spring collection',
            description: 'New linen pieces are in',
            picture: image,
            template: {
              payload: {
                template_type: 'generic',
                elements: [
                  {
                    title: 'Spring collection',
                    subtitle: 'New linen pieces are in',
                    image_url: image,
                    default_action: { type: 'web_url', url },
                    buttons: [
                      { type: 'web_url', url, title: 'Shop now' },
                      { type: 'postback', title: 'Talk to us' },
                    ],
                  },
                ],
              },
            },
          },
        ],
      };
    },
  },
  { sender: 'customer', content: () => ({ text: '', isUnsupported: true }) },
  replyKind,
  { sender: 'anyone', content: (_message, _older, draws) => ({ text: '', attachments: [createAttachment(draws)] }) },
];

/** What an inbox UI must render on Instagram (https://developers.facebook.com/docs/graph-api/reference/message). */
const INSTAGRAM_SHOWCASE: readonly ShowcaseKind[] = [
  {
    sender: 'customer',
    content: (_message, _older, draws) => ({
      text: '',
      story: { mention: { link: `https://lookaside.example.invalid/story/${draws.digits(12)}`, id: draws.digits(17) } },
    }),
  },
  {
    sender: 'customer',
    content: (_message, _older, draws) => ({
      text: 'Love this look!',
      story: { reply_to: { link: `https://lookaside.example.invalid/story/${draws.digits(12)}`, id: draws.digits(17) } },
    }),
  },
  { sender: 'anyone', content: (message) => ({ reactions: { data: [{ reaction: '❤️', users: [message.to] }] } }) },
  replyKind,
];

/**
 * Puts every kind of content in the second and third newest messages of the first threads a reader
 * of Acme's inboxes sees (privacy filtering on), so the first page shows them all. The newest
 * message keeps its text: it is the thread's snippet.
 */
export function showcaseContent(threads: readonly ThreadRecord[], draws: Draws): void {
  for (const [platform, kinds] of [
    ['messenger', MESSENGER_SHOWCASE],
    ['instagram', INSTAGRAM_SHOWCASE],
  ] as const) {
    const pending = [...kinds];
    const first = threads
      .filter(
        (thread) => thread.pageId === DEMO.pages.acme.id && thread.platform === platform && thread.folder === 'inbox' && !thread.hidden,
      )
      .sort((a, b) => b.updatedTime - a.updatedTime)
      .slice(0, SHOWCASE_THREADS);
    for (const thread of first) {
      for (const index of [1, 2]) {
        const message = thread.messages[index];
        if (message === undefined) continue;
        const sender = message.from === thread.customer ? 'customer' : 'business';
        for (const [at, kind] of pending.entries()) {
          if (kind.sender !== 'anyone' && kind.sender !== sender) continue;
          const content = kind.content(message, thread.messages[index + 1], draws);
          if (content === undefined) continue;
          const { id, threadId, createdTime, createdTimeText, from, to, text } = message;
          thread.messages[index] = { id, threadId, createdTime, createdTimeText, from, to, text, ...content };
          pending.splice(at, 1);
          break;
        }
      }
    }
    if (pending.length > 0) throw new Error(`seed: ${pending.length} ${platform} content kinds found no message to show them`);
  }
}
