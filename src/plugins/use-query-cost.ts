/**
 * Refuses, before any upstream call, an operation that could read more Graph items than the budget
 * allows. Cost counts the items each connection may fetch, multiplied down the tree:
 * `conversations(first: 50) { messages(first: 20) }` costs 50 + 50 × 20 = 1,050. A field that reads on its own
 * (`Conversation.replyWindow`: a thread's 20 newest messages) adds its `extensions.graphItems` per parent.
 */
import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { gatewayError } from '../gateway-errors.js';
import { DEFAULT_EDGES } from '../schema/graph-connection.js';

export interface QueryCostOptions {
  /** Estimated Graph items an operation may read (MAX_QUERY_COST). */
  maxCost: number;
}

/**
 * The cost of one operation of `document` (the named one, or the only one), and whether it depends
 * on the variables (a `first` or `last` given as a variable).
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName?: string | null,
): { cost: number; usesVariables: boolean } {
  let usesVariables = false;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const operation = document.definitions.find(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION && (operationName == null || definition.name?.value === operationName),
  );
  if (operation === undefined || operation.kind !== Kind.OPERATION_DEFINITION) return { cost: 0, usesVariables };
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return { cost: 0, usesVariables };

  const argument = (field: GraphQLField<unknown, unknown>, node: FieldNode, name: string): unknown => {
    const definition = field.args.find((arg) => arg.name === name);
    const given = node.arguments?.find((arg) => arg.name.value === name);
    if ((given?.value as { kind?: Kind } | undefined)?.kind === Kind.VARIABLE) usesVariables = true;
    return definition && given ? valueFromAST(given.value, definition.type, variables) : undefined;
  };

  const fragmentCosts = new Map<string, number>();
  const costOf = (type: GraphQLNamedType, selectionSet: SelectionSetNode | undefined, seen: ReadonlySet<string>): number => {
    if (selectionSet === undefined) return 0;
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (condition) total += costOf(condition, selection.selectionSet, seen);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments[selection.name.value];
        if (fragment === undefined || seen.has(fragment.name.value)) continue;
        // Once per fragment: a chain of fragments each spreading the next twice would otherwise take 2^n walks.
        let cost = fragmentCosts.get(fragment.name.value);
        if (cost === undefined) {
          const condition = schema.getType(fragment.typeCondition.name.value);
          cost = condition ? costOf(condition, fragment.selectionSet, new Set([...seen, fragment.name.value])) : 0;
          fragmentCosts.set(fragment.name.value, cost);
        }
        total += cost;
        continue;
      }
      const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[selection.name.value] : undefined;
      if (field === undefined) continue;
      const fieldType = getNamedType(field.type);
      const childCost = costOf(fieldType, selection.selectionSet, seen);
      const isConnection = field.args.some((arg) => arg.name === 'first') && field.args.some((arg) => arg.name === 'last');
      if (isConnection) {
        const first = argument(field, selection, 'first');
        const last = argument(field, selection, 'last');
        const count = typeof first === 'number' ? first : typeof last === 'number' ? last : DEFAULT_EDGES;
        total += Math.max(0, count) * (1 + childCost);
      } else {
        // `Query.node` reads one object; a field that makes reads of its own says how many items (`extensions.graphItems`).
        const ownItems = typeof field.extensions?.graphItems === 'number' ? field.extensions.graphItems : 0;
        total += childCost + ownItems + (type === root && field.name === 'node' ? 1 : 0);
      }
    }
    return total;
  };
  const cost = costOf(root, operation.selectionSet, new Set());
  return { cost, usesVariables };
}

/** Refuses over-budget operations with `QUERY_TOO_COSTLY`, before they execute. */
export function useQueryCost(options: QueryCostOptions): Plugin {
  const { maxCost } = options;
  // Costs of documents whose counts are literals, by operation name: the same documents come back.
  const fixedCosts = new WeakMap<DocumentNode, Map<string | null | undefined, number>>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      let cost = fixedCosts.get(args.document)?.get(args.operationName);
      if (cost === undefined) {
        const estimate = estimateCost(
          args.schema,
          args.document,
          (args.variableValues ?? {}) as Record<string, unknown>,
          args.operationName,
        );
        cost = estimate.cost;
        if (!estimate.usesVariables) {
          const byName = fixedCosts.get(args.document) ?? new Map<string | null | undefined, number>();
          fixedCosts.set(args.document, byName.set(args.operationName, cost));
        }
      }
      if (cost <= maxCost) return;
      setResultAndStopExecution({
        errors: [
          gatewayError(
            'QUERY_TOO_COSTLY',
            `This query could read up to ${cost} Graph items; the limit is ${maxCost}. Ask for fewer items (smaller ` +
              `\`first\`/\`last\`, fewer nested messages) and page instead.`,
            { cost, maxCost },
          ),
        ],
      });
    },
  };
}
