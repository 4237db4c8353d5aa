import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface MaxDepthOptions {
  /** Deepest selection set allowed, fragments flattened; introspection counts too (MAX_QUERY_DEPTH). */
  maxDepth: number;
}

/** A validation rule refusing operations nested deeper than `maxDepth`, with `QUERY_TOO_DEEP`. */
export function maxDepthRule(maxDepth: number): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const depthOf = (selectionSet: SelectionSetNode | undefined, seen: ReadonlySet<string>): number => {
      if (selectionSet === undefined) return 0;
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, seen) : 0);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, seen));
        } else if (!seen.has(selection.name.value)) {
          const fragment: FragmentDefinitionNode | null | undefined = context.getFragment(selection.name.value);
          if (fragment) deepest = Math.max(deepest, depthOf(fragment.selectionSet, new Set([...seen, selection.name.value])));
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const depth = 1 + depthOf(operation.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`This query is nested ${depth} levels deep; the limit is ${maxDepth}.`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth },
            }),
          );
        }
      },
    };
  };
}

/** Adds {@link maxDepthRule} to validation (cached with it, so it costs nothing on repeated documents). */
export function useMaxDepth(options: MaxDepthOptions): Plugin {
  const rule = maxDepthRule(options.maxDepth);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
