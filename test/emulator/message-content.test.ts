/**
 * Every part of a message an inbox renders, on the wire: stickers, shares (links, products, templates),
 * replies, story mentions and replies, reactions, unsupported messages, tags; and Instagram's window of
 * 20 messages with details, in lists and field expansion as in single reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, query, type GraphErrorEnvelope, type GraphListBody, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const TOKEN = DEMO.tokens.acmePage;
const MESSAGE_FIELDS =
  'message,from,sticker,shares{id,link,name,description,picture,template},attachments{mime_type},is_unsupported,reply_to,story,reactions';

let emulator: Emulator;
const read = <T = Json>(path: string, params: Record<string, string | number | undefined> = {}) =>
  getJson<T>(`${emulator.url}/v25.0/${path}?${query({ access_token: TOKEN, ...params })}`);

/** The three newest messages of the first five threads a reader of the inbox sees (privacy filtering on), newest first. */
async function firstPageMessages(platform: 'messenger' | 'instagram'): Promise<{ thread: string; messages: Json[] }[]> {
  const { body } = await read<GraphListBody<{ id: string; messages: GraphListBody }>>(`${ACME}/conversations`, {
    platform,
    limit: 10,
    fields: `messages.limit(3){${MESSAGE_FIELDS}}`,
  });
  return body.data.slice(0, 5).map((thread) => ({ thread: thread.id, messages: thread.messages.data }));
}

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe("the first page of Acme's Messenger inbox", () => {
  it('shows a sticker, a link, a product and a template share, a reply, an attachment and an unsupported message', async () => {
    const threads = await firstPageMessages('messenger');
    const messages = threads.flatMap((thread) => thread.messages);
    const shareOf = (message: Json) => (message.shares as GraphListBody | undefined)?.data[0];

    expect(messages.find((message) => 'sticker' in message)).toMatchObject({
      message: '',
      sticker: 'https://scontent.example.invalid/v/t39.1997-6/851557_369239266556155_759568595_n.png',
    });
    expect(messages.find((message) => shareOf(message)?.link === 'https://shop.example.invalid/p/204817')).toMatchObject({
      message: 'Is this the one?',
      shares: {
        data: [
          {
            id: expect.stringMatching(/^\d{16}$/),
            link: 'https://shop.example.invalid/p/204817',
            name: 'Linen shirt',
            description: 'Relaxed fit, 100% linen',
            picture: expect.stringMatching(/^https:\/\/scontent\.example\.invalid\/.+\.jpg$/),
          },
        ],
      },
    });
    const product = messages.find(
      (message) => (shareOf(message)?.template as Json | undefined)?.payload !== undefined && !('link' in shareOf(message)!),
    );
    expect(shareOf(product!)).toEqual({
      id: expect.stringMatching(/^\d{16}$/),
      name: 'Canvas tote bag',
      template: {
        payload: {
          product: {
            elements: {
              data: [
                {
                  id: expect.stringMatching(/^\d{16}$/),
                  retailer_id: 'TOTE-NAT-01',
                  image_url: expect.any(String),
                  name: 'Canvas tote bag',
                  price: '€24.00',
                },
                {
                  id: expect.stringMatching(/^\d{16}$/),
                  retailer_id: 'SHIRT-LIN-M',
                  image_url: expect.any(String),
                  name: 'Linen shirt',
                  price: '€59.00',
                },
              ],
            },
          },
        },
      },
    });
    const template = messages.find((message) => shareOf(message)?.name === 'Spring collection');
    expect(shareOf(template!)!.template).toEqual({
      payload: {
        template_type: 'generic',
        elements: [
          {
            title: 'Spring collection',
            subtitle: 'New linen pieces are in',
            image_url: expect.any(String),
            default_action: { type: 'web_url', url: 'https://shop.example.invalid/spring' },
            buttons: [
              { type: 'web_url', url: 'https://shop.example.invalid/spring', title: 'Shop now' },
              { type: 'postback', title: 'Talk to us' },
            ],
          },
        ],
      },
    });
    expect(messages.find((message) => message.is_unsupported === true)).toMatchObject({ message: '', is_unsupported: true });
    expect(messages.some((message) => (message.attachments as GraphListBody | undefined)?.data.length === 1)).toBe(true);

    // A reply names the message it answers: the one before it in the same thread.
    const replying = threads.find((thread) => thread.messages.some((message) => 'reply_to' in message))!;
    const at = replying.messages.findIndex((message) => 'reply_to' in message);
    const ids = emulator.store.messageIds(replying.thread)!;
    expect(replying.messages[at]).toMatchObject({
      message: 'Yes, that one please.',
      reply_to: { mid: ids[at + 1], is_self_reply: expect.any(Boolean) },
    });
  });

  it('serves share sub-fields only when asked for, and every message left out of none of its fields as null', async () => {
    const threads = await firstPageMessages('messenger');
    const shared = threads.flatMap((thread) => thread.messages).find((message) => 'shares' in message)!;
    const bare = await read(shared.id as string, { fields: 'shares' });
    expect(bare.body).toEqual({ shares: { data: [{ id: (shared.shares as GraphListBody).data[0]!.id }] }, id: shared.id });
    expect(threads.flatMap((thread) => thread.messages).every((message) => !Object.values(message).includes(null))).toBe(true);
  });
});

describe("the first page of Acme's Instagram inbox", () => {
  it('shows a story mention, a story reply, a reaction and a reply', async () => {
    const threads = await firstPageMessages('instagram');
    const messages = threads.flatMap((thread) => thread.messages);
    const story = {
      link: expect.stringMatching(/^https:\/\/lookaside\.example\.invalid\/story\/\d{12}$/),
      id: expect.stringMatching(/^\d{17}$/),
    };
    expect(messages.find((message) => (message.story as Json | undefined)?.mention !== undefined)).toMatchObject({
      message: '',
      story: { mention: story },
    });
    expect(messages.find((message) => (message.story as Json | undefined)?.reply_to !== undefined)).toMatchObject({
      message: 'Love this look!',
      story: { reply_to: story },
    });
    // The other side of the thread reacted.
    expect(messages.filter((message) => 'reactions' in message).map((message) => message.reactions)).toContainEqual({
      data: [{ reaction: '❤️', users: [{ username: expect.any(String), id: expect.stringMatching(/^\d+$/) }] }],
    });
    expect(messages.some((message) => 'reply_to' in message)).toBe(true);
  });
});

describe("Instagram's 20 most recent messages", () => {
  const longThread = () =>
    emulator.store
      .listConversations(ACME, { platform: 'instagram', folder: 'inbox' })
      .find((thread) => thread.visible && thread.messageCount >= 30)!;

  it('lists every message, with details for the 20 newest only, on the edge and in field expansion alike', async () => {
    const thread = longThread();
    const edge = await read<GraphListBody>(`${thread.id}/messages`, { fields: 'message,from,created_time', limit: 30 });
    const expanded = await read<{ messages: GraphListBody }>(thread.id, { fields: 'messages.limit(30){message,from,created_time}' });
    for (const list of [edge.body.data, expanded.body.messages.data]) {
      expect(list.map((message) => message.id)).toEqual(emulator.store.messageIds(thread.id)!.slice(0, 30));
      expect(list.slice(0, 20).every((message) => Object.keys(message).join() === 'message,from,created_time,id')).toBe(true);
      expect(list.slice(20).every((message) => Object.keys(message).join() === 'created_time,id')).toBe(true);
    }
  });

  it("refuses an older message's edges as it refuses its details", async () => {
    const old = emulator.store.messageIds(longThread().id)![20]!;
    const { status, body } = await read<GraphErrorEnvelope>(`${old}/attachments`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 100, error_subcode: 33, type: 'GraphMethodException' });
  });

  it('serves every Messenger message in full', async () => {
    const thread = emulator.store
      .listConversations(ACME, { platform: 'messenger', folder: 'inbox' })
      .find((entry) => entry.visible && entry.messageCount >= 30)!;
    const { body } = await read<GraphListBody>(`${thread.id}/messages`, { fields: 'message,created_time', limit: 30 });
    expect(body.data.every((message) => typeof message.message === 'string')).toBe(true);
  });
});
