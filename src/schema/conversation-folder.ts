import { builder } from '../builder.js';

/** The folder values Graph uses (https://developers.facebook.com/docs/graph-api/reference/page/conversations). */
export const FOLDER_VALUES: ReadonlySet<string> = new Set(['inbox', 'other', 'page_done', 'spam']);

export const ConversationFolder = builder.enumType('ConversationFolder', {
  description: 'Inbox folder of a conversation.',
  values: {
    INBOX: { value: 'inbox' },
    OTHER: { value: 'other', description: 'Messenger only.' },
    PAGE_DONE: { value: 'page_done', description: 'Threads archived ("Done") since mid-2018. Messenger only.' },
    SPAM: { value: 'spam' },
  } as const,
});
