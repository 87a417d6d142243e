/**
 * Checks that a node list can run in some order and finds that order.
 * ONNX requires nodes in topological order, but some exporters and
 * post-processing tools break the rule; a graph that is still a DAG is
 * reordered (stably: each node keeps its place unless it must move).
 *
 * @module
 */

import { GraphStructureError } from "./errors.ts";

/** What the sort needs of a node. */
export interface SortableNode {
  /** Node name, for messages. */
  readonly name: string;
  /** Value names read; `""` is skipped. */
  readonly inputs: readonly string[];
  /** Value names defined; `""` is skipped. */
  readonly outputs: readonly string[];
}

/** A min-heap of node indices, so ready nodes leave in file order. */
class IndexHeap {
  readonly #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(x: number): void {
    const a = this.#items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): number {
    const a = this.#items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The order to run `nodes` in, given the values defined before any node
 * (graph inputs and constants). Returns node indices; equal to `0..n-1`
 * when the nodes were already in order.
 *
 * @throws {GraphStructureError} when a value is defined twice, a node reads
 * a value nothing defines, or the nodes form a cycle.
 */
export function topologicalOrder(
  nodes: readonly SortableNode[],
  predefined: Iterable<string>,
  file?: string,
): number[] {
  const producer = new Map<string, number>();
  const given = new Set(predefined);
  nodes.forEach((node, i) => {
    for (const out of node.outputs) {
      if (out === "") continue;
      if (given.has(out) || producer.has(out)) {
        throw new GraphStructureError("defined-twice", out, node.name, file);
      }
      producer.set(out, i);
    }
  });
  const waiting = new Array<number>(nodes.length).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((node, i) => {
    for (const name of new Set(node.inputs)) {
      if (name === "" || given.has(name)) continue;
      const p = producer.get(name);
      if (p === undefined) {
        throw new GraphStructureError("undefined-input", name, node.name, file);
      }
      waiting[i]++;
      consumers[p].push(i);
    }
  });
  const ready = new IndexHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const order: number[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(i);
    for (const c of consumers[i]) if (--waiting[c] === 0) ready.push(c);
  }
  if (order.length < nodes.length) {
    // Every node left over waits on another left-over node; walking those
    // waits from any of them must come back around, and where it does is a
    // node on a cycle (the first left-over one may only sit downstream).
    const blockedBy = (i: number): [string, number] => {
      for (const name of nodes[i].inputs) {
        const p = producer.get(name);
        if (p !== undefined && waiting[p] > 0) return [name, p];
      }
      throw new Error("unreachable: a waiting node has no waiting producer");
    };
    let current = waiting.findIndex((w) => w > 0);
    const seen = new Set<number>();
    while (!seen.has(current)) {
      seen.add(current);
      current = blockedBy(current)[1];
    }
    throw new GraphStructureError(
      "cycle",
      blockedBy(current)[0],
      nodes[current].name,
      file,
      ` (${nodes.length - order.length} nodes can never run)`,
    );
  }
  return order;
}
