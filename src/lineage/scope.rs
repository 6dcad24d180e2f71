//! Which names in a parsed query are relations: the walk over the syntax tree that keeps the
//! scoping rules of PostgreSQL and Redshift.
//!
//! - A CTE of a plain `with` is visible to the CTEs after it and to the main query, never in its
//!   own body nor to the CTEs before it; under `with recursive` every CTE of the list is visible
//!   to all of them (PostgreSQL: "the queries need not be ordered"). Inner `with`s and subqueries
//!   see the CTEs visible where they stand. Only an unqualified name can mean a CTE.
//! - A FROM item whose first part names an item bound earlier in the same FROM (its alias, or
//!   the table's name) is PartiQL navigation into a SUPER value (`from orders c, c.items o`),
//!   not a relation; so is one whose first part is bound in an enclosing query's FROM (a
//!   correlated or lateral navigation).

use super::{Relation, Resolver};
use sqlparser::ast::{Ident, ObjectName, Query, SetExpr, TableFactor, TableWithJoins, Visitor};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// A name as PostgreSQL compares it: unquoted parts fold to lower case.
pub(super) fn fold(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// What one query (a `Query` node) brings into scope.
struct Frame {
    /// The query's CTE names, folded, in order.
    ctes: Vec<String>,
    /// The CTE bodies, to tell when the walk enters one.
    bodies: Vec<*const Query>,
    recursive: bool,
    /// How many of `ctes` (a prefix) are visible at the walk's current position.
    visible: usize,
    /// Names bound by every FROM of the query's body, for queries nested inside it.
    all_bindings: Vec<String>,
    /// The first FROM item of each SELECT of the body: where a FROM's own bindings start over.
    from_starts: Vec<*const TableFactor>,
    /// Names bound so far by the FROM being walked.
    bindings: Vec<String>,
}

impl Frame {
    fn of(query: &Query) -> Frame {
        let (ctes, bodies, recursive) = match &query.with {
            Some(with) => (
                with.cte_tables
                    .iter()
                    .map(|c| fold(&c.alias.name))
                    .collect(),
                with.cte_tables
                    .iter()
                    .map(|c| &*c.query as *const Query)
                    .collect(),
                with.recursive,
            ),
            None => (Vec::new(), Vec::new(), false),
        };
        let mut frame = Frame {
            visible: if recursive { ctes.len() } else { 0 },
            ctes,
            bodies,
            recursive,
            all_bindings: Vec::new(),
            from_starts: Vec::new(),
            bindings: Vec::new(),
        };
        frame.collect_froms(&query.body);
        frame
    }

    fn collect_froms(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                if let Some(first) = select.from.first() {
                    self.from_starts.push(&first.relation);
                }
                for item in &select.from {
                    collect_bindings(item, &mut self.all_bindings);
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.collect_froms(left);
                self.collect_froms(right);
            }
            // A parenthesised query is a query of its own, with its own frame.
            _ => {}
        }
    }

    fn is_visible_cte(&self, name: &str) -> bool {
        self.ctes[..self.visible].iter().any(|cte| cte == name)
    }

    fn body_index(&self, query: &Query) -> Option<usize> {
        let query = query as *const Query;
        self.bodies.iter().position(|&body| body == query)
    }
}

fn collect_bindings(item: &TableWithJoins, out: &mut Vec<String>) {
    for factor in std::iter::once(&item.relation).chain(item.joins.iter().map(|j| &j.relation)) {
        match factor {
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                collect_bindings(table_with_joins, out);
                out.extend(alias.as_ref().map(|a| fold(&a.name)));
            }
            other => out.extend(binding(other)),
        }
    }
}

/// The name a FROM item can be referred to by: its alias, or a table's own (last) name.
fn binding(factor: &TableFactor) -> Option<String> {
    let alias = match factor {
        TableFactor::Table { name, alias, .. } => {
            return match alias {
                Some(alias) => Some(fold(&alias.name)),
                None => name.0.last().and_then(|p| p.as_ident()).map(fold),
            };
        }
        TableFactor::Derived { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. }
        | TableFactor::JsonTable { alias, .. }
        | TableFactor::NestedJoin { alias, .. }
        | TableFactor::Pivot { alias, .. }
        | TableFactor::Unpivot { alias, .. }
        | TableFactor::MatchRecognize { alias, .. } => alias,
        _ => return None,
    };
    alias.as_ref().map(|a| fold(&a.name))
}

fn ident_parts(name: &ObjectName) -> Vec<&Ident> {
    name.0.iter().filter_map(|part| part.as_ident()).collect()
}

/// Walks the syntax tree collecting the relations a query reads.
pub(super) struct Collector<'a, 'b> {
    frames: Vec<Frame>,
    pub(super) relations: BTreeSet<Relation>,
    resolver: &'a Resolver<'b>,
}

impl<'a, 'b> Collector<'a, 'b> {
    pub(super) fn new(resolver: &'a Resolver<'b>) -> Self {
        Collector {
            frames: Vec::new(),
            relations: BTreeSet::new(),
            resolver,
        }
    }

    fn is_cte(&self, name: &str) -> bool {
        self.frames.iter().any(|frame| frame.is_visible_cte(name))
    }

    /// Whether `first` names an item bound earlier in the FROM being walked, or in the FROM of
    /// an enclosing query.
    fn is_bound(&self, first: &str) -> bool {
        let Some((current, outer)) = self.frames.split_last() else {
            return false;
        };
        current.bindings.iter().any(|b| b == first)
            || outer
                .iter()
                .any(|frame| frame.all_bindings.iter().any(|b| b == first))
    }
}

impl Visitor for Collector<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(parent) = self.frames.last_mut()
            && let Some(index) = parent.body_index(query)
            && !parent.recursive
        {
            // Inside the body of CTE `index`: only the ones before it.
            parent.visible = index;
        }
        self.frames.push(Frame::of(query));
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        self.frames.pop();
        if let Some(parent) = self.frames.last_mut()
            && let Some(index) = parent.body_index(query)
            && !parent.recursive
        {
            parent.visible = index + 1;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let Some(frame) = self.frames.last_mut()
            && frame
                .from_starts
                .iter()
                .any(|&start| std::ptr::eq(start, factor))
        {
            frame.bindings.clear();
        }
        if let TableFactor::Table {
            name, args: None, ..
        } = factor
        {
            let parts = ident_parts(name);
            let skip = match parts.as_slice() {
                [single] => self.is_cte(&fold(single)),
                [first, _, ..] => self.is_bound(&fold(first)),
                [] => true,
            };
            if !skip {
                if let Some(relation) = self
                    .resolver
                    .relation(parts.into_iter().map(fold).collect())
                {
                    self.relations.insert(relation);
                }
            }
        }
        if let Some(frame) = self.frames.last_mut()
            && !matches!(factor, TableFactor::NestedJoin { .. })
        {
            frame.bindings.extend(binding(factor));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::NestedJoin { alias: Some(a), .. } = factor
            && let Some(frame) = self.frames.last_mut()
        {
            frame.bindings.push(fold(&a.name));
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Lineage, Resolver, SqlDialect};
    use crate::ident::TableName;
    use std::collections::HashSet;

    const MANAGED: &[&str] = &[
        "public.orders",
        "public.customers",
        "public.items",
        "mart.orders",
        "mart.Totals",
        "public.s",
        "public.orders_super",
    ];

    fn analyze(sql: &str, dialect: SqlDialect) -> Lineage {
        let managed: HashSet<TableName> = MANAGED
            .iter()
            .map(|n| {
                let (schema, table) = n.split_once('.').unwrap();
                TableName::new(schema, table).unwrap()
            })
            .collect();
        let resolver = Resolver {
            managed: &managed,
            default_schema: "public",
            dialect,
        };
        let lineage = resolver.analyze(&TableName::new("x", "me").unwrap(), sql);
        assert_eq!(lineage.parse_error, None, "{sql}");
        lineage
    }

    /// Dependencies and sources together, sorted: the relation set the query reads.
    fn reads(sql: &str) -> Vec<String> {
        let lineage = analyze(sql, SqlDialect::Postgres);
        let mut all: Vec<String> = lineage.dependencies.iter().map(|t| t.to_string()).collect();
        all.extend(lineage.sources.iter().cloned());
        all.sort();
        all
    }

    #[test]
    fn a_cte_is_not_visible_in_its_own_body() {
        for sql in [
            "with orders as (select * from orders where status = 'open') select * from orders",
            "WITH Orders AS (SELECT * FROM ORDERS) SELECT count(*) FROM orders o JOIN Orders p ON o.id = p.id",
            "with orders as (select * from orders union all select * from orders) select 1 from orders",
            "with orders as (select id from orders where id in (select id from orders)) select * from orders",
        ] {
            assert_eq!(reads(sql), ["public.orders"], "{sql}");
        }
    }

    #[test]
    fn a_cte_is_not_visible_to_the_ctes_before_it() {
        assert_eq!(
            reads(
                "with a as (select * from customers), customers as (select * from a) select * from customers"
            ),
            ["public.customers"]
        );
        assert_eq!(
            reads(
                "with a as (select * from b), b as (select * from items) select * from a join b using (id)"
            ),
            ["public.b", "public.items"]
        );
        // Visible to the CTEs after it.
        assert_eq!(
            reads("with b as (select * from items), a as (select * from b) select * from a"),
            ["public.items"]
        );
    }

    #[test]
    fn with_recursive_makes_the_list_visible_to_itself() {
        assert_eq!(
            reads(
                "with recursive orders(n) as (select 1 union all select n + 1 from orders where n < 5) select * from orders"
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            reads(
                "with recursive t as (select id from items union all select i.id from items i join t on i.parent = t.id) select * from t"
            ),
            ["public.items"]
        );
    }

    #[test]
    fn nested_withs_and_subqueries_follow_the_same_rules() {
        // The inner CTE hides `orders` inside the inner query only.
        assert_eq!(
            reads(
                "select * from (with orders as (select 1 as id) select * from orders) x join orders using (id)"
            ),
            ["public.orders"]
        );
        // An outer CTE is visible in subqueries, in WHERE and in SELECT.
        assert_eq!(
            reads(
                "with c as (select * from customers) select (select count(*) from c), * from items where id in (select id from c)"
            ),
            ["public.customers", "public.items"]
        );
        // Inside a CTE body, a nested WITH may not see the CTE it is part of.
        assert_eq!(
            reads(
                "with orders as (with x as (select * from orders) select * from x) select * from orders"
            ),
            ["public.orders"]
        );
        // Qualified names never mean a CTE.
        assert_eq!(
            reads("with orders as (select * from mart.orders) select * from orders, public.orders"),
            ["mart.orders", "public.orders"]
        );
        // Quoted CTE names keep their case; unquoted references fold.
        assert_eq!(
            reads(r#"with "Orders" as (select 1) select * from Orders, "Orders""#),
            ["public.orders"]
        );
        assert_eq!(
            reads(r#"with orders as (select 1) select * from "ORDERS", "orders""#),
            ["public.ORDERS"]
        );
    }

    #[test]
    fn set_operations_and_scalar_subqueries_in_cte_bodies() {
        assert_eq!(
            reads(
                "with customers as (select id from customers except select id from mart.orders), \
                   orders as (select * from orders where exists (select 1 from customers c where c.id = orders.id)) \
                   select (select max(id) from orders) as m from customers intersect select id from items"
            ),
            [
                "mart.orders",
                "public.customers",
                "public.items",
                "public.orders"
            ]
        );
    }

    #[test]
    fn partiql_navigation_is_not_a_relation() {
        for (sql, expected) in [
            (
                "select o.name from orders_super c, c.items o",
                vec!["public.orders_super"],
            ),
            ("select i, idx from s, s.arr as i at idx", vec!["public.s"]),
            (
                "select l from orders_super as c, c.orders o, o.lines l where l.qty > 1",
                vec!["public.orders_super"],
            ),
            (
                "select * from public.orders_super, orders_super.items as it",
                vec!["public.orders_super"],
            ),
            (
                "select * from raw.docs d, d.body.sections[0].parts p join items on items.id = p.id",
                vec!["public.items", "raw.docs"],
            ),
            (
                "select (select count(*) from c.items) from orders_super c",
                vec!["public.orders_super"],
            ),
            (
                "select * from orders_super c where exists (select 1 from c.items i where i.x = 1)",
                vec!["public.orders_super"],
            ),
            (
                "select v[i]::int, c.items[idx].sku from orders_super c, c.items as v at i",
                vec!["public.orders_super"],
            ),
            // Not bound: a real schema-qualified table.
            (
                "select * from orders_super c, mart.orders o",
                vec!["mart.orders", "public.orders_super"],
            ),
            // Bound in another branch of a union only: a relation there.
            (
                "select 1 from s union all select 1 from s.arr",
                vec!["public.s", "s.arr"],
            ),
        ] {
            let lineage = analyze(sql, SqlDialect::Redshift);
            let mut all: Vec<String> = lineage.dependencies.iter().map(|t| t.to_string()).collect();
            all.extend(lineage.sources.iter().cloned());
            all.sort();
            assert_eq!(all, expected, "{sql}");
        }
    }

    #[test]
    fn outer_join_operator_parses_as_redshift() {
        for (sql, expected) in [
            (
                "select * from orders o, customers c where o.customer_id = c.id(+)",
                vec!["public.customers", "public.orders"],
            ),
            (
                "select * from (select * from orders o, items i where o.id = i.order_id (+)) x",
                vec!["public.items", "public.orders"],
            ),
            (
                "select (select max(c.x) from customers c, mart.orders m where c.id(+) = m.id) from items",
                vec!["mart.orders", "public.customers", "public.items"],
            ),
            (
                "SELECT * FROM ORDERS O, \"mart\".\"Totals\" T WHERE O.ID = T.ID(+) AND T.KIND(+) = 'a'",
                vec!["mart.Totals", "public.orders"],
            ),
        ] {
            for dialect in [SqlDialect::Redshift, SqlDialect::Postgres] {
                let lineage = analyze(sql, dialect);
                let mut all: Vec<String> =
                    lineage.dependencies.iter().map(|t| t.to_string()).collect();
                all.extend(lineage.sources.iter().cloned());
                all.sort();
                assert_eq!(all, expected, "{dialect:?}: {sql}");
            }
        }
    }
}
