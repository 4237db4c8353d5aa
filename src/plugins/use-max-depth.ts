import { Kind, type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { gatewayError } from '../gateway-errors.js';

/**
 * Depth of graphql-js's `getIntrospectionQuery()` with every option on and its default `typeDepth` of 9
 * (what GraphiQL, codegen and IDEs send): `__schema { types { fields { args { type { ofType × 9 } } } } }`,
 * the operation counted as level 1. Deeper introspection only follows longer `ofType` chains than any
 * type in a schema needs (`[[Int!]!]!` takes 5).
 */
export const STANDARD_INTROSPECTION_DEPTH = 15;

export interface MaxDepthOptions {
  /** Deepest selection set allowed, fragments flattened, the operation counted as level 1 (MAX_QUERY_DEPTH). */
  maxDepth: number;
  /**
   * The same for the introspection root fields (`__schema`, `__type`) and what they select: they have
   * their own allowance, the depth the standard introspection query needs.
   * @default STANDARD_INTROSPECTION_DEPTH (15)
   */
  maxIntrospectionDepth?: number;
}

const isIntrospectionRoot = (field: FieldNode): boolean => field.name.value === '__schema' || field.name.value === '__type';

/**
 * A validation rule refusing operations nested deeper than `maxDepth` with `QUERY_TOO_DEEP`; below
 * `__schema` and `__type`, deeper than `maxIntrospectionDepth`.
 */
export function maxDepthRule(
  maxDepth: number,
  maxIntrospectionDepth = STANDARD_INTROSPECTION_DEPTH,
): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    // Depth below each fragment's fields, computed once: a fragment may be spread many times (and a
    // chain of fragments each spreading the next twice would otherwise take 2^n walks).
    const fragmentDepths = new Map<string, number>();
    /** Calls `visit` with each field of a selection set, inline fragments flattened; returns the deepest spread fragment's depth. */
    const eachField = (selectionSet: SelectionSetNode, visit: (field: FieldNode) => void): number => {
      let deepestFragment = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) visit(selection);
        else if (selection.kind === Kind.INLINE_FRAGMENT)
          deepestFragment = Math.max(deepestFragment, eachField(selection.selectionSet, visit));
        else deepestFragment = Math.max(deepestFragment, fragmentDepth(selection.name.value));
      }
      return deepestFragment;
    };
    /** Depth of a selection set: 1 for leaves only, plus the depth of its deepest field's selection set. */
    const depthOf = (selectionSet: SelectionSetNode): number => {
      let deepest = 0;
      const deepestFragment = eachField(selectionSet, (field) => {
        deepest = Math.max(deepest, field.selectionSet ? depthOf(field.selectionSet) : 0);
      });
      return 1 + Math.max(deepest, deepestFragment - 1);
    };
    function fragmentDepth(name: string): number {
      const known = fragmentDepths.get(name);
      if (known !== undefined) return known;
      // A cycle (refused by NoFragmentCyclesRule) counts as nothing here.
      fragmentDepths.set(name, 0);
      const fragment: FragmentDefinitionNode | null | undefined = context.getFragment(name);
      const depth = fragment ? depthOf(fragment.selectionSet) : 0;
      fragmentDepths.set(name, depth);
      return depth;
    }
    return {
      OperationDefinition(operation) {
        let depth = 1;
        let introspectionDepth = 0;
        const rootFragments = new Set<string>();
        const rootFields = (selectionSet: SelectionSetNode): void => {
          for (const selection of selectionSet.selections) {
            if (selection.kind === Kind.INLINE_FRAGMENT) rootFields(selection.selectionSet);
            else if (selection.kind === Kind.FRAGMENT_SPREAD) {
              const fragment = context.getFragment(selection.name.value);
              // Root fragments hold root fields: the introspection ones must be told apart.
              if (fragment && !rootFragments.has(fragment.name.value)) {
                rootFragments.add(fragment.name.value);
                rootFields(fragment.selectionSet);
              }
            } else {
              const fieldDepth = 1 + (selection.selectionSet ? depthOf(selection.selectionSet) : 0);
              if (isIntrospectionRoot(selection)) introspectionDepth = Math.max(introspectionDepth, fieldDepth);
              else depth = Math.max(depth, fieldDepth);
            }
          }
        };
        rootFields(operation.selectionSet);
        if (depth > maxDepth) {
          context.reportError(
            gatewayError(
              'QUERY_TOO_DEEP',
              `This query is nested ${depth} levels deep; the limit is ${maxDepth}.`,
              { depth, maxDepth },
              {
                nodes: [operation],
              },
            ),
          );
        }
        if (introspectionDepth > maxIntrospectionDepth) {
          context.reportError(
            gatewayError(
              'QUERY_TOO_DEEP',
              `This introspection query is nested ${introspectionDepth} levels deep; the limit for introspection is ` +
                `${maxIntrospectionDepth}, what graphql-js's getIntrospectionQuery() needs.`,
              { depth: introspectionDepth, maxDepth: maxIntrospectionDepth },
              { nodes: [operation] },
            ),
          );
        }
      },
    };
  };
}

/** Adds {@link maxDepthRule} to validation (cached with it, so it costs nothing on repeated documents). */
export function useMaxDepth(options: MaxDepthOptions): Plugin {
  const rule = maxDepthRule(options.maxDepth, options.maxIntrospectionDepth);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
