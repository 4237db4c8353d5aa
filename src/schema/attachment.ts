import { builder } from '../builder.js';
import type { GraphAttachment } from '../graph-api/wire-types.js';

export const AttachmentRef = builder.objectRef<GraphAttachment>('Attachment');

/** The Graph sub-fields an attachment is read with (nested objects come whole). */
export const ATTACHMENT_GRAPH_FIELDS = 'attachments{file_url,id,image_data,mime_type,name,size,video_data}';

AttachmentRef.implement({
  description: 'A file, image or video sent with a message.',
  fields: (t) => ({
    graphApiId: t.id({ nullable: true, resolve: (a) => a.id ?? null }),
    mimeType: t.string({ nullable: true, resolve: (a) => a.mime_type ?? null }),
    name: t.string({ nullable: true, resolve: (a) => a.name ?? null }),
    size: t.int({ nullable: true, description: 'Size in bytes.', resolve: (a) => a.size ?? null }),
    url: t.string({
      nullable: true,
      description: 'Where to download it: the image, video or file URL.',
      resolve: (a) => a.image_data?.url ?? a.video_data?.url ?? a.file_url ?? null,
    }),
    previewUrl: t.string({ nullable: true, resolve: (a) => a.image_data?.preview_url ?? a.video_data?.preview_url ?? null }),
    width: t.int({ nullable: true, resolve: (a) => a.image_data?.width ?? a.video_data?.width ?? null }),
    height: t.int({ nullable: true, resolve: (a) => a.image_data?.height ?? a.video_data?.height ?? null }),
  }),
});
