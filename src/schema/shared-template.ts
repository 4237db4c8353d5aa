import { builder } from '../builder.js';
import type { GraphTemplateElement } from '../graph-api/wire-types.js';

export interface SharedTemplateShape {
  readonly templateType: string | undefined;
  readonly elements: readonly GraphTemplateElement[];
}

type TemplateButton = NonNullable<GraphTemplateElement['buttons']>[number];

export const SharedTemplateRef = builder.objectRef<SharedTemplateShape>('SharedTemplate');
const TemplateElementRef = builder.objectRef<GraphTemplateElement>('TemplateElement');
const TemplateButtonRef = builder.objectRef<TemplateButton>('TemplateButton');

SharedTemplateRef.implement({
  description: 'A structured message (e.g. a generic template: cards with an image, text and buttons), as it was sent.',
  fields: (t) => ({
    templateType: t.string({ nullable: true, description: 'e.g. "generic".', resolve: (template) => template.templateType ?? null }),
    elements: t.field({
      type: [TemplateElementRef],
      description: 'The cards, in order (several make a carousel).',
      resolve: (template) => template.elements,
    }),
  }),
});

TemplateElementRef.implement({
  description: 'One card of a structured message.',
  fields: (t) => ({
    title: t.string({ nullable: true, resolve: (element) => element.title ?? null }),
    subtitle: t.string({ nullable: true, resolve: (element) => element.subtitle ?? null }),
    imageUrl: t.string({ nullable: true, resolve: (element) => element.image_url ?? null }),
    url: t.string({
      nullable: true,
      description: 'Where tapping the card leads (its default action).',
      resolve: (element) => element.default_action?.url ?? null,
    }),
    buttons: t.field({ type: [TemplateButtonRef], resolve: (element) => element.buttons ?? [] }),
  }),
});

TemplateButtonRef.implement({
  description: 'A button of a card.',
  fields: (t) => ({
    type: t.string({ nullable: true, description: 'e.g. "web_url", "postback".', resolve: (button) => button.type ?? null }),
    title: t.string({ nullable: true, resolve: (button) => button.title ?? null }),
    url: t.string({ nullable: true, description: 'For web_url buttons.', resolve: (button) => button.url ?? null }),
  }),
});
