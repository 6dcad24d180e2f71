//! The dependency graph (SPEC §4): managed tables and the tables they read, cycles, roots and
//! trees. Edges point from a consumer to the dependency it reads.

use crate::ident::TableName;
use crate::interval::Interval;
use petgraph::algo::TarjanScc;
use petgraph::graph::DiGraph;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One table in the graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub interval: Option<Interval>,
    /// Managed tables this one reads.
    pub depends_on: BTreeSet<TableName>,
    /// Relations it reads that duro does not manage.
    pub sources: BTreeSet<String>,
}

/// All tables and their dependencies.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: BTreeMap<TableName, Node>,
    /// Dependencies removed to break cycles (`allow_cycles`): (consumer, dependency). The
    /// consumer does not wait for the dependency.
    pub broken: BTreeSet<(TableName, TableName)>,
}

impl Graph {
    pub fn new(nodes: BTreeMap<TableName, Node>) -> Graph {
        Graph {
            nodes,
            broken: BTreeSet::new(),
        }
    }

    /// The dependencies a table waits for: its reads minus the edges broken for cycles.
    pub fn waits_for<'a>(&'a self, table: &'a TableName) -> impl Iterator<Item = &'a TableName> {
        self.nodes
            .get(table)
            .into_iter()
            .flat_map(|node| &node.depends_on)
            .filter(move |dep| !self.is_broken(table, dep))
    }

    /// Whether the edge `consumer` → `dependency` was dropped to break a cycle.
    pub fn is_broken(&self, consumer: &TableName, dependency: &TableName) -> bool {
        // Most graphs have no broken edge: no key to build then.
        !self.broken.is_empty()
            && self
                .broken
                .contains(&(consumer.clone(), dependency.clone()))
    }

    /// Every cycle (strongly connected set of two or more tables), each sorted, in name order.
    pub fn cycles(&self) -> Vec<Vec<TableName>> {
        let names: Vec<&TableName> = self.nodes.keys().collect();
        let index: HashMap<&TableName, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut graph = DiGraph::<(), ()>::with_capacity(names.len(), names.len());
        let ids: Vec<_> = names.iter().map(|_| graph.add_node(())).collect();
        for (i, name) in names.iter().enumerate() {
            for dep in self.waits_for(name) {
                if let Some(&j) = index.get(dep) {
                    graph.add_edge(ids[i], ids[j], ());
                }
            }
        }
        // Visiting each strongly connected set in place, instead of collecting them, spares a
        // vector per table: nearly all of them are single tables.
        let mut cycles: Vec<Vec<TableName>> = Vec::new();
        TarjanScc::new().run(&graph, |scc| {
            if scc.len() > 1 {
                let mut tables: Vec<TableName> =
                    scc.iter().map(|id| names[id.index()].clone()).collect();
                tables.sort();
                cycles.push(tables);
            }
        });
        cycles.sort();
        cycles
    }

    /// Breaks every cycle by dropping back edges of a depth-first walk in name order, so the
    /// result is the same on every run. Returns the dropped edges.
    pub fn break_cycles(&mut self) -> Vec<(TableName, TableName)> {
        let mut dropped = Vec::new();
        for cycle in self.cycles() {
            let members: BTreeSet<TableName> = cycle.iter().cloned().collect();
            let mut done: BTreeSet<TableName> = BTreeSet::new();
            for start in &cycle {
                if done.contains(start) {
                    continue;
                }
                // Iterative DFS: (node, remaining dependencies to visit).
                let mut on_stack: BTreeSet<TableName> = BTreeSet::new();
                let mut stack: Vec<(TableName, Vec<TableName>)> = Vec::new();
                let deps = |g: &Graph, t: &TableName| -> Vec<TableName> {
                    let mut d: Vec<TableName> = g
                        .waits_for(t)
                        .filter(|d| members.contains(*d))
                        .cloned()
                        .collect();
                    d.reverse();
                    d
                };
                on_stack.insert(start.clone());
                stack.push((start.clone(), deps(self, start)));
                while let Some((node, pending)) = stack.last_mut() {
                    match pending.pop() {
                        Some(next) if on_stack.contains(&next) => {
                            let edge = (node.clone(), next);
                            self.broken.insert(edge.clone());
                            dropped.push(edge);
                        }
                        Some(next) if done.contains(&next) => {}
                        Some(next) => {
                            on_stack.insert(next.clone());
                            let d = deps(self, &next);
                            stack.push((next, d));
                        }
                        None => {
                            let node = node.clone();
                            on_stack.remove(&node);
                            done.insert(node);
                            stack.pop();
                        }
                    }
                }
            }
        }
        dropped
    }

    /// Tables nothing depends on (self-references do not count).
    pub fn roots(&self) -> Vec<&TableName> {
        let mut consumed: BTreeSet<&TableName> = BTreeSet::new();
        for name in self.nodes.keys() {
            consumed.extend(self.waits_for(name));
        }
        self.nodes
            .keys()
            .filter(|t| !consumed.contains(t))
            .collect()
    }

    /// Tables that read `table` directly.
    pub fn dependents(&self, table: &TableName) -> Vec<&TableName> {
        self.nodes
            .iter()
            .filter(|(_, node)| node.depends_on.contains(table))
            .map(|(name, _)| name)
            .collect()
    }

    /// The table and all its transitive dependencies.
    pub fn tree(&self, table: &TableName) -> BTreeSet<TableName> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![table.clone()];
        while let Some(t) = stack.pop() {
            if seen.insert(t.clone())
                && let Some(node) = self.nodes.get(&t)
            {
                stack.extend(node.depends_on.iter().cloned());
            }
        }
        seen
    }

    /// Orders `subset` so that every table comes after the dependencies it waits for (within
    /// the subset); ties in name order.
    pub fn build_order(&self, subset: &BTreeSet<TableName>) -> Vec<TableName> {
        let mut remaining: BTreeMap<&TableName, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<&TableName, Vec<&TableName>> = BTreeMap::new();
        for table in subset {
            let deps: Vec<&TableName> = self
                .waits_for(table)
                .filter(|d| subset.contains(*d) && *d != table)
                .collect();
            remaining.insert(table, deps.len());
            for dep in deps {
                dependents.entry(dep).or_default().push(table);
            }
        }
        let mut ready: BTreeSet<&TableName> = remaining
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(t, _)| *t)
            .collect();
        let mut order = Vec::with_capacity(subset.len());
        while let Some(next) = ready.pop_first() {
            order.push(next.clone());
            for dependent in dependents.get(next).into_iter().flatten() {
                let n = remaining.get_mut(dependent).expect("in subset");
                *n -= 1;
                if *n == 0 {
                    ready.insert(dependent);
                }
            }
        }
        // Anything left is on an unbroken cycle; append in name order rather than lose it.
        if order.len() < subset.len() {
            let placed: BTreeSet<TableName> = order.iter().cloned().collect();
            order.extend(subset.iter().filter(|t| !placed.contains(*t)).cloned());
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)], extra: &[&str]) -> Graph {
        let mut nodes: BTreeMap<TableName, Node> = BTreeMap::new();
        let t = |s: &str| TableName::parse(&format!("s.{s}")).unwrap();
        for name in extra {
            nodes.entry(t(name)).or_default();
        }
        for (a, b) in edges {
            nodes.entry(t(a)).or_default().depends_on.insert(t(b));
            nodes.entry(t(b)).or_default();
        }
        Graph::new(nodes)
    }

    fn names(tables: &[TableName]) -> Vec<String> {
        tables.iter().map(|t| t.table.clone()).collect()
    }

    /// original-behavior.md §3.3 detect_cycles expectations.
    #[test]
    fn cycles_of_the_original_tests() {
        assert!(
            graph(&[("a", "b"), ("b", "c"), ("a", "d")], &[])
                .cycles()
                .is_empty()
        );
        let g = graph(
            &[
                ("n1", "n2"),
                ("n2", "n3"),
                ("n9", "n10"),
                ("n10", "n11"),
                ("n11", "n9"),
            ],
            &[],
        );
        let cycles: Vec<_> = g.cycles().iter().map(|c| names(c)).collect();
        assert_eq!(cycles, [["n10", "n11", "n9"]]);
        // Two cycles sharing c form one strongly connected set, which names every table.
        let g = graph(
            &[
                ("a", "b"),
                ("b", "c"),
                ("c", "a"),
                ("c", "e"),
                ("e", "f"),
                ("f", "c"),
            ],
            &[],
        );
        let cycles: Vec<_> = g.cycles().iter().map(|c| names(c)).collect();
        assert_eq!(cycles, [["a", "b", "c", "e", "f"]]);
        let g = graph(&[("n1", "n2"), ("n2", "n1")], &[]);
        assert_eq!(g.cycles().len(), 1);
    }

    #[test]
    fn breaking_cycles_is_deterministic_and_complete() {
        let edges = [
            ("a", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "e"),
            ("e", "f"),
            ("f", "c"),
        ];
        let mut g = graph(&edges, &[]);
        let dropped = g.break_cycles();
        assert!(g.cycles().is_empty());
        let mut again = graph(&edges, &[]);
        assert_eq!(again.break_cycles(), dropped);
        assert_eq!(
            dropped
                .iter()
                .map(|(a, b)| format!("{}->{}", a.table, b.table))
                .collect::<Vec<_>>(),
            ["c->a", "f->c"]
        );
    }

    #[test]
    fn roots_trees_and_order() {
        // The fixture: countries_detailed -> countries, child -> cities, parent -> child.
        let g = graph(
            &[
                ("countries_detailed", "countries"),
                ("child", "cities"),
                ("parent", "child"),
            ],
            &[],
        );
        let roots: Vec<String> = g.roots().iter().map(|t| t.table.clone()).collect();
        assert_eq!(roots, ["countries_detailed", "parent"]);
        let tree = g.tree(&TableName::parse("s.parent").unwrap());
        assert_eq!(tree.len(), 3);
        let all: BTreeSet<TableName> = g.nodes.keys().cloned().collect();
        assert_eq!(
            names(&g.build_order(&all)),
            [
                "cities",
                "child",
                "countries",
                "countries_detailed",
                "parent"
            ]
        );
    }
}
