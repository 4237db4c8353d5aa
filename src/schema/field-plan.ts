/**
 * Field planning: turns a GraphQL selection into the Graph `fields=` selection, so a read asks only
 * for what the query selects, and a nested connection (`messages(first: 5)`) rides in the parent's
 * read as field expansion instead of costing one more call per parent.
 *
 * Which Graph fields a GraphQL field needs is declared beside the field itself, in its
 * `extensions.graph` (see {@link graphFields} and {@link graphEdge}).
 */
import {
  getArgumentValues,
  getNamedType,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { ReadSubject } from '../graph-api/read.js';
import type { GraphFieldSelection } from '../graph-api/fields.js';
import { DEFAULT_EDGES, MAX_EDGES, type GraphListRequest, type RelayArgs } from './graph-connection.js';

export interface GraphFieldExtension {
  /** Graph fields this GraphQL field reads. */
  readonly fields?: readonly string[];
  /** Graph edge this connection field pages through; expanded into the parent read when it can be. */
  readonly edge?: GraphEdgeSpec;
  /** Graph API major versions that have the fields; on others they are not asked for (the field resolves to null). */
  readonly versions?: GraphVersionRange;
}

/** Major versions from `since` through `until`, both inclusive; an open end when absent. */
export interface GraphVersionRange {
  readonly since?: number;
  readonly until?: number;
}

/**
 * How a connection field reads one Graph edge: everything but the GraphQL selection, which is planned.
 * The field's resolver and the prefetch beside a parent's read (schema/node.ts) both build reads from it,
 * so they are identical reads and the second finds the first in flight.
 */
export interface GraphEdgeSpec {
  /** The Graph edge (`conversations`, `messages`), as field expansion names it. */
  readonly edge: string;
  /** The GraphQL type of its nodes. */
  readonly nodeType: string;
  /** Graph parameters besides fields, limit and cursors (filters), from the field's validated arguments. */
  readonly filters?: (args: EdgeArgs) => Readonly<Record<string, string | undefined>>;
  /** Graph fields read whatever the selection (e.g. what a filter is judged on). */
  readonly extraFields?: (args: EdgeArgs) => readonly GraphFieldSelection[];
  /** Names the list cursors are bound to: the parent, the filters, the caller. */
  readonly scope: (parentId: string, args: EdgeArgs, callerKey: string) => string;
  /** What its reads are about, for the read cache. */
  readonly about: (parentId: string, args: EdgeArgs) => ReadSubject;
}

/** A connection field's arguments, as GraphQL gives them (enum values already internal): Relay's and its filters. */
export type EdgeArgs = RelayArgs;

/** The value of a connection field's filter argument (`undefined` when not given). */
export const argumentOf = (args: EdgeArgs, name: string): unknown => Object.getOwnPropertyDescriptor(args, name)?.value;

/** Extensions for a field that reads the given Graph fields. */
export const graphFields = (...fields: string[]): { graph: GraphFieldExtension } => ({ graph: { fields } });
/**
 * Extensions for a field that reads Graph fields only some versions have: asking another version for
 * them fails the whole read with (#100), so on those the planner leaves them out.
 */
export const versionedGraphFields = (versions: GraphVersionRange, ...fields: string[]): { graph: GraphFieldExtension } => ({
  graph: { fields, versions },
});
/** Extensions for a connection field over a Graph edge. */
export const graphEdge = (edge: GraphEdgeSpec): { graph: GraphFieldExtension } => ({ graph: { edge } });

/** The Graph selection for one object read, and the page request of each edge it expands. */
export interface FieldPlan {
  readonly fields: GraphFieldSelection[];
  /** Edge name → the page request its expansion made (absent: not expanded, the resolver reads it). */
  readonly expanded: ReadonlyMap<string, GraphListRequest>;
  /** Edges selected with a cursor: read apart, but they can be read at once beside the object itself. */
  readonly deferred: readonly DeferredEdge[];
}

/** A connection field whose read could not ride in its parent's read. */
export interface DeferredEdge {
  readonly edge: GraphEdgeSpec;
  readonly args: EdgeArgs;
  readonly fields: GraphFieldSelection[];
}

interface PlanContext {
  readonly schema: GraphQLSchema;
  readonly fragments: Record<string, FragmentDefinitionNode>;
  readonly variables: Record<string, unknown>;
  /** Major version of the Graph API read; `undefined`: every versioned field is asked for. */
  readonly graphMajor: number | undefined;
}

/**
 * Plans the read of one `type` object selected by `fieldNodes`' selection sets, from Graph API major
 * version `graphMajor` (fields it lacks are left out).
 */
export function planObjectRead(
  info: GraphQLResolveInfo,
  type: GraphQLObjectType,
  selectionSets: readonly SelectionSetNode[],
  graphMajor?: number,
): FieldPlan {
  const context = { schema: info.schema, fragments: info.fragments, variables: info.variableValues, graphMajor };
  return planType(context, type, selectionSets);
}

/** Plans the read of the nodes of the connection this resolver returns (`edges.node` and `nodes`). */
export function planConnectionNodes(info: GraphQLResolveInfo, nodeType: GraphQLObjectType, graphMajor?: number): FieldPlan {
  const context = { schema: info.schema, fragments: info.fragments, variables: info.variableValues, graphMajor };
  return planType(context, nodeType, nodeSelectionSets(context, info.fieldNodes));
}

/** Whether the Graph version read has the fields. */
function inVersion(context: PlanContext, versions: GraphVersionRange | undefined): boolean {
  const major = context.graphMajor;
  if (versions === undefined || major === undefined) return true;
  return (versions.since === undefined || major >= versions.since) && (versions.until === undefined || major <= versions.until);
}

function planType(context: PlanContext, type: GraphQLObjectType, selectionSets: readonly SelectionSetNode[]): FieldPlan {
  // `id` is always read: edges need it for their cursors, Graph sends it anyway.
  const fields: GraphFieldSelection[] = [{ name: 'id' }];
  const expanded = new Map<string, GraphListRequest>();
  const deferred: DeferredEdge[] = [];
  const typeFields = type.getFields();
  for (const node of collectFields(context, type, selectionSets)) {
    const definition = typeFields[node.name.value];
    const graph = definition?.extensions.graph as GraphFieldExtension | undefined;
    if (definition === undefined || graph === undefined) continue;
    if (inVersion(context, graph.versions)) for (const name of graph.fields ?? []) fields.push({ name });
    if (graph.edge === undefined || expanded.has(graph.edge.edge)) continue;

    // Expand only cursor-less requests: a cursor belongs to one parent, the expansion applies to all.
    const args: EdgeArgs = getArgumentValues(definition, node, context.variables);
    const nodeType = connectionNodeType(definition.type);
    if (nodeType === undefined) continue;
    const nested = planType(context, nodeType, nodeSelectionSets(context, [node]));
    if (args.after != null || args.before != null || args.last != null) {
      deferred.push({ edge: graph.edge, args, fields: nested.fields });
      continue;
    }
    // Expansion carries no filters; invalid counts are left to the field's resolver, which reports them.
    const filtered = Object.values(graph.edge.filters?.(args) ?? {}).some((value) => value !== undefined);
    const limit = args.first ?? DEFAULT_EDGES;
    if (filtered) continue;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EDGES) continue;
    const request: GraphListRequest = { limit };
    fields.push({ name: graph.edge.edge, modifiers: { limit }, fields: nested.fields });
    expanded.set(graph.edge.edge, request);
  }
  return { fields, expanded, deferred };
}

/** Selection sets of the nodes below connection fields: `edges { node { … } }` and `nodes { … }`. */
function nodeSelectionSets(context: PlanContext, connectionFields: readonly FieldNode[]): SelectionSetNode[] {
  const sets: SelectionSetNode[] = [];
  const connectionSets = connectionFields.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
  for (const field of collectFields(context, undefined, connectionSets)) {
    if (field.name.value === 'nodes' && field.selectionSet) sets.push(field.selectionSet);
    if (field.name.value !== 'edges' || !field.selectionSet) continue;
    for (const edgeField of collectFields(context, undefined, [field.selectionSet])) {
      if (edgeField.name.value === 'node' && edgeField.selectionSet) sets.push(edgeField.selectionSet);
    }
  }
  return sets;
}

/** The node type of a connection type, read from its `nodes` field. */
function connectionNodeType(type: GraphQLOutputType): GraphQLObjectType | undefined {
  const connection = getNamedType(type);
  const nodes = isObjectType(connection) ? connection.getFields().nodes : undefined;
  const node = nodes === undefined ? undefined : getNamedType(nodes.type);
  return isObjectType(node) ? node : undefined;
}

/**
 * Field nodes selected on `type` (or on any type when `undefined`): fragments and inline fragments
 * whose condition matches are walked, `@skip`/`@include` honoured.
 */
function collectFields(context: PlanContext, type: GraphQLObjectType | undefined, selectionSets: readonly SelectionSetNode[]): FieldNode[] {
  const out: FieldNode[] = [];
  const visitedFragments = new Set<string>();
  const visit = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (!included(context, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        out.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (appliesTo(context, type, selection.typeCondition?.name.value)) visit(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const fragment = context.fragments[name];
        if (fragment === undefined || visitedFragments.has(name)) continue;
        visitedFragments.add(name);
        if (appliesTo(context, type, fragment.typeCondition.name.value)) visit(fragment.selectionSet);
      }
    }
  };
  selectionSets.forEach(visit);
  return out;
}

function appliesTo(context: PlanContext, type: GraphQLObjectType | undefined, condition: string | undefined): boolean {
  if (type === undefined || condition === undefined || condition === type.name) return true;
  const conditionType = context.schema.getType(condition);
  return isAbstractType(conditionType) && context.schema.isSubType(conditionType, type);
}

function included(context: PlanContext, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, context.variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, context.variables)?.if !== false;
}
