/**
 * The `fields=` parameter of a Graph read, including field expansion
 * (`messages.limit(5){message,from}`; Meta: Field Expansion, developers.facebook.com/docs/graph-api/field-expansion).
 */

/** One requested field; an edge may carry paging modifiers and its own sub-fields. */
export interface GraphFieldSelection {
  readonly name: string;
  readonly modifiers?: GraphEdgeModifiers;
  readonly fields?: readonly GraphFieldSelection[];
}

export interface GraphEdgeModifiers {
  readonly limit?: number;
  readonly after?: string;
  readonly before?: string;
}

const MODIFIER_ORDER = ['limit', 'after', 'before'] as const;

/**
 * Serialises selections to Graph's field-expansion syntax. Output is sorted and deduplicated so
 * that equal selections give equal strings (they are part of cache and coalescing keys).
 */
export function serializeFields(fields: readonly GraphFieldSelection[]): string {
  const parts = new Set<string>();
  for (const field of fields) {
    let part = field.name;
    for (const name of MODIFIER_ORDER) {
      const value = field.modifiers?.[name];
      if (value !== undefined) part += `.${name}(${value})`;
    }
    if (field.fields !== undefined && field.fields.length > 0) part += `{${serializeFields(field.fields)}}`;
    parts.add(part);
  }
  return [...parts].sort().join(',');
}
