/**
 * Bounds what one operation may read through introspection, which skips the query cost (it reads no
 * Graph items) yet can answer megabytes: the full schema (about 50 kB here) once per `__schema` alias, or
 * once per alias of `types` inside it — 200 aliases fit the token limit and make a 9 MB answer. The
 * standard introspection query (and GraphiQL's, codegen's, IDEs') selects `__schema` once and each
 * introspection field once per selection. Depth is useMaxDepth's; nested type lists (`fields { type {
 * fields { type { fields` …) graphql-js's own MaxIntrospectionDepthRule refuses.
 */
import { Kind, type ASTVisitor, type FieldNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { gatewayError } from '../gateway-errors.js';

export interface IntrospectionLimitsOptions {
  /**
   * `__schema` and `__type` fields one operation may hold (aliases counted apart).
   * @default 3
   */
  maxIntrospectionFields?: number;
  /**
   * Refuse every `__schema` and `__type` field with `INTROSPECTION_DISABLED` (`__typename` is not introspection of the schema:
   * clients need it to tell union members apart).
   * @default false
   */
  disabled?: boolean;
}

const isIntrospectionRoot = (field: FieldNode): boolean => field.name.value === '__schema' || field.name.value === '__type';
const responseKey = (field: FieldNode): string => field.alias?.value ?? field.name.value;

/**
 * A validation rule refusing, with `INTROSPECTION_TOO_LARGE`, an operation with more than
 * `maxIntrospectionFields` introspection root fields, or an introspection selection that holds one field
 * under several aliases.
 */
export function introspectionLimitsRule(maxIntrospectionFields: number): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    // Each fragment's fields, inline fragments and spreads flattened, gathered once however often it is spread.
    const fragmentFields = new Map<string, ReadonlySet<FieldNode>>();
    const fieldsOf = (selectionSet: SelectionSetNode, into = new Set<FieldNode>()): Set<FieldNode> => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) into.add(selection);
        else if (selection.kind === Kind.INLINE_FRAGMENT) fieldsOf(selection.selectionSet, into);
        else for (const field of fieldsOfFragment(selection.name.value)) into.add(field);
      }
      return into;
    };
    function fieldsOfFragment(name: string): ReadonlySet<FieldNode> {
      const known = fragmentFields.get(name);
      if (known !== undefined) return known;
      // A cycle (refused by NoFragmentCyclesRule) adds nothing here.
      fragmentFields.set(name, new Set());
      const fragment = context.getFragment(name);
      const fields = fragment ? fieldsOf(fragment.selectionSet) : new Set<FieldNode>();
      fragmentFields.set(name, fields);
      return fields;
    }

    const checked = new WeakSet<SelectionSetNode>();
    /** Reports the first introspection field selected under several aliases in `selectionSet` or below; true if one was. */
    const hasRepeatedField = (selectionSet: SelectionSetNode, path: string): boolean => {
      if (checked.has(selectionSet)) return false;
      checked.add(selectionSet);
      const keysByName = new Map<string, Set<string>>();
      const fields = fieldsOf(selectionSet);
      for (const field of fields) {
        const keys = keysByName.get(field.name.value) ?? new Set<string>();
        keysByName.set(field.name.value, keys.add(responseKey(field)));
        if (keys.size > 1) {
          context.reportError(
            gatewayError(
              'INTROSPECTION_TOO_LARGE',
              `This introspection query selects \`${path}.${field.name.value}\` under ${keys.size} names (${[...keys].join(', ')}); ` +
                `select each introspection field once.`,
              { field: `${path}.${field.name.value}` },
              { nodes: [field] },
            ),
          );
          return true;
        }
      }
      for (const field of fields) {
        if (field.selectionSet && hasRepeatedField(field.selectionSet, `${path}.${field.name.value}`)) return true;
      }
      return false;
    };

    return {
      OperationDefinition(operation) {
        const roots = [...fieldsOf(operation.selectionSet)].filter(isIntrospectionRoot);
        const keys = new Set(roots.map(responseKey));
        if (keys.size > maxIntrospectionFields) {
          context.reportError(
            gatewayError(
              'INTROSPECTION_TOO_LARGE',
              `This operation holds ${keys.size} introspection fields (__schema, __type); the limit is ${maxIntrospectionFields}.`,
              { introspectionFields: keys.size, maxIntrospectionFields },
              { nodes: roots },
            ),
          );
          return;
        }
        for (const root of roots) {
          if (root.selectionSet && hasRepeatedField(root.selectionSet, root.name.value)) return;
        }
      },
    };
  };
}

/** A validation rule refusing, with `INTROSPECTION_DISABLED`, every `__schema` and `__type` field, wherever it is selected. */
export function noIntrospectionRule(context: ValidationContext): ASTVisitor {
  return {
    Field(field) {
      if (!isIntrospectionRoot(field)) return;
      context.reportError(
        gatewayError(
          'INTROSPECTION_DISABLED',
          `Introspection is turned off on this gateway (\`${field.name.value}\`); its schema is published apart.`,
          {},
          { nodes: [field] },
        ),
      );
    },
  };
}

/** Adds {@link introspectionLimitsRule} (or, disabled, {@link noIntrospectionRule}) to validation (cached with it: free on repeats). */
export function useIntrospectionLimits(options: IntrospectionLimitsOptions = {}): Plugin {
  const rule = options.disabled === true ? noIntrospectionRule : introspectionLimitsRule(options.maxIntrospectionFields ?? 3);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
