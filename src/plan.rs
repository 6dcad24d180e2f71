//! What is due now and why (SPEC §5), as a pure function of the scheduled tables, their
//! dependencies, a clock and the creator's poll period. Dependencies without an interval inherit
//! the effective interval of the due tables that reach them. A table whose latest runs failed
//! waits before it is due again (see [`retry_wait`]): a permanent error costs a few runs an hour,
//! not one per poll.

use crate::graph::{Graph, Node};
use crate::ident::TableName;
use crate::interval::Interval;
use crate::state::{StateError, Store, from_millis};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the planner needs to know about one active table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTable {
    pub interval: Option<Interval>,
    pub force: bool,
    pub last_built: Option<Timestamp>,
    /// Failed runs in a row (since the last success, force or changed definition), and when
    /// the latest of them ended.
    pub failures: u32,
    pub failed_at: Option<Timestamp>,
}

/// One table to build, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub name: TableName,
    pub reason: String,
    #[serde(skip)]
    pub effective_interval: Option<Interval>,
    /// For a table held back after failed runs: when it is due again.
    #[serde(skip)]
    pub retry_at: Option<Timestamp>,
}

/// What is due now, and what would be but waits after failed runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The tables to build now, dependencies first.
    pub due: Vec<Planned>,
    /// Tables due but for their retry wait, in build order; each has `retry_at`.
    pub waiting: Vec<Planned>,
}

/// The longest retry wait of a table without any interval (one that nothing with an interval
/// reads).
const MAX_RETRY_WAIT: Duration = Duration::from_secs(24 * 3600);

/// How long a table waits after `failures` failed runs in a row before it is due again:
/// `poll × 2^failures`, at most `cap` (its effective interval). After one failure it sits out
/// the next poll and is due at the one after (2 polls from the failure), then 4, 8, … polls:
/// a permanent error fails 5 times in the first minute at a 1 s poll, then less and less often,
/// and at least once per interval. No failures, no wait.
pub fn retry_wait(failures: u32, poll: Duration, cap: Option<Interval>) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let cap = cap.map_or(MAX_RETRY_WAIT, |i| i.duration());
    // 2^30 polls exceed any cap; beyond that the shift would overflow.
    let factor = 1u32 << failures.min(30);
    poll.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// When a failing table is due again (`None` when its latest run did not fail).
pub fn retry_at(
    table: &PlanTable,
    interval: Option<Interval>,
    poll: Duration,
) -> Option<Timestamp> {
    let failed_at = table.failed_at.filter(|_| table.failures > 0)?;
    let wait = jiff::SignedDuration::try_from(retry_wait(table.failures, poll, interval)).ok()?;
    failed_at.checked_add(wait).ok()
}

fn plural(n: u32, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `retrying in 4s after 2 failed runs in a row (never built)`.
fn waiting_reason(table: &PlanTable, retry_at: Timestamp, now: Timestamp, due: &str) -> String {
    let remaining_ms = retry_at.as_millisecond() - now.as_millisecond();
    format!(
        "retrying in {} after {} in a row ({due})",
        human_duration((remaining_ms + 999) / 1000),
        plural(table.failures, "failed run")
    )
}

/// `1h 5m`, `3d 2h`, `45s`: a short human duration.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

fn due_reason(table: &PlanTable, interval: Option<Interval>, now: Timestamp) -> Option<String> {
    if table.force {
        return Some("forced".into());
    }
    let Some(last) = table.last_built else {
        return Some("never built".into());
    };
    let interval = interval?;
    let age = now.as_second() - last.as_second();
    (age > interval.seconds() as i64).then(|| {
        format!(
            "stale: last built {} ago, interval {interval}",
            human_duration(age)
        )
    })
}

/// The tables to build now, dependencies first (what the creator builds; see [`plan_with_waits`]
/// for the tables held back as well). `poll` is the creator's poll period, the unit of the
/// retry backoff.
pub fn plan(
    tables: &BTreeMap<TableName, PlanTable>,
    graph: &Graph,
    now: Timestamp,
    poll: Duration,
) -> Vec<Planned> {
    plan_with_waits(tables, graph, now, poll).due
}

/// The tables to build now and the tables that would be due but wait after failed runs.
pub fn plan_with_waits(
    tables: &BTreeMap<TableName, PlanTable>,
    graph: &Graph,
    now: Timestamp,
    poll: Duration,
) -> Plan {
    // Tables due on their own: forced, never built, or older than their own interval. One that
    // waits after failures still leads to its dependencies: they are due for its sake.
    let initially_due: BTreeSet<TableName> = tables
        .iter()
        .filter(|(_, t)| due_reason(t, t.interval, now).is_some())
        .map(|(name, _)| name.clone())
        .collect();
    // Everything those reach is visited.
    let mut visited: BTreeSet<TableName> = BTreeSet::new();
    let mut stack: Vec<TableName> = initially_due.iter().cloned().collect();
    while let Some(t) = stack.pop() {
        if tables.contains_key(&t) && visited.insert(t.clone()) {
            stack.extend(graph.waits_for(&t).cloned());
        }
    }
    // Effective intervals, consumers before their dependencies.
    let order = graph.build_order(&visited);
    let mut consumers: BTreeMap<&TableName, Vec<&TableName>> = BTreeMap::new();
    for consumer in &visited {
        for dep in graph.waits_for(consumer) {
            consumers.entry(dep).or_default().push(consumer);
        }
    }
    let mut effective: BTreeMap<&TableName, (Option<Interval>, Option<&TableName>)> =
        BTreeMap::new();
    for name in order.iter().rev() {
        let value = match tables[name].interval {
            Some(own) => (Some(own), None),
            None => consumers
                .get(name)
                .into_iter()
                .flatten()
                .filter_map(|c| effective.get(c).and_then(|(i, _)| i.map(|i| (i, *c))))
                .min()
                .map(|(i, from)| (Some(i), Some(from)))
                .unwrap_or((None, None)),
        };
        effective.insert(name, value);
    }
    let mut plan = Plan::default();
    for name in &order {
        let (interval, inherited_from) = effective[name];
        let table = &tables[name];
        let Some(reason) = due_reason(table, interval, now) else {
            continue;
        };
        let reason = match inherited_from {
            Some(from) if reason.starts_with("stale") => {
                format!("{reason} (inherited from {from})")
            }
            _ => reason,
        };
        match retry_at(table, interval, poll).filter(|at| *at > now) {
            Some(at) => plan.waiting.push(Planned {
                name: name.clone(),
                reason: waiting_reason(table, at, now, &reason),
                effective_interval: interval,
                retry_at: Some(at),
            }),
            None => plan.due.push(Planned {
                name: name.clone(),
                reason,
                effective_interval: interval,
                retry_at: None,
            }),
        }
    }
    plan
}

/// Every table's own interval, or for a table without one the shortest effective interval of
/// the tables that read it (what `/metrics` and the UI's freshness show).
pub fn effective_intervals(
    tables: &BTreeMap<TableName, PlanTable>,
    graph: &Graph,
) -> BTreeMap<TableName, Option<Interval>> {
    let all: BTreeSet<TableName> = tables.keys().cloned().collect();
    let mut consumers: BTreeMap<&TableName, Vec<&TableName>> = BTreeMap::new();
    for consumer in &all {
        for dep in graph.waits_for(consumer) {
            consumers.entry(dep).or_default().push(consumer);
        }
    }
    let mut effective: BTreeMap<TableName, Option<Interval>> = BTreeMap::new();
    for name in graph.build_order(&all).iter().rev() {
        let value = tables[name].interval.or_else(|| {
            consumers
                .get(name)
                .into_iter()
                .flatten()
                .filter_map(|c| effective.get(*c).copied().flatten())
                .min()
        });
        effective.insert(name.clone(), value);
    }
    effective
}

/// When each table waiting after failed runs is due again (its latest failure plus its
/// [`retry_wait`], capped at its effective interval), for the UI's "retrying in …". Tables
/// whose streak ended are not listed.
pub fn retry_times(
    tables: &BTreeMap<TableName, PlanTable>,
    graph: &Graph,
    poll: Duration,
) -> BTreeMap<TableName, Timestamp> {
    if !tables.values().any(|t| t.failures > 0) {
        return BTreeMap::new();
    }
    let effective = effective_intervals(tables, graph);
    tables
        .iter()
        .filter_map(|(name, t)| {
            let interval = effective.get(name).copied().flatten();
            Some((name.clone(), retry_at(t, interval, poll)?))
        })
        .collect()
}

/// The graph of active tables as scheduled in state.
pub fn graph_from_state(
    store: &Store,
) -> Result<(BTreeMap<TableName, PlanTable>, Graph), StateError> {
    let mut tables = BTreeMap::new();
    let mut nodes: BTreeMap<TableName, Node> = BTreeMap::new();
    for row in store.tables()? {
        if row.removed_at.is_some() {
            continue;
        }
        let Ok(name) = TableName::parse(&row.name) else {
            continue;
        };
        let interval = row.interval_minutes.and_then(Interval::from_minutes);
        tables.insert(
            name.clone(),
            PlanTable {
                interval,
                force: row.force,
                last_built: row.last_built.map(from_millis),
                failures: row.failures,
                failed_at: row.failed_at.map(from_millis),
            },
        );
        let sources: BTreeSet<String> = serde_json::from_str(&row.sources).unwrap_or_default();
        nodes.insert(
            name,
            Node {
                interval,
                depends_on: BTreeSet::new(),
                sources,
            },
        );
    }
    let mut graph = Graph::new(nodes);
    for (table, dep, waits) in store.dependencies()? {
        let (Ok(table), Ok(dep)) = (TableName::parse(&table), TableName::parse(&dep)) else {
            continue;
        };
        if !graph.nodes.contains_key(&dep) {
            continue;
        }
        if let Some(node) = graph.nodes.get_mut(&table) {
            node.depends_on.insert(dep.clone());
            if !waits {
                graph.broken.insert((table, dep));
            }
        }
    }
    Ok((tables, graph))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Duration = Duration::from_secs(30);

    fn t(name: &str) -> TableName {
        TableName::parse(&format!("s.{name}")).unwrap()
    }

    fn at(hours: f64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + (hours * 3600.0) as i64).unwrap()
    }

    struct World {
        tables: BTreeMap<TableName, PlanTable>,
        graph: Graph,
    }

    impl World {
        fn new(specs: &[(&str, Option<u64>, Option<f64>)], edges: &[(&str, &str)]) -> World {
            let mut tables = BTreeMap::new();
            let mut nodes: BTreeMap<TableName, Node> = BTreeMap::new();
            for (name, minutes, built) in specs {
                let interval = minutes.and_then(Interval::from_minutes);
                tables.insert(
                    t(name),
                    PlanTable {
                        interval,
                        force: false,
                        last_built: built.map(at),
                        failures: 0,
                        failed_at: None,
                    },
                );
                nodes.insert(
                    t(name),
                    Node {
                        interval,
                        ..Node::default()
                    },
                );
            }
            for (a, b) in edges {
                nodes.get_mut(&t(a)).unwrap().depends_on.insert(t(b));
            }
            World {
                tables,
                graph: Graph::new(nodes),
            }
        }

        fn plan_at(&self, hours: f64) -> Vec<(String, String)> {
            plan(&self.tables, &self.graph, at(hours), POLL)
                .into_iter()
                .map(|p| (p.name.table, p.reason))
                .collect()
        }

        fn names_at(&self, hours: f64) -> Vec<String> {
            self.plan_at(hours).into_iter().map(|(n, _)| n).collect()
        }
    }

    /// SPEC §5 and the README example of the original: people (1h) → shops (none) → cities (24h).
    #[test]
    fn interval_inheritance_down_the_tree() {
        let w = World::new(
            &[
                ("people", Some(60), Some(0.0)),
                ("shops", None, Some(0.0)),
                ("cities", Some(1440), Some(0.0)),
            ],
            &[("people", "shops"), ("shops", "cities")],
        );
        assert!(w.names_at(0.5).is_empty());
        // After 1h: people is stale, shops inherits 1h and is stale too; cities keeps its 24h.
        let plan = w.plan_at(1.5);
        assert_eq!(
            plan.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["shops", "people"]
        );
        assert_eq!(
            plan[0].1,
            "stale: last built 1h 30m ago, interval 1h (inherited from s.people)"
        );
        assert_eq!(w.names_at(25.0), ["cities", "shops", "people"]);
    }

    #[test]
    fn a_grandchild_inherits_through_an_interval_less_child() {
        let w = World::new(
            &[
                ("root", Some(60), Some(0.0)),
                ("child", None, Some(0.0)),
                ("grandchild", None, Some(0.0)),
            ],
            &[("root", "child"), ("child", "grandchild")],
        );
        assert_eq!(w.names_at(2.0), ["grandchild", "child", "root"]);
    }

    #[test]
    fn the_shortest_inherited_interval_wins() {
        let w = World::new(
            &[
                ("hourly", Some(60), Some(0.0)),
                ("daily", Some(1440), Some(0.0)),
                ("shared", None, Some(0.0)),
            ],
            &[("hourly", "shared"), ("daily", "shared")],
        );
        assert_eq!(w.names_at(2.0), ["shared", "hourly"]);
    }

    #[test]
    fn forced_and_never_built_tables_are_due_whatever_their_age() {
        let mut w = World::new(
            &[
                ("a", Some(60), Some(0.0)),
                ("b", None, None),
                ("c", Some(60), Some(0.0)),
            ],
            &[("c", "b")],
        );
        w.tables.get_mut(&t("a")).unwrap().force = true;
        assert_eq!(
            w.plan_at(0.1),
            [
                ("a".to_string(), "forced".to_string()),
                ("b".to_string(), "never built".to_string())
            ]
        );
    }

    #[test]
    fn a_table_is_planned_once_even_when_reached_twice() {
        let w = World::new(
            &[
                ("a", Some(60), Some(0.0)),
                ("b", Some(60), Some(0.0)),
                ("shared", None, None),
            ],
            &[("a", "shared"), ("b", "shared")],
        );
        assert_eq!(w.names_at(2.0), ["shared", "a", "b"]);
    }

    #[test]
    fn the_retry_wait_doubles_from_two_polls_up_to_the_interval() {
        let poll = Duration::from_secs(1);
        let hour = Interval::from_minutes(60);
        let waits: Vec<u64> = (0..8)
            .map(|n| retry_wait(n, poll, hour).as_secs())
            .collect();
        assert_eq!(waits, [0, 2, 4, 8, 16, 32, 64, 128]);
        assert_eq!(retry_wait(12, poll, hour), Duration::from_secs(3600));
        // Capped at the interval, however long the streak; without one at a day.
        assert_eq!(
            retry_wait(3, Duration::from_secs(30), Interval::from_minutes(2)).as_secs(),
            120
        );
        assert_eq!(retry_wait(u32::MAX, poll, hour), Duration::from_secs(3600));
        assert_eq!(retry_wait(40, poll, None), MAX_RETRY_WAIT);
        assert_eq!(
            retry_wait(u32::MAX, Duration::from_secs(u64::MAX / 2), None),
            MAX_RETRY_WAIT
        );
        // At a 1 s poll, failures (each when the last wait ends) fall at 0, 2, 6, 14 and 30 s:
        // five in the first minute, the next at 62 s.
        let mut at = 0;
        let mut times = vec![0];
        for n in 1..=5 {
            at += retry_wait(n, poll, hour).as_secs();
            times.push(at);
        }
        assert_eq!(times, [0, 2, 6, 14, 30, 62]);
    }

    #[test]
    fn a_failing_table_waits_and_says_so_and_its_dependencies_stay_due() {
        let mut w = World::new(
            &[("bad", Some(60), None), ("dep", None, Some(0.0))],
            &[("bad", "dep")],
        );
        let bad = w.tables.get_mut(&t("bad")).unwrap();
        bad.failures = 2;
        bad.failed_at = Some(at(2.0));
        let now = at(2.0) + jiff::SignedDuration::from_secs(50);
        let p = plan_with_waits(&w.tables, &w.graph, now, POLL);
        // 2 failures at a 30 s poll: 120 s from the failure, 70 s left.
        assert_eq!(p.waiting.len(), 1);
        assert_eq!(
            p.waiting[0].reason,
            "retrying in 1m after 2 failed runs in a row (never built)"
        );
        assert_eq!(
            p.waiting[0].retry_at,
            Some(at(2.0) + jiff::SignedDuration::from_secs(120))
        );
        // The stale dependency it inherits its interval to is built meanwhile.
        assert_eq!(
            p.due
                .iter()
                .map(|p| p.name.table.as_str())
                .collect::<Vec<_>>(),
            ["dep"]
        );
        // Once the wait is over it is due again, with its own reason.
        let later = at(2.0) + jiff::SignedDuration::from_secs(120);
        let p = plan_with_waits(&w.tables, &w.graph, later, POLL);
        assert!(p.waiting.is_empty());
        assert_eq!(p.due[1].reason, "never built");
        // A table whose streak ended (a success, a force, a changed definition) does not wait.
        w.tables.get_mut(&t("bad")).unwrap().failures = 0;
        assert!(
            plan_with_waits(&w.tables, &w.graph, now, POLL)
                .waiting
                .is_empty()
        );
    }

    #[test]
    fn retry_times_use_the_inherited_interval_as_the_cap() {
        let mut w = World::new(
            &[("root", Some(1), Some(0.0)), ("dep", None, Some(0.0))],
            &[("root", "dep")],
        );
        assert!(retry_times(&w.tables, &w.graph, POLL).is_empty());
        let dep = w.tables.get_mut(&t("dep")).unwrap();
        dep.failures = 5;
        dep.failed_at = Some(at(1.0));
        // 30 s × 2^5 = 16 min, capped at the 1 min it inherits from root.
        let times = retry_times(&w.tables, &w.graph, POLL);
        assert_eq!(times.len(), 1);
        assert_eq!(
            times[&t("dep")],
            at(1.0) + jiff::SignedDuration::from_secs(60)
        );
    }

    #[test]
    fn a_table_that_is_not_due_does_not_wait_either() {
        let mut w = World::new(&[("a", Some(60), Some(0.0))], &[]);
        let a = w.tables.get_mut(&t("a")).unwrap();
        a.failures = 1;
        a.failed_at = Some(at(0.5));
        assert_eq!(
            plan_with_waits(&w.tables, &w.graph, at(0.51), POLL),
            Plan::default()
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(5400), "1h 30m");
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(90000), "1d 1h");
    }
}
